"""tap-csv's csv BATCH fields of a typed column (batch._column: the RECORD lines' renderer, its
texts turned into the dialect's fields in the same call, a column rendered as it came not looked
at again for a JSON null) are each value's RECORD text as the record path writes it, with '' for
a null and a date's or date-time's JSON quotes taken off; the replication key keeps its Python
values. And a string column's null rows (lines._null_rows, found without counting them first)
are where its null_values are, however many."""

from __future__ import annotations

import io
import random

import pytest
from tapwell.singer.wire import MessageWriter
from tapwell.taps.csv.batch import _column
from tapwell.taps.csv.lines import BadRow, _null_rows
from tapwell.taps.csv.types import compile_row

INTEGER = {"type": ["null", "integer"]}
NUMBER = {"type": ["null", "number"]}
DECIMAL = {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10}
BOOLEAN = {"type": ["null", "boolean"]}
DATE = {"type": ["null", "string"], "format": "date"}
DATETIME = {"type": ["null", "string"], "format": "date-time"}
TEXTS = {
    "integer": (INTEGER, ["1", "22", "0", "-7", "007", "\\N", "", "null", str(2**70), " 3"]),
    "number": (
        NUMBER,
        [
            "0",
            "-0",
            "7",
            "1047.29",
            "0.10",
            "-0.0",
            "0.0000001",
            "0.000001",
            "1E+5",
            "1e-7",
            ".5",
            "5.",
            "+5",
            "007",
            "1_000",
            "NaN",
            "\\N",
            "",
            "null",
            "12345678901234567890.1",
        ],
    ),  # fmt: skip
    "decimal": (DECIMAL, ["1047.29", "0.10", "-0.01", "12", "9999999999.99", "1E+2", "\\N", ""]),
    "boolean": (BOOLEAN, ["true", "false", "T", "no", "1", "\\N", "", "null"]),
    "date": (DATE, ["2024-02-29", "0001-01-01", "2024-2-3", "20240203", "\\N", ""]),
    "date-time": (
        DATETIME,
        [
            "2020-01-01T00:00:31.000007+00:00",
            "2020-01-01T02:00:32.000007+02:00",
            "2024-01-01 10:00:00",
            "2024-01-01T00:00:00Z",
            "2024-06-01T12:00:00.000000+00:00",
            "2024-06-01T12:00:00-00:00",
            "2024-01-01T00:00:00.000001-08:00",
            "\\N",
            "",
        ],
    ),
}


def reference(prop: dict, nulls: frozenset[str], texts: list[str]) -> list[str] | int:
    """Each value's JSON text as the record path writes it (types.compile_row, MessageWriter),
    or the index of the first value it refuses (as test_tap_csv_fast_checks' reference)."""
    convert = compile_row([(0, "c", prop)], nulls, set())
    out = []
    for i, text in enumerate(texts):
        try:
            record = convert([text])
        except ValueError:
            return i
        buf = io.BytesIO()
        MessageWriter(buf).write_record("s", record)
        out.append(buf.getvalue().decode().split('"c":', 1)[1].rsplit("}}", 1)[0])
    return out


def expected(prop: dict, nulls: frozenset[str], col: list[str]) -> list[str] | int:
    """Each value's field: its RECORD text (the record path's writer), '' for null, a date's
    JSON quotes off; or the index of the first value the record path refuses."""
    texts = reference(prop, nulls, col)
    if isinstance(texts, int):
        return texts
    dated = prop.get("format") in ("date", "date-time")
    return ["" if t == "null" else t[1:-1] if dated else t for t in texts]


def fields(
    prop: dict, nulls: frozenset[str], col: list[str], native: bool = False
) -> list[str] | int:
    try:
        out, quoted, _ = _column(prop, nulls=nulls | {""}, native=native)(list(col))
    except BadRow as bad:
        return bad.index
    assert quoted is False  # a typed field has no character the dialect quotes
    return list(out)


@pytest.mark.parametrize("kind", sorted(TEXTS))
@pytest.mark.parametrize("nulls", [frozenset(["\\N"]), frozenset(["null"])], ids=["N", "null"])
def test_a_typed_columns_csv_fields_are_the_record_texts(kind: str, nulls: frozenset[str]) -> None:
    prop, values = TEXTS[kind]
    rng = random.Random(kind)
    plain = [v for v in values if isinstance(expected(prop, nulls, [v] * 3), list)]
    plain = [v for v in plain if v not in nulls and v != ""]
    for _ in range(400):
        pool = plain if rng.random() < 0.5 else values  # half the columns rendered as they came
        col = rng.choices(pool, k=rng.randint(1, 12))
        assert fields(prop, nulls, col) == expected(prop, nulls, col), col


def test_the_replication_keys_values_are_kept() -> None:
    col = ["3", "\\N", "12", ""]
    out, _, natives = _column(INTEGER, nulls=frozenset(["\\N", ""]), native=True)(col)
    assert list(out) == ["3", "", "12", ""]
    assert natives == [3, None, 12, None]
    col = ["5", "7"]
    out, _, natives = _column(INTEGER, nulls=frozenset(["\\N", ""]), native=True)(col)
    assert list(out) == col and natives == [5, 7]


@pytest.mark.parametrize("seed", range(6))
def test_a_string_columns_null_rows_however_many(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        nulls = frozenset(rng.choice([["\\N"], ["\\N", ""], ["NA"]]))
        share = rng.random()  # from none to every row: either side of a quarter
        col = [
            rng.choice(sorted(nulls))
            if rng.random() < share
            else rng.choice(["a", "\\", "N", "x\\N"])
            for _ in range(rng.randint(1, 60))
        ]
        want = [i for i, t in enumerate(col) if t in nulls]
        assert _null_rows(col, "".join(col), nulls) == want, col
