"""Edge values inside documents for the `nested: tables` tests of target-postgres and
target-duckdb (issue 17): one document whose every value must arrive exactly (64-bit bounds, a
wider integer, 0.1, "", null, emoji, date-times with microseconds, arrays of scalars, an array of
arrays, names with quotes and past 63 bytes), and documents that must be refused with one line
naming the value's path in the document, each run on its own after a good record and a STATE.

Both targets' tests read the tables back into the same shape (`expected_rows`) and compare."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tapwell.sdk.sql_names import shorten
from tapwell.singer.wire import dumps

STREAM = "edges"
QUOTED = "it\"em's"
LONG = "line_items_of_the_order_placed_on_the_web_shop_" + "x" * 30  # 77 bytes
LONG_PROP = "quantity_as_counted_by_the_warehouse_at_dispatch_" + "y" * 30  # 79 bytes
INT = {"type": ["integer", "null"]}
WIDE = {"type": ["integer", "null"], "maximum": 10**20, "minimum": -(10**20)}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "items": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "qty": INT,
                    "wide": WIDE,
                    "price": {"type": ["number", "null"]},
                    "note": {"type": ["string", "null"]},
                    "at": {"type": ["string", "null"], "format": "date-time"},
                    "geo": {
                        "type": ["object", "null"],
                        "properties": {"lat": {"type": ["number", "null"]}},
                    },
                    "discounts": {
                        "type": ["array", "null"],
                        "items": {
                            "type": "object",
                            "properties": {"amount": {"type": ["number", "null"]}},
                        },
                    },
                },
            },
        },
        "nums": {"type": ["array", "null"], "items": {"type": "integer"}},
        "words": {"type": ["array", "null"], "items": {"type": "string"}},
        "matrix": {"type": ["array", "null"], "items": {"type": "array", "items": INT}},
        QUOTED: {"type": ["object", "null"], "properties": {"x": INT}},
        LONG: {
            "type": ["array", "null"],
            "items": {"type": "object", "properties": {LONG_PROP: INT}},
        },
    },
}
MAX, MIN = 2**63 - 1, -(2**63)

GOOD: dict[str, Any] = {
    "id": 1,
    "items": [
        {
            "qty": MAX,
            "wide": MAX + 1,
            "price": 0.1,
            "note": "",
            "at": "2024-01-02T03:04:05.123456+00:00",
            "geo": {"lat": -0.1},
            "discounts": [{"amount": Decimal("1.10")}, {"amount": None}],
        },
        {"qty": MIN, "wide": MIN - 1, "price": None, "note": None, "at": None, "geo": None},
        {"note": 'a😀"b\\c\td\n', "qty": 2.0},
    ],
    "nums": [0, MAX, MIN],
    "words": ["", "😀", 'q"uote'],
    "matrix": [[1, 2], [], [None]],
    QUOTED: {"x": 7},
    LONG: [{LONG_PROP: 5}],
}
AT = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
# table -> rows of (column, value) in element order: what GOOD must leave (values as `plain`).
EXPECTED: dict[str, list[dict[str, Any]]] = {
    STREAM: [{"id": "1", f"{QUOTED}__x": "7"}],
    f"{STREAM}__items": [
        {"qty": str(MAX), "wide": str(MAX + 1), "price": "0.1", "note": "", "at": AT},
        {"qty": str(MIN), "wide": str(MIN - 1), "price": None, "note": None, "at": None},
        {"qty": "2", "wide": None, "price": None, "note": 'a😀"b\\c\td\n', "at": None},
    ],
    f"{STREAM}__items__discounts": [{"amount": "1.1"}, {"amount": None}],
    f"{STREAM}__nums": [{"value": "0"}, {"value": str(MAX)}, {"value": str(MIN)}],
    f"{STREAM}__words": [{"value": ""}, {"value": "😀"}, {"value": 'q"uote'}],
    f"{STREAM}__{LONG}": [{LONG_PROP: "5"}],
}
GEO = [{"items_geo": "-0.1"}, {"items_geo": None}, {"items_geo": None}]

FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
WIDER = (
    "is outside the range of a 64-bit integer column (BIGINT): fix the value at the source, or "
    "declare the field's maximum (and minimum) in the SCHEMA beyond 64 bits for a wider column"
)
# (name, the bad record's properties besides its id, the field the error names, the problem)
REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    ("2^63", {"items": [{"qty": 1}, {"qty": MAX + 1}]}, "items[1].qty", f"{MAX + 1} {WIDER}"),
    ("-2^63-1", {"items": [{"qty": MIN - 1}]}, "items[0].qty", f"{MIN - 1} {WIDER}"),
    ("2^64 float", {"items": [{"qty": 1.8446744073709552e19}]}, "items[0].qty",
     f"1.8446744073709552E+19 {WIDER}"),
    ("1.5 integer", {"items": [{"qty": 1.5}]}, "items[0].qty", f"1.5 is not integer {FIX}"),
    ("1.5 wide", {"items": [{"wide": 1.5}]}, "items[0].wide", f"1.5 is not integer {FIX}"),
    ("'3' integer", {"items": [{"qty": "3"}]}, "items[0].qty", f"'3' is not integer {FIX}"),
    ("true integer", {"items": [{"qty": True}]}, "items[0].qty", f"True is not integer {FIX}"),
    ("1.5 scalar array", {"nums": [1, 2, 1.5]}, "nums[2]", f"1.5 is not integer {FIX}"),
    ("2^63 scalar array", {"nums": [MAX + 1]}, "nums[0]", f"{MAX + 1} {WIDER}"),
    ("null scalar", {"nums": [None]}, "nums[0]",
     f"is null but the schema does not allow null {FIX}"),
    ("array in scalar array", {"words": [["a"]]}, "words[0]", f"['a'] is not string {FIX}"),
    ("number as string", {"items": [{"note": 5}]}, "items[0].note", f"5 is not string {FIX}"),
    ("scalar for object", {"items": [{"geo": 5}]}, "items[0].geo", f"5 is not object {FIX}"),
    ("scalar element", {"items": [7]}, "items[0]", f"7 is not object {FIX}"),
    ("null element", {"items": [None]}, "items[0]",
     f"is null but the schema does not allow null {FIX}"),
    ("object for array", {"items": [{"discounts": {"amount": 1}}]}, "items[0].discounts",
     f"{{'amount': 1}} is not array {FIX}"),
    ("bad date-time", {"items": [{"at": "yesterday"}]}, "items[0].at",
     f"'yesterday' is not a valid date-time string {FIX}"),
    ("grandchild", {"items": [{}, {"discounts": [{"amount": 1}, {"amount": "x"}]}]},
     "items[1].discounts[1].amount", f"'x' is not number {FIX}"),
    ("array of arrays", {"matrix": [[1, 1.5]]}, "matrix", None),  # a JSON column: no check inside
    ("quoted name", {QUOTED: {"x": 1.5}}, f"{QUOTED}.x", f"1.5 is not integer {FIX}"),
    ("long names", {LONG: [{LONG_PROP: MAX + 1}]}, f"{LONG}[0].{LONG_PROP}", f"{MAX + 1} {WIDER}"),
]  # fmt: skip


def line(message: dict[str, Any]) -> str:
    """A message as its JSON line, every digit of every Decimal kept."""
    return dumps(message).decode()


def messages(*bad: dict[str, Any]) -> list[str]:
    """SCHEMA, the good record, STATE 1, then each bad record (ids 2, 3, ...), STATE 2."""
    out = [
        line({"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": ["id"]}),
        line({"type": "RECORD", "stream": STREAM, "record": GOOD}),
        line({"type": "STATE", "value": {"n": 1}}),
    ]
    for n, doc in enumerate(bad, start=2):
        out.append(line({"type": "RECORD", "stream": STREAM, "record": {"id": n, **doc}}))
    out.append(line({"type": "STATE", "value": {"n": 2}}))
    return out


def plain(value: Any) -> Any:
    """A value read back in the one form both targets' drivers give the same: numbers as their
    shortest exact text, date-times as UTC instants, strings and None as they are."""
    if isinstance(value, bool) or value is None or isinstance(value, str | datetime):
        return value.astimezone(UTC) if isinstance(value, datetime) else value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text if value != value.to_integral_value() else str(int(value))
    return str(value)


def table_name(name: str, shortened: bool) -> str:
    """A table's name at the destination: PostgreSQL's 63-byte rule, or DuckDB's whole name."""
    return shorten(name) if shortened else name


def column_name(name: str, shortened: bool) -> str:
    return shorten(name) if shortened else name


def found_rows(
    read: Any, shortened: bool
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """EXPECTED's tables as `read(table, columns)` gives them (rows of values in element order,
    a child's by `_sdc_level_N_id`), and the items' flattened `geo__lat` column."""
    out = {}
    for table, rows in EXPECTED.items():
        columns = list(rows[0])
        got = read(table_name(table, shortened), [column_name(c, shortened) for c in columns])
        out[table] = [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in got]
    geo = read(table_name(f"{STREAM}__items", shortened), ["geo__lat"])
    return out, [{"items_geo": plain(v)} for (v,) in geo]


# A record's own fields, refused by `nested: tables` in the record check's words, as by `json`:
# (name, the bad record's properties, the field the error names)
OWN: list[tuple[str, dict[str, Any], str]] = [
    ("null key", {"id": None}, "id"),
    ("key of the wrong type", {"id": "x"}, "id"),
    ("object for array", {"items": {"a": 1}}, "items"),
    ("scalar for object", {QUOTED: 5}, QUOTED),
    ("string for array", {"nums": "1,2"}, "nums"),
]
