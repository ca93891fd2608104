"""tapwell.sdk.nested_check through the generated splitter: a valid document splits as it did
unchecked, and a value inside a document that breaks its schema is refused naming its path in
the document, whatever its depth; pure, no server."""

from __future__ import annotations

from typing import Any

import pytest
from helpers.nested_docs import ORDER_SCHEMA, order
from tapwell.sdk.nested import plan
from tapwell.sdk.nested_check import NestedValueError, field_path
from tapwell.sdk.nested_split import compile_splitter

FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"


def split(records: list[dict[str, Any]], checked: bool = True) -> list[list[Any]]:
    root = plan("orders", ORDER_SCHEMA, ["id"])
    tables = list(root.walk())
    out: list[list[Any]] = [[] for _ in tables]
    sinks = []
    for rows in out:
        sinks += [rows.append, [].append]
    lines = list(range(1, len(records) + 1))
    compile_splitter(root, checked=checked)(records, range(len(records)), lines, "L", sinks)
    return out


def test_valid_documents_split_as_unchecked() -> None:
    docs = [order(n, grow=g) for n in range(1, 40) for g in (-3, 0, 2)]
    assert split(docs) == split(docs, checked=False)


@pytest.mark.parametrize(
    ("doc", "field", "problem"),
    [
        ({"items": [{}, {"qty": 1.5}]}, "items[1].qty", f"1.5 is not integer {FIX}"),
        ({"address": {"geo": 5}}, "address.geo", f"5 is not object {FIX}"),
        ({"address": {"geo": {"lat": "n"}}}, "address.geo.lat", f"'n' is not number {FIX}"),
        (
            {"items": [{"discounts": [{}, {"code": 1}]}]},
            "items[0].discounts[1].code",
            f"1 is not string {FIX}",
        ),
        ({"tags": ["a", None]}, "tags[1]", f"is null but the schema does not allow null {FIX}"),
    ],
)
def test_a_bad_value_is_named_by_its_path(doc: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(NestedValueError) as bad:
        split([{"id": 1}, {"id": 2, **doc}])
    assert (bad.value.line, bad.value.field, bad.value.problem) == (2, field, problem)


def test_field_path() -> None:
    assert field_path(("items", 0, "discounts", 1, "amount"), (3, 0)) == (
        "items[3].discounts[0].amount"
    )
    assert field_path(("a'b", "c"), ()) == "a'b.c"
