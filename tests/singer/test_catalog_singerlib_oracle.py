"""tapwell.singer.catalog's selection and standard metadata against singer-sdk's singerlib, the
reference implementation (a dev dependency only): the same answer for hand-picked catalogs and
for a few thousand random ones."""

from __future__ import annotations

import random
from typing import Any

import pytest
from tapwell.singer.catalog import StreamEntry, standard_metadata

singerlib = pytest.importorskip("singer_sdk.singerlib")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"},
        "name": {"type": ["null", "string"]},
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "geo": {"type": "object", "properties": {"lat": {"type": "number"}}},
            },
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def oracle_metadata(schema: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    """standard_metadata as singerlib makes it, less replication-key (the user chooses it)."""
    items = singerlib.MetadataMapping.get_standard_metadata(
        schema=schema,
        key_properties=list(kw.get("key_properties", ())),
        valid_replication_keys=list(kw.get("valid_replication_keys", ())) or None,
        replication_method=kw.get("forced_replication_method"),
        selected_by_default=kw.get("selected_by_default", True),
    ).to_list()
    for item in items:
        item["metadata"].pop("replication-key", None)
        md = item["metadata"]
        if "selected-by-default" not in md and md.get("inclusion") == "available":
            md["selected-by-default"] = kw.get("selected_by_default", True)
    return items


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"key_properties": ["id"]},
        {"key_properties": ["id"], "valid_replication_keys": ["updated_at"]},
        {"valid_replication_keys": ["updated_at", "id"], "selected_by_default": False},
        {"forced_replication_method": "FULL_TABLE", "key_properties": ["id", "name"]},
    ],
)
def test_standard_metadata_is_singerlibs(kw: dict[str, Any]) -> None:
    ours = standard_metadata(SCHEMA, **kw)
    assert ours == oracle_metadata(SCHEMA, **kw)
    assert [list(i["metadata"]) for i in ours] == [
        list(i["metadata"]) for i in oracle_metadata(SCHEMA, **kw)
    ]  # the same keys in the same order: a discovered catalog's text does not change


def test_standard_metadata_of_an_empty_schema_is_singerlibs() -> None:
    assert standard_metadata({}) == oracle_metadata({})


def oracle_selected(entry: dict[str, Any]) -> list[str]:
    props = list(entry["schema"]["properties"])
    if not entry.get("metadata"):
        return props
    mask = singerlib.MetadataMapping.from_iterable(entry["metadata"]).resolve_selection()
    return [p for p in props if mask[("properties", p)]]


def random_entry(rng: random.Random) -> dict[str, Any]:
    props = ["id", "updated_at", "name", "address"]
    crumbs: list[list[str]] = [[], *[["properties", p] for p in props]]
    crumbs.append(["properties", "address", "properties", "city"])
    metadata = []
    for crumb in crumbs:
        if rng.random() < 0.25:
            continue  # a breadcrumb without metadata
        md: dict[str, Any] = {}
        for key, values in (
            ("inclusion", ["available", "automatic", "unsupported"]),
            ("selected", [True, False]),
            ("selected-by-default", [True, False]),
        ):
            if rng.random() < 0.5:
                md[key] = rng.choice(values)
        metadata.append({"breadcrumb": crumb, "metadata": md})
    return {"tap_stream_id": "s", "schema": SCHEMA, "metadata": metadata}


def test_selected_properties_are_singerlibs_for_random_catalogs() -> None:
    rng = random.Random(20241202)
    for _ in range(3000):
        entry = random_entry(rng)
        assert StreamEntry(entry).selected_properties() == oracle_selected(entry), entry


@pytest.mark.parametrize(
    "metadata",
    [
        [],
        [{"breadcrumb": [], "metadata": {"selected": True}}],
        [{"breadcrumb": [], "metadata": {"selected": False}}],
        [{"breadcrumb": ["properties", "name"], "metadata": {"selected": False}}],  # no root entry
        [
            {"breadcrumb": [], "metadata": {"selected": True}},
            {
                "breadcrumb": ["properties", "id"],
                "metadata": {"inclusion": "automatic", "selected": False},
            },
            {
                "breadcrumb": ["properties", "name"],
                "metadata": {"inclusion": "unsupported", "selected": True},
            },
            {"breadcrumb": ["properties", "address"], "metadata": {"selected-by-default": False}},
        ],
    ],
)
def test_selected_properties_hand_picked_are_singerlibs(metadata: list[dict[str, Any]]) -> None:
    entry = {"tap_stream_id": "s", "schema": SCHEMA, "metadata": metadata}
    assert StreamEntry(entry).selected_properties() == oracle_selected(entry)


def oracle_stream_selected(entry: dict[str, Any]) -> bool:
    """singer-sdk's Stream.selected for a stream the catalog gives this metadata."""
    mask = singerlib.MetadataMapping.from_iterable(entry.get("metadata") or []).resolve_selection()
    return bool(mask.get((), True))


@pytest.mark.parametrize(
    "metadata",
    [
        None,  # no metadata at all: singer-sdk syncs the stream, every property
        [],
        [{"breadcrumb": [], "metadata": {}}],
        [{"breadcrumb": [], "metadata": {"selected-by-default": True}}],
        [{"breadcrumb": [], "metadata": {"selected": False, "selected-by-default": True}}],
        [{"breadcrumb": [], "metadata": {"inclusion": "automatic", "selected": False}}],
        [{"breadcrumb": [], "metadata": {"inclusion": "unsupported", "selected": True}}],
    ],
)
def test_stream_selection_is_singer_sdks(metadata: list[dict[str, Any]] | None) -> None:
    entry: dict[str, Any] = {"tap_stream_id": "s", "schema": SCHEMA}
    if metadata is not None:
        entry["metadata"] = metadata
    assert StreamEntry(entry).is_selected == oracle_stream_selected(entry)


def test_stream_selection_is_singer_sdks_for_random_catalogs() -> None:
    """Random metadata with a root entry (one without it but with property entries singer-sdk
    calls selected while it deselects every property: tapwell leaves such a stream out)."""
    rng = random.Random(20261208)
    for _ in range(3000):
        entry = random_entry(rng)
        if not any(not i["breadcrumb"] for i in entry["metadata"]):
            entry["metadata"].append({"breadcrumb": [], "metadata": {}})
        assert StreamEntry(entry).is_selected == oracle_stream_selected(entry), entry
