"""tapwell.sdk.nested: a schema into parent columns and child tables, a record into their rows,
with natural keys; pure, no server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tapwell.sdk.nested import NestedSchemaError, plan, rows

ORDER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "total": {"type": ["number", "null"]},
        "address": {
            "type": ["object", "null"],
            "properties": {
                "city": {"type": ["string", "null"]},
                "geo": {
                    "type": ["object", "null"],
                    "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                },
            },
        },
        "items": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string"},
                    "qty": {"type": "integer"},
                    "price": {"type": "number"},
                    "discounts": {
                        "type": ["array", "null"],
                        "items": {
                            "type": "object",
                            "properties": {"code": {"type": "string"}, "pct": {"type": "number"}},
                        },
                    },
                },
            },
        },
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "extra": {"type": ["object", "null"]},
        "anything": {},
    },
}

RECORD = {
    "id": 7,
    "total": Decimal("12.30"),
    "address": {"city": "Lyon", "geo": {"lat": Decimal("45.75"), "lon": Decimal("4.85")}},
    "items": [
        {
            "sku": "A",
            "qty": 2,
            "price": Decimal("1.10"),
            "discounts": [{"code": "X", "pct": Decimal("0.5")}],
        },
        {"sku": "B", "qty": 1, "price": Decimal("10.10")},
    ],
    "tags": ["red", "", "😀"],
    "extra": {"free": [1, 2]},
}


def test_the_tables_and_their_columns() -> None:
    root = plan("orders", ORDER, ["id"])
    tables = {t.name: t for t in root.walk()}
    assert list(tables) == ["orders", "orders__items", "orders__items__discounts", "orders__tags"]
    assert list(root.schema["properties"]) == [
        "id",
        "total",
        "address__city",
        "address__geo__lat",
        "address__geo__lon",
        "extra",
        "anything",
    ]
    assert root.schema["properties"]["address__geo__lat"]["type"] == ["number", "null"]
    items = tables["orders__items"]
    assert list(items.schema["properties"]) == [
        "_sdc_source_key_id",
        "_sdc_level_0_id",
        "sku",
        "qty",
        "price",
    ]
    assert items.key_properties == ["_sdc_source_key_id", "_sdc_level_0_id"]
    assert items.schema["properties"]["_sdc_source_key_id"] == {"type": "integer"}
    disc = tables["orders__items__discounts"]
    assert disc.key_properties == ["_sdc_source_key_id", "_sdc_level_0_id", "_sdc_level_1_id"]
    assert list(tables["orders__tags"].schema["properties"])[-1] == "value"


def test_a_record_becomes_rows_with_natural_keys() -> None:
    out = rows(plan("orders", ORDER, ["id"]), RECORD)
    assert out["orders"] == [
        {
            "id": 7,
            "total": Decimal("12.30"),
            "address__city": "Lyon",
            "address__geo__lat": Decimal("45.75"),
            "address__geo__lon": Decimal("4.85"),
            "extra": {"free": [1, 2]},
        }
    ]
    assert out["orders__items"] == [
        {
            "_sdc_source_key_id": 7,
            "_sdc_level_0_id": 0,
            "sku": "A",
            "qty": 2,
            "price": Decimal("1.10"),
        },
        {
            "_sdc_source_key_id": 7,
            "_sdc_level_0_id": 1,
            "sku": "B",
            "qty": 1,
            "price": Decimal("10.10"),
        },
    ]
    assert out["orders__items__discounts"] == [
        {
            "_sdc_source_key_id": 7,
            "_sdc_level_0_id": 0,
            "_sdc_level_1_id": 0,
            "code": "X",
            "pct": Decimal("0.5"),
        },
    ]
    assert [r["value"] for r in out["orders__tags"]] == ["red", "", "😀"]


def test_null_and_empty_arrays_give_no_child_rows() -> None:
    root = plan("orders", ORDER, ["id"])
    for items in (None, []):
        out = rows(root, {"id": 1, "items": items, "tags": items, "address": None})
        assert out["orders__items"] == [] and out["orders__tags"] == []
        assert out["orders"] == [{"id": 1}]


def test_max_depth_keeps_deeper_values_as_json() -> None:
    root = plan("orders", ORDER, ["id"], max_depth=1)
    assert [t.name for t in root.walk()] == ["orders", "orders__items", "orders__tags"]
    assert "address__geo" in root.schema["properties"]
    out = rows(root, RECORD)
    assert out["orders__items"][0]["discounts"] == [{"code": "X", "pct": Decimal("0.5")}]


def test_a_keyless_stream_keys_children_by_load_and_position() -> None:
    root = plan("events", ORDER, [])
    out = rows(root, RECORD, row_index=4, load_id="L1")
    assert out["events"][0]["_sdc_load_id"] == "L1" and out["events"][0]["_sdc_row_index"] == 4
    assert out["events__tags"][0] == {
        "_sdc_source_key__sdc_load_id": "L1",
        "_sdc_source_key__sdc_row_index": 4,
        "_sdc_level_0_id": 0,
        "value": "red",
    }


def test_soft_deleted_parents_mark_their_children() -> None:
    schema = {
        "type": "object",
        "properties": {
            **ORDER["properties"],
            "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
        },
    }
    out = rows(
        plan("orders", schema, ["id"]), {**RECORD, "_sdc_deleted_at": "2026-01-01T00:00:00Z"}
    )
    assert {r["_sdc_deleted_at"] for r in out["orders__items"]} == {"2026-01-01T00:00:00Z"}


def test_colliding_names_are_reported() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "string"}}},
            "a__b": {"type": "string"},
        },
    }
    with pytest.raises(
        NestedSchemaError, match=r"properties a\.b and a__b both become column 'a__b'"
    ):
        plan("t", schema, [])


def test_long_names_are_shortened_alike() -> None:
    long = "p" * 70
    schema = {
        "type": "object",
        "properties": {long: {"type": "array", "items": {"type": "integer"}}},
    }
    root = plan("t", schema, ["id"])
    assert len(root.children[0].name.encode()) <= 63


def test_a_batch_splits_into_one_batch_per_table_the_last_record_of_a_key_winning() -> None:
    from tapwell.sdk.nested import child_specs, split
    from tapwell.sdk.target_types import Batch, StreamSpec

    root = plan("orders_t", ORDER, ["id"])
    spec = StreamSpec("orders", root.schema, ["id"], check=lambda r, n: None)
    specs = child_specs("orders", root)
    assert [s.name for s in specs.values()] == [
        "orders__items",
        "orders__items__discounts",
        "orders__tags",
    ]
    first = {"id": 7, "tags": ["a", "b"]}
    batch = Batch(spec, records=[first, {"id": 8}, RECORD], first_line=3, lines=[3, 4, 5])
    out = split(root, batch, spec, specs, "L")
    assert [b.spec.name for b in out] == [
        "orders",
        "orders__items",
        "orders__items__discounts",
        "orders__tags",
    ]
    assert [r["id"] for r in out[0].records] == [8, 7] and out[0].lines == [4, 5]
    assert [r["value"] for r in out[3].records] == ["red", "", "😀"] and out[3].lines == [5, 5, 5]
