"""tapwell.sdk.nested_split: the generated splitter gives exactly the rows of the reference
`nested.rows`, in the same order with the same input lines, for documents of every shape
(missing and null properties, empty and null arrays, elements that are not objects, keyless
streams, soft deletes, max depth); pure, no server."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from helpers.nested_docs import ORDER_SCHEMA as ORDER
from helpers.nested_docs import order
from tapwell.sdk.nested import TablePlan, plan, rows
from tapwell.sdk.nested_split import compile_splitter

SOFT = {
    "type": "object",
    "properties": {
        **ORDER["properties"],
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def _reference(root: TablePlan, records: list[dict[str, Any]], lines: list[int]) -> Any:
    out: dict[str, list[Any]] = {t.name: [] for t in root.walk()}
    at: dict[str, list[int]] = {t.name: [] for t in root.walk()}
    for i, record in enumerate(records):
        rows(root, record, i, "L", out)
        for name in out:
            at[name].extend([lines[i]] * (len(out[name]) - len(at[name])))
    return out, at


def _compiled(root: TablePlan, records: list[dict[str, Any]], lines: list[int]) -> Any:
    tables = list(root.walk())
    out: dict[str, list[Any]] = {t.name: [] for t in tables}
    at: dict[str, list[int]] = {t.name: [] for t in tables}
    sinks = []
    for t in tables:
        sinks += [out[t.name].append, at[t.name].append]
    compile_splitter(root, checked=False)(records, range(len(records)), lines, "L", sinks)
    return out, at


def _maybe(rng: random.Random, value: Any) -> Any:
    return rng.choice([value, value, value, None, "<absent>", "a string", 5])


def _document(rng: random.Random, n: int, schema: dict[str, Any]) -> dict[str, Any]:
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


@pytest.mark.parametrize("keys", [["id"], []])
@pytest.mark.parametrize("schema", [ORDER, SOFT])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_the_splitter_gives_the_reference_rows(
    keys: list[str], schema: dict[str, Any], depth: int
) -> None:
    rng = random.Random(17 + depth + len(keys))
    records = [order(5), order(7, grow=2), {}, {"id": 1, "items": None, "tags": []}]
    records += [_document(rng, n, schema) for n in range(300)]
    lines = list(range(10, 10 + len(records)))
    root = plan("orders", schema, keys, max_depth=depth)
    assert _compiled(root, records, lines) == _reference(root, records, lines)


def test_a_target_maker_builds_its_own_rows_absent_values_as_none() -> None:
    root = plan("orders", ORDER, ["id"])

    def maker(table: TablePlan, index: int, values: dict[str, str]) -> Any:
        return [], "(" + "".join(f"{v}, " for v in values.values()) + ")", {}

    tables = list(root.walk())
    out: dict[str, list[Any]] = {t.name: [] for t in tables}
    sinks = []
    for t in tables:
        sinks += [out[t.name].append, [].append]
    split = compile_splitter(root, maker, checked=False)
    split([{"id": 3, "items": [{"sku": "A"}, 7]}], [0], [1], "L", sinks)
    assert out["orders"] == [(3, None, None, None, None, None, None)]
    assert out["orders__items"] == [(3, 0, "A", None, None), (3, 1, None, None, None)]
