"""Stream selection and per-stream replication settings from tapwell.yml, applied to a catalog.

Patterns, in order, the later winning (Meltano's notation):

    orders              select stream `orders`, all its properties
    shop.*              select stream `shop`, all its properties
    orders.amount       select stream `orders` with only the properties named this way
    !customers.ssn      leave property `ssn` of `customers` out
    !audit_*            leave every stream matching `audit_*` out

Stream patterns are globs matched against tap_stream_id and stream name. With no patterns the
catalog's own selection stands (what discovery marked selected-by-default). A pattern that
matches no stream, or a property pattern that matches no property of the streams it names, is a
configuration error (a typo would otherwise load the column it meant to drop, or every column).
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass
from typing import Any

from tapwell.singer.catalog import StreamEntry
from tapwell.singer.errors import ConfigError


@dataclass(frozen=True)
class Pattern:
    negate: bool
    stream: str
    prop: str | None  # None: the whole stream; "*": every property


def parse_pattern(text: str, stream_ids: list[str]) -> Pattern:
    negate = text.startswith("!")
    body = text[1:] if negate else text
    if not body:
        raise ConfigError(f"select: empty pattern {text!r}")
    # A stream name may itself hold dots (db.table): the longest prefix that names a stream wins.
    if any(fnmatch.fnmatchcase(s, body) for s in stream_ids) or "." not in body:
        return Pattern(negate, body, None)
    parts = body.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        stream, prop = ".".join(parts[:cut]), ".".join(parts[cut:])
        if any(fnmatch.fnmatchcase(s, stream) for s in stream_ids):
            return Pattern(negate, stream, prop)
    stream, prop = body.rsplit(".", 1)
    return Pattern(negate, stream, prop)


def _root(entry: dict[str, Any]) -> dict[str, Any]:
    items = entry.setdefault("metadata", [])
    for item in items:
        if not item.get("breadcrumb"):
            return item.setdefault("metadata", {})
    item = {"breadcrumb": [], "metadata": {}}
    items.insert(0, item)
    return item["metadata"]


def _prop_md(entry: dict[str, Any], prop: str) -> dict[str, Any]:
    items = entry.setdefault("metadata", [])
    for item in items:
        if list(item.get("breadcrumb") or []) == ["properties", prop]:
            return item.setdefault("metadata", {})
    item = {"breadcrumb": ["properties", prop], "metadata": {"inclusion": "available"}}
    items.append(item)
    return item["metadata"]


def apply_selection(
    catalog: dict[str, Any],
    patterns: list[str],
    overrides: dict[str, dict[str, Any]] | None = None,
    *,
    strict: bool = True,
) -> dict[str, Any]:
    """A copy of catalog with the patterns' selection and the per-stream overrides
    (replication_method, replication_key, key_properties) written into its metadata.
    `strict=False` (validate, looking at a changed source) skips the check that every pattern
    matches something: a dropped column named in `!t.col` is drift to report, not a typo.
    The copy is of what selection writes (each stream entry, its metadata list and entries);
    the schemas are the given catalog's own, read and never written here (copying them all
    took a 500-stream catalog 0.35 s, most of the run's start)."""
    out = _writable_copy(catalog)
    streams = out.get("streams") or []
    ids = {
        id(s): [
            str(s.get("tap_stream_id") or s.get("stream")),
            str(s.get("stream") or s.get("tap_stream_id")),
        ]
        for s in streams
    }
    all_ids = sorted({n for names in ids.values() for n in names})
    parsed = [parse_pattern(p, all_ids) for p in patterns]
    for text, p in zip(patterns, parsed) if strict else ():
        _check_matches(text, p, streams, ids, all_ids)

    for entry in streams:
        names = ids[id(entry)]
        mine = [p for p in parsed if any(fnmatch.fnmatchcase(n, p.stream) for n in names)]
        props = list((entry.get("schema") or {}).get("properties") or {})
        if parsed:
            _select_stream(entry, mine, props)
        for key, override in (overrides or {}).items():
            if any(fnmatch.fnmatchcase(n, key) for n in names):
                _override(entry, override, names[0], props)
    for key in overrides or {}:
        if not any(fnmatch.fnmatchcase(n, key) for n in all_ids):
            raise ConfigError(
                f"streams.{key}: matches no stream in the catalog (streams: {', '.join(all_ids)})"
            )
    return out


def _writable_copy(catalog: dict[str, Any]) -> dict[str, Any]:
    """`catalog` with new containers for what apply_selection writes: the catalog, its list
    of streams, each stream entry, the entry's metadata list, each metadata item and its
    `metadata` object. Everything else is shared."""

    def item(md: Any) -> Any:
        if not isinstance(md, dict):
            return copy.deepcopy(md)
        md = dict(md)
        if isinstance(md.get("metadata"), dict):
            md["metadata"] = dict(md["metadata"])
        return md

    def entry(stream: Any) -> Any:
        if not isinstance(stream, dict):
            return copy.deepcopy(stream)
        stream = dict(stream)
        if isinstance(stream.get("metadata"), list):
            stream["metadata"] = [item(md) for md in stream["metadata"]]
        return stream

    out = dict(catalog)
    if isinstance(out.get("streams"), list):
        out["streams"] = [entry(s) for s in out["streams"]]
    return out


def _check_matches(
    text: str,
    p: Pattern,
    streams: list[dict[str, Any]],
    ids: dict[int, list[str]],
    all_ids: list[str],
) -> None:
    """A pattern that matches nothing is a typo, and a typo in a selection either loads data
    the user meant to leave out (`!customers.snn`) or every column (`products.nme`): refuse it.
    A property pattern must match a top-level property of at least one stream it matches."""
    if not any(fnmatch.fnmatchcase(n, p.stream) for n in all_ids):
        raise ConfigError(
            f"select: pattern {text!r} matches no stream (streams: {', '.join(all_ids) or 'none'})"
        )
    if p.prop in (None, "*"):
        return
    mine = [s for s in streams if any(fnmatch.fnmatchcase(n, p.stream) for n in ids[id(s)])]
    props = {
        name: list((s.get("schema") or {}).get("properties") or {})
        for s in mine
        for name in ids[id(s)][:1]
    }
    if any(fnmatch.filter(names, p.prop or "") for names in props.values()):
        return
    which = ", ".join(sorted(props))
    known = sorted({prop for names in props.values() for prop in names})
    raise ConfigError(
        f"select: pattern {text!r} matches no property of {which} "
        f"(properties: {', '.join(known) or 'none'})"
    )


def _select_stream(entry: dict[str, Any], mine: list[Pattern], props: list[str]) -> None:
    selected, whole = False, False
    included: set[str] = set()
    excluded: set[str] = set()
    for p in mine:
        if p.negate and p.prop is None:
            selected = False
        elif p.negate:
            excluded |= set(fnmatch.filter(props, p.prop or ""))
        else:
            selected = True
            if p.prop in (None, "*"):
                whole = True
            else:
                included |= set(fnmatch.filter(props, p.prop or ""))
    chosen = (set(props) if whole or not included else included) - excluded
    _root(entry)["selected"] = selected
    for prop in props:
        md = _prop_md(entry, prop)
        if md.get("inclusion") != "automatic":
            md["selected"] = selected and prop in chosen


def _override(entry: dict[str, Any], override: dict[str, Any], name: str, props: list[str]) -> None:
    root = _root(entry)
    method = override.get("replication_method")
    key = override.get("replication_key")
    if key is not None:
        if key not in props:
            raise ConfigError(
                f"streams.{name}.replication_key: {key!r} is not a property of {name} (properties: {', '.join(props)})"
            )
        root["replication-key"] = key
        method = method or "INCREMENTAL"
    if method:
        root["replication-method"] = method
        if method != "INCREMENTAL":
            root.pop("replication-key", None)
    if method == "INCREMENTAL" and not root.get("replication-key"):
        raise ConfigError(f"streams.{name}: INCREMENTAL needs a replication_key")
    if override.get("key_properties") is not None:
        keys = list(override["key_properties"])
        missing = [k for k in keys if k not in props]
        if missing:
            raise ConfigError(
                f"streams.{name}.key_properties: {', '.join(missing)} not a property of {name}"
            )
        root["table-key-properties"] = keys
        entry["key_properties"] = keys


def check_something_selected(
    catalog: dict[str, Any], patterns: list[str], path: str, name: str
) -> None:
    """Refuse a catalog (`path`, with tapwell.yml's `patterns` applied) from which no tap syncs
    a stream: the run would succeed having done nothing, run after run, and nobody would know.
    A stream counts as synced as tapwell's taps and singer-sdk's decide (_may_sync)."""
    streams = [s for s in catalog.get("streams") or [] if isinstance(s, dict)]
    if any(_may_sync(s) for s in streams):
        return
    ids = [str(s.get("tap_stream_id") or s.get("stream")) for s in streams]
    if not ids:
        raise ConfigError(
            f"nothing to sync: {path} holds no stream: run `tapwell discover {name}` to fill it"
        )
    shown = ", ".join(ids[:8]) + (f", ... ({len(ids)} in all)" if len(ids) > 8 else "")
    fix = f"name the streams to sync under integrations.{name}.select in tapwell.yml"
    if patterns:
        only_out = all(p.startswith("!") for p in patterns)
        raise ConfigError(
            f"nothing to sync: select: {patterns} leaves out every stream of {path} "
            f"(streams: {shown}): {fix}"
            + (
                "; a '!' pattern only takes out what a pattern before it selects, e.g. "
                "select: ['*', '!audit_*']"
                if only_out
                else ""
            )
        )
    raise ConfigError(
        f"nothing to sync: no stream of {path} is selected (streams: {shown}): {fix} "
        f"(e.g. select: [{ids[0]}], or ['*'] for all) or mark them \"selected\": true in "
        "their metadata"
    )


def _may_sync(entry: dict[str, Any]) -> bool:
    """Whether a tap syncs this catalog stream, by the rule tapwell's taps follow
    (tapwell.singer.catalog.StreamEntry.is_selected, singer-sdk's): one without metadata, or with
    `inclusion: automatic`, is synced; else its `selected` (in its metadata, or on its schema in
    singer-python's older convention), else its `selected-by-default`."""
    items = entry.get("metadata")
    if isinstance(items, list):  # a hand-written catalog's stray item is no selection
        entry = dict(entry, metadata=[i for i in items if isinstance(i, dict)])
    return StreamEntry(entry).is_selected
