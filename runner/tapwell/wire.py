"""Singer messages on the wire: a line reader and a writer, both on orjson.

Exactness rules kept here, once, for every tap and target:

- A Decimal is written as the JSON number it is (orjson.Fragment), never through float.
- A number is read as a float only when a float holds it exactly (at most 15 significant digits);
  a line with a longer number is parsed with `parse_float=Decimal` and arbitrary-size integers.
- Datetimes are written ISO 8601 with their offset (naive ones are taken as UTC); dates stay dates.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

import orjson

from tapwell.errors import ProtocolError
from tapwell.messages import (
    Message,
    RecordMessage,
    StateMessage,
    UnknownMessageType,
    from_dict,
)

# A run of 16+ digits (optionally with a point) may not survive a float: parse that line exactly.
# orjson also turns integers past 64 bits into floats, which this catches too. Found without a
# regex (5x faster on a typical record line): digits and points become "9", everything else " ",
# then look for 16 nines (a superset of the regex \d[\d.]{15}: a run may start with a point).
_DIGITS = bytes(ord("9") if c in b"0123456789." else ord(" ") for c in range(256))
_RUN = b"9" * 16


def _maybe_long(raw: bytes) -> bool:
    return _RUN in raw.translate(_DIGITS)


_OPTS = orjson.OPT_NAIVE_UTC


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} is not a JSON number")
        return orjson.Fragment(str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _big_ints(value: Any) -> Any:
    """orjson refuses integers past 64 bits; write those as exact number fragments."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**64 else orjson.Fragment(str(value))
    if isinstance(value, dict):
        return {k: _big_ints(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_big_ints(v) for v in value]
    return value


def dumps(obj: Any, option: int = 0) -> bytes:
    """Encode one JSON value the way every tapwell message is encoded."""
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS | option)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
        return orjson.dumps(_big_ints(obj), default=_default, option=_OPTS | option)


def loads(line: bytes | str) -> Any:
    """Decode one JSON value, keeping every digit of every number."""
    raw = line.encode() if isinstance(line, str) else line
    if not _maybe_long(raw):
        return orjson.loads(raw)
    return json.loads(raw, parse_float=Decimal)


def parse_line(line: bytes, line_no: int | None = None, source: str = "input") -> Message:
    """One line of input to one message; errors name the line."""
    try:
        obj = loads(line)
    except (orjson.JSONDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not valid JSON ({exc})", line=line_no, source=source) from None
    try:
        return from_dict(obj)
    except ProtocolError as exc:
        exc.line, exc.source = line_no, source
        exc.args = (exc.describe(),)
        raise


def read_messages(
    stream: IO[bytes] | None = None,
    *,
    source: str = "stdin",
    skip_unknown: bool = True,
    on_unknown: Any = None,
) -> Iterator[tuple[int, Message]]:
    """Yield (line number, message) for each non-blank line.

    Unknown message types are skipped (the spec allows it) unless `skip_unknown` is false;
    `on_unknown(line_no, error)` is called for each one skipped.
    """
    stream = stream if stream is not None else sys.stdin.buffer
    digits, run = _DIGITS, _RUN
    fast_loads = orjson.loads
    for line_no, line in enumerate(stream, 1):
        if len(line) < 4 and not line.strip():
            continue
        # The hot path: a well-formed RECORD is built without the general checks' call chain.
        if run not in line.translate(digits):
            try:
                obj = fast_loads(line)
            except orjson.JSONDecodeError:
                obj = None
            if type(obj) is dict and obj.get("type") == "RECORD":
                rec, name, version = obj.get("record"), obj.get("stream"), obj.get("version")
                if (
                    type(rec) is dict
                    and type(name) is str
                    and (version is None or type(version) is int)
                ):
                    yield line_no, RecordMessage(name, rec, version, obj.get("time_extracted"))
                    continue
        try:
            yield line_no, parse_line(line, line_no, source)
        except UnknownMessageType as exc:
            if not skip_unknown:
                raise
            if on_unknown is not None:
                on_unknown(line_no, exc)


class MessageWriter:
    """Writes Singer messages to a binary stream, buffered; flushed at every STATE.

    `write_record` is the hot path: one dict, one orjson call, one buffered write.
    """

    def __init__(self, out: IO[bytes] | None = None) -> None:
        self._out = out if out is not None else sys.stdout.buffer
        self._write = self._out.write

    def write_record(
        self,
        stream: str,
        record: dict[str, Any],
        version: int | None = None,
        time_extracted: datetime | None = None,
    ) -> None:
        msg: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            msg["version"] = version
        if time_extracted is not None:
            msg["time_extracted"] = time_extracted
        try:
            self._write(
                orjson.dumps(msg, default=_default, option=_OPTS | orjson.OPT_APPEND_NEWLINE)
            )
        except TypeError:
            self._write(dumps(msg, orjson.OPT_APPEND_NEWLINE))

    def write_schema(
        self,
        stream: str,
        schema: dict[str, Any],
        key_properties: list[str] | None = None,
        bookmark_properties: list[str] | None = None,
    ) -> None:
        msg: dict[str, Any] = {
            "type": "SCHEMA",
            "stream": stream,
            "schema": schema,
            "key_properties": list(key_properties or []),
        }
        if bookmark_properties:
            msg["bookmark_properties"] = list(bookmark_properties)
        self.write_dict(msg)

    def write_state(self, value: dict[str, Any]) -> None:
        self.write_dict({"type": "STATE", "value": value})
        self.flush()

    def write_activate_version(self, stream: str, version: int) -> None:
        self.write_dict({"type": "ACTIVATE_VERSION", "stream": stream, "version": version})

    def write_message(self, message: Message) -> None:
        self.write_dict(message.to_dict())
        if isinstance(message, StateMessage):
            self.flush()

    def write_dict(self, msg: dict[str, Any]) -> None:
        self._write(dumps(msg, orjson.OPT_APPEND_NEWLINE))

    def flush(self) -> None:
        self._out.flush()


__all__ = [
    "MessageWriter",
    "RecordMessage",
    "dumps",
    "loads",
    "parse_line",
    "read_messages",
]
