"""Singer catalogs: read, build and query, once per stream.

Selection and standard metadata follow singer-sdk's `singerlib`, the reference implementation,
rule for rule (`_selected`, `standard_metadata`); the test suite keeps singer-sdk as an oracle
that compares both, so the taps need neither it nor what it pulls in. The raw metadata dicts are
what a catalog holds, so keys singerlib does not model (`replication-method`, `sql-datatype`,
`database-name`, `is-view`, `row-count`, ...) round-trip unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import loads

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
        """Whether a tap syncs this stream, as singer-sdk decides: a stream without metadata is
        selected (with all its properties, selected_properties); else its root metadata's
        `inclusion` (`automatic` always, `unsupported` never), then `selected`, then the old
        singer-python convention of `selected` on the schema, then `selected-by-default`; a
        stream whose metadata says none of these is not. (singer-python taps sync only a
        stream marked `selected`, in its metadata or on its schema.)"""
        if not self.raw.get("metadata"):
            return True
        md = self.metadata()
        if md.get("inclusion") in ("automatic", "unsupported"):
            return bool(md["inclusion"] == "automatic")
        if "selected" in md:
            return bool(md["selected"])
        if "selected" in self.schema:  # the old singer convention: selected on the schema
            return bool(self.schema["selected"])
        return bool(md.get("selected-by-default", False))

    def selected_properties(self) -> list[str]:
        """Top-level properties to emit, as singerlib resolves selection and inclusion."""
        props = list((self.schema.get("properties") or {}).keys())
        items = self.raw.get("metadata") or []
        if not items:
            return props
        md = {tuple(i.get("breadcrumb") or ()): i.get("metadata") or {} for i in items}
        if self.is_selected:
            # a stream selected by the old convention (`selected` on the schema, which singerlib
            # does not read): its properties resolve as under singerlib's selected root
            md[()] = {**md.get((), {}), "selected": True}
        return [p for p in props if _mask(md, ("properties", p))]


def _mask(md: dict[Breadcrumb, dict[str, Any]], crumb: Breadcrumb) -> bool:
    """singerlib's SelectionMask: a breadcrumb with metadata is resolved; one without takes its
    parent's value, and the stream's when it has none (True)."""
    if crumb in md:
        return _selected(md, crumb)
    return _mask(md, crumb[:-2]) if len(crumb) >= 2 else True


def _selected(md: dict[Breadcrumb, dict[str, Any]], crumb: Breadcrumb) -> bool:
    """Whether a breadcrumb is selected: never under an unselected parent; `unsupported` never,
    `automatic` always; else its `selected`, else its `selected-by-default`, else its parent's."""
    entry = md.get(crumb) or {}
    parent = _selected(md, crumb[:-2]) if crumb else None
    if parent is False:
        return False
    inclusion = entry.get("inclusion")
    if inclusion == "unsupported":
        return False
    if inclusion == "automatic":
        return True
    for key in ("selected", "selected-by-default"):
        if entry.get(key) is not None:
            return bool(entry[key])
    return bool(parent)


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
    keys, valid = list(key_properties), list(valid_replication_keys)
    items: list[dict[str, Any]] = []
    for name, prop in (schema.get("properties") or {}).items() if schema else ():
        inclusion = "automatic" if name in keys or name in valid else "available"
        items.append({"breadcrumb": ["properties", name], "metadata": {"inclusion": inclusion}})
        items += _nested_metadata((prop or {}).get("properties") or {}, ["properties", name])
    root: dict[str, Any] = {"inclusion": "available"} if schema else {}
    root["selected-by-default"] = selected_by_default
    root["table-key-properties"] = keys
    if forced_replication_method is not None:
        root["forced-replication-method"] = forced_replication_method
    if valid:
        root["valid-replication-keys"] = valid
    # no replication-key, which singerlib sets when there is one valid key: the user chooses it
    items.append({"breadcrumb": [], "metadata": root})  # singerlib lists the stream's last
    for item in items:
        crumb = tuple(item["breadcrumb"])
        md = item["metadata"]
        if not crumb:
            md.update(root_extra or {})
        elif len(crumb) == 2 and property_extra and crumb[1] in property_extra:
            md.update(property_extra[crumb[1]])
        if "selected-by-default" not in md and md.get("inclusion") == "available":
            md["selected-by-default"] = selected_by_default
    return items


def _nested_metadata(properties: dict[str, Any], crumb: list[str]) -> list[dict[str, Any]]:
    """`available` for every property inside an object property, depth first."""
    items: list[dict[str, Any]] = []
    for name, prop in properties.items():
        key = [*crumb, "properties", name]
        items.append({"breadcrumb": key, "metadata": {"inclusion": "available"}})
        if (prop or {}).get("properties"):
            items += _nested_metadata(prop["properties"], key)
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
