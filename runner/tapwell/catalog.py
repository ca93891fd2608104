"""Singer catalogs: read, build and query, once per stream.

Selection and standard metadata come from `singer_sdk.singerlib`, the reference implementation.
The raw metadata dicts are kept as well, because singerlib's metadata classes drop keys they do
not model (`replication-method`, `sql-datatype`, `database-name`, `is-view`, `row-count`, ...),
and a catalog must round-trip unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapwell.errors import ConfigError
from tapwell.wire import loads

Breadcrumb = tuple[str, ...]


@dataclass
class StreamEntry:
    """One catalog stream, read-only views over its raw dict."""

    raw: dict[str, Any]

    @property
    def tap_stream_id(self) -> str:
        return str(self.raw.get("tap_stream_id") or self.raw.get("stream"))

    @property
    def stream(self) -> str:
        return str(self.raw.get("stream") or self.raw.get("tap_stream_id"))

    @property
    def schema(self) -> dict[str, Any]:
        return self.raw.get("schema") or {}

    def metadata(self, breadcrumb: Breadcrumb = ()) -> dict[str, Any]:
        for item in self.raw.get("metadata") or []:
            if tuple(item.get("breadcrumb") or ()) == breadcrumb:
                return item.get("metadata") or {}
        return {}

    @property
    def key_properties(self) -> list[str]:
        md = self.metadata()
        keys = md.get("table-key-properties")
        if keys is None:
            keys = md.get("view-key-properties") or self.raw.get("key_properties") or []
        return list(keys)

    @property
    def replication_method(self) -> str:
        md = self.metadata()
        method = (
            md.get("replication-method")
            or self.raw.get("replication_method")
            or md.get("forced-replication-method")
        )
        if method is None:
            return "INCREMENTAL" if self.replication_key else "FULL_TABLE"
        return str(method).upper()

    @property
    def replication_key(self) -> str | None:
        md = self.metadata()
        key = md.get("replication-key") or self.raw.get("replication_key")
        return str(key) if key else None

    @property
    def is_selected(self) -> bool:
        md = self.metadata()
        if "selected" in md:
            return bool(md["selected"])
        if "selected" in self.schema:  # the old singer convention: selected on the schema
            return bool(self.schema["selected"])
        return bool(md.get("selected-by-default", False))

    def selected_properties(self) -> list[str]:
        """Top-level properties to emit, as singerlib resolves selection and inclusion."""
        from singer_sdk.singerlib import MetadataMapping

        props = list((self.schema.get("properties") or {}).keys())
        items = self.raw.get("metadata") or []
        if not items:
            return props
        mask = MetadataMapping.from_iterable(items).resolve_selection()
        return [p for p in props if mask[("properties", p)]]


@dataclass
class Catalog:
    raw: dict[str, Any]

    def __iter__(self) -> Iterator[StreamEntry]:
        return (StreamEntry(s) for s in self.raw.get("streams") or [])

    def selected(self) -> list[StreamEntry]:
        return [s for s in self if s.is_selected]

    def get(self, tap_stream_id: str) -> StreamEntry | None:
        return next((s for s in self if s.tap_stream_id == tap_stream_id), None)

    def to_dict(self) -> dict[str, Any]:
        return self.raw


def load_catalog(path: str | Path) -> Catalog:
    p = Path(path)
    try:
        data = loads(p.read_bytes())  # a schema bound past 64 bits or 15 digits stays exact
    except FileNotFoundError:
        raise ConfigError(f"catalog file {p} does not exist") from None
    except ValueError as exc:
        raise ConfigError(f"catalog file {p} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("streams"), list):
        raise ConfigError(f"catalog file {p} must be an object with a 'streams' array")
    return Catalog(data)


def standard_metadata(
    schema: dict[str, Any],
    *,
    key_properties: Sequence[str] = (),
    valid_replication_keys: Sequence[str] = (),
    forced_replication_method: str | None = None,
    selected_by_default: bool = True,
    root_extra: dict[str, Any] | None = None,
    property_extra: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Singer metadata for a discovered stream, as singerlib builds it, plus the tap's own keys
    (`sql-datatype` per property; `database-name`, `is-view`, `row-count` at the root)."""
    from singer_sdk.singerlib import MetadataMapping

    mapping = MetadataMapping.get_standard_metadata(
        schema=schema,
        key_properties=list(key_properties),
        valid_replication_keys=list(valid_replication_keys) or None,
        replication_method=forced_replication_method,
        selected_by_default=selected_by_default,
    )
    items = mapping.to_list()
    for item in items:
        crumb = tuple(item["breadcrumb"])
        md = item["metadata"]
        if not crumb:
            md.pop("replication-key", None)  # chosen by the user, not by discovery
            md.update(root_extra or {})
        elif len(crumb) == 2 and property_extra and crumb[1] in property_extra:
            md.update(property_extra[crumb[1]])
        if "selected-by-default" not in md and md.get("inclusion") == "available":
            md["selected-by-default"] = selected_by_default
    return items


def catalog_entry(
    tap_stream_id: str,
    schema: dict[str, Any],
    metadata: list[dict[str, Any]],
    *,
    stream: str | None = None,
    key_properties: Sequence[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "tap_stream_id": tap_stream_id,
        "stream": stream or tap_stream_id,
        "schema": schema,
        "key_properties": list(key_properties),
        "metadata": metadata,
    }
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


def select_all(catalog: dict[str, Any]) -> dict[str, Any]:
    """A copy of a discovered catalog with every stream selected (what a user gets when a tap
    runs with no catalog, and what the demo uses)."""
    out = copy.deepcopy(catalog)
    for stream in out.get("streams") or []:
        for item in stream.get("metadata") or []:
            if not item.get("breadcrumb"):
                item["metadata"]["selected"] = True
    return out
