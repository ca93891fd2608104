"""The Singer message types, as plain slotted dataclasses.

`from_dict` checks the shape a message must have (the spec's required keys and their types) and
raises ProtocolError naming the problem; `to_dict` gives back the wire form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tapwell.singer.errors import ProtocolError


@dataclass(slots=True)
class SchemaMessage:
    stream: str
    schema: dict[str, Any]
    key_properties: list[str] = field(default_factory=list)
    bookmark_properties: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "SCHEMA",
            "stream": self.stream,
            "schema": self.schema,
            "key_properties": self.key_properties,
        }
        if self.bookmark_properties:
            out["bookmark_properties"] = self.bookmark_properties
        return out


@dataclass(slots=True)
class RecordMessage:
    stream: str
    record: dict[str, Any]
    version: int | None = None
    time_extracted: datetime | str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "RECORD", "stream": self.stream, "record": self.record}
        if self.version is not None:
            out["version"] = self.version
        if self.time_extracted is not None:
            out["time_extracted"] = self.time_extracted
        return out


@dataclass(slots=True)
class StateMessage:
    value: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "STATE", "value": self.value}


@dataclass(slots=True)
class ActivateVersionMessage:
    """Make `version` the stream's live table version. `empty` is tapwell's convention for a tap
    to say the table really has no rows: only then may a target retire rows on a version it never
    received a record of (see tapwell.sdk.target_versions)."""

    stream: str
    version: int
    empty: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "ACTIVATE_VERSION",
            "stream": self.stream,
            "version": self.version,
        }
        if self.empty:
            out["empty"] = True
        return out


@dataclass(slots=True)
class BatchMessage:
    """singer-sdk's BATCH: records in files named by `manifest`, encoded as `encoding` says."""

    stream: str
    encoding: dict[str, Any]
    manifest: list[str]
    version: int | None = None  # tapwell's addition: the table version of the files' rows

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "BATCH",
            "stream": self.stream,
            "encoding": self.encoding,
            "manifest": self.manifest,
        }
        if self.version is not None:
            out["version"] = self.version
        return out


Message = SchemaMessage | RecordMessage | StateMessage | ActivateVersionMessage | BatchMessage


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise ProtocolError(f"{what} message has no {key!r}", stream=obj.get("stream"))
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ProtocolError(
            f"{what} message's {key!r} must be {_kind_name(kind)}, got {type(value).__name__}",
            stream=obj.get("stream") if isinstance(obj.get("stream"), str) else None,
        )
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "an array", str: "a string", int: "an integer"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _schema(obj: dict[str, Any]) -> SchemaMessage:
    stream = _require(obj, "stream", str, "SCHEMA")
    schema = _require(obj, "schema", dict, "SCHEMA")
    keys = obj.get("key_properties") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ProtocolError("SCHEMA key_properties must be an array of strings", stream=stream)
    bookmarks = obj.get("bookmark_properties")
    if bookmarks is not None and not isinstance(bookmarks, list):
        raise ProtocolError("SCHEMA bookmark_properties must be an array", stream=stream)
    return SchemaMessage(stream, schema, keys, bookmarks)


def _record(obj: dict[str, Any]) -> RecordMessage:
    stream = _require(obj, "stream", str, "RECORD")
    record = _require(obj, "record", dict, "RECORD")
    version = obj.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise ProtocolError("RECORD version must be an integer", stream=stream)
    return RecordMessage(stream, record, version, obj.get("time_extracted"))


def _state(obj: dict[str, Any]) -> StateMessage:
    value = obj.get("value")
    if not isinstance(value, dict):
        raise ProtocolError("STATE message's 'value' must be an object")
    return StateMessage(value)


def _activate(obj: dict[str, Any]) -> ActivateVersionMessage:
    stream = _require(obj, "stream", str, "ACTIVATE_VERSION")
    version = _require(obj, "version", int, "ACTIVATE_VERSION")
    empty = obj.get("empty", False)
    if not isinstance(empty, bool):
        raise ProtocolError(
            f"ACTIVATE_VERSION message's 'empty' must be true or false, got {type(empty).__name__}",
            stream=stream,
        )
    return ActivateVersionMessage(stream, version, empty)


def _batch(obj: dict[str, Any]) -> BatchMessage:
    stream = _require(obj, "stream", str, "BATCH")
    encoding = _require(obj, "encoding", dict, "BATCH")
    manifest = _require(obj, "manifest", list, "BATCH")
    version = obj.get("version")
    return BatchMessage(stream, encoding, manifest, version if type(version) is int else None)


_PARSERS: dict[str, Callable[[dict[str, Any]], Message]] = {
    "SCHEMA": _schema,
    "RECORD": _record,
    "STATE": _state,
    "ACTIVATE_VERSION": _activate,
    "BATCH": _batch,
}


class UnknownMessageType(ProtocolError):
    """A message type this reader does not know; the spec lets readers skip these."""


def from_dict(obj: Any) -> Message:
    """Build a message from its decoded JSON object, checking its shape."""
    if not isinstance(obj, dict):
        raise ProtocolError(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("message has no 'type'")
    parser = _PARSERS.get(kind)
    if parser is None:
        raise UnknownMessageType(f"unknown message type {kind!r}")
    return parser(obj)
