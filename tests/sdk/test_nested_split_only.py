"""tapwell.sdk.nested_split's `only`: one pass per table gives that table's rows exactly as the
full splitter does (same order, same input lines), and every value that breaks its schema is
refused by the pass of the table holding it, named by the same path; pure, no server."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from helpers.nested_docs import ORDER_SCHEMA as ORDER
from helpers.nested_docs import order
from tapwell.sdk.nested import TablePlan, plan
from tapwell.sdk.nested_check import NestedValueError
from tapwell.sdk.nested_split import compile_splitter

SOFT = {
    "type": "object",
    "properties": {
        **ORDER["properties"],
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def _maybe(rng: random.Random, value: Any) -> Any:
    return rng.choice([value, value, value, None, "<absent>", "a string", 5])


def _document(rng: random.Random, n: int, schema: dict[str, Any]) -> dict[str, Any]:
    """Documents of every shape (as test_nested_split's): missing, null and wrong values."""
    doc: dict[str, Any] = {"id": n}
    items = []
    for _ in range(rng.randint(0, 3)):
        item: Any = {"sku": f"S{n}", "qty": rng.randint(-2, 2**70), "price": Decimal("1.10")}
        if rng.random() < 0.5:
            item["discounts"] = _maybe(
                rng, [_maybe(rng, {"code": "😀", "amount": 0.5}) for _ in range(rng.randint(0, 2))]
            )
        items.append(_maybe(rng, item))
    fields = {
        "note": "x\ty",
        "placed_at": "2026-01-01T00:00:00.123456+02:00",
        "address": {"city": "", "geo": _maybe(rng, {"lat": 1.5, "lon": None})},
        "items": items,
        "tags": [_maybe(rng, "t") for _ in range(rng.randint(0, 3))],
        "meta": {"free": [1]},
        "_sdc_deleted_at": "2026-01-01T00:00:00.123456+02:00",
    }
    for key, value in fields.items():
        value = _maybe(rng, value)
        if value != "<absent>" and key in schema["properties"]:
            doc[key] = value
    return doc


def _split(
    root: TablePlan, records: list[Any], lines: list[int], only: TablePlan | None, check: bool
) -> dict[str, tuple[list[Any], list[int]]]:
    tables = list(root.walk())
    out: dict[str, tuple[list[Any], list[int]]] = {t.name: ([], []) for t in tables}
    sinks = []
    for t in tables:
        sinks += [out[t.name][0].append, out[t.name][1].append]
    split = compile_splitter(root, checked=check, record_check=check, only=only)
    split(records, range(len(records)), lines, "L", sinks)
    return out


@pytest.mark.parametrize("keys", [["id"], []])
@pytest.mark.parametrize("schema", [ORDER, SOFT])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_each_pass_gives_its_tables_rows_and_no_other(
    keys: list[str], schema: dict[str, Any], depth: int
) -> None:
    rng = random.Random(29 + depth + len(keys))
    records = [order(5), order(7, grow=2), {}, {"id": 1, "items": None, "tags": []}]
    records += [_document(rng, n, schema) for n in range(300)]
    lines = list(range(10, 10 + len(records)))
    root = plan("orders", schema, keys, max_depth=depth)
    full = _split(root, records, lines, None, check=False)
    for table in root.walk():
        alone = _split(root, records, lines, table, check=False)
        assert alone[table.name] == full[table.name]
        assert all(alone[t.name] == ([], []) for t in root.walk() if t is not table)


def test_valid_documents_pass_every_check_in_every_pass() -> None:
    docs = [order(n, grow=g) for n in range(1, 40) for g in (-3, 0, 2)]
    lines = list(range(1, len(docs) + 1))
    root = plan("orders", ORDER, ["id"])
    full = _split(root, docs, lines, None, check=True)
    for table in root.walk():
        assert _split(root, docs, lines, table, check=True)[table.name] == full[table.name]


@pytest.mark.parametrize(
    ("doc", "field", "table"),
    [
        ({"id": None}, "id", "orders"),
        ({"note": 5}, "note", "orders"),
        ({"address": {"geo": 5}}, "address.geo", "orders"),
        ({"items": 5}, "items", "orders__items"),
        ({"items": [{}, {"qty": 1.5}]}, "items[1].qty", "orders__items"),
        ({"items": [7]}, "items[0]", "orders__items"),
        ({"items": [{"discounts": 3}]}, "items[0].discounts", "orders__items__discounts"),
        (
            {"items": [{"discounts": [{}, {"code": 1}]}]},
            "items[0].discounts[1].code",
            "orders__items__discounts",
        ),
        ({"tags": ["a", None]}, "tags[1]", "orders__tags"),
    ],
)
def test_a_bad_value_is_refused_by_the_pass_of_its_table(
    doc: dict[str, Any], field: str, table: str
) -> None:
    root = plan("orders", ORDER, ["id"])
    records = [{"id": 1}, {"id": 2, **doc}]
    refused = {}
    for t in root.walk():
        try:
            _split(root, records, [1, 2], t, check=True)
        except NestedValueError as bad:
            refused[t.name] = (bad.line, bad.field)
    assert refused == {table: (2, field)}
