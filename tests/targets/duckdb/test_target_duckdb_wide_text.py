"""A decimal wider than DuckDB's 38 digits is kept as text (VARCHAR), written as PostgreSQL's
NUMERIC(p,s) and DuckDB's own DECIMAL(p,s) print one: positional, never an exponent, at the
declared scale (types.decimal_text; decimal_text_sql in SQL). Before, each lane wrote its own
text: Python's str(Decimal) (`-1E-30`, `0E-30`), a float's (`100000.0`), a csv field as it is
(`1E5`, `1.5`), a DOUBLE's (`1e+22`) when a schema change made the column text. Every lane is
compared row by row with the exact text a user should read."""

from __future__ import annotations

import gzip
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.duckdb_target import (
    column_types,
    error_line,
    lines,
    query,
    record,
    run_target,
    schema,
    state,
)

# DECIMAL(65,30), as PipelineWise's tap-mysql and tapwell's taps declare it
WIDE = {"type": ["number", "null"], "multipleOf": Decimal("1E-30"), "maximum": Decimal("1E35")}
THIRTY = "0" * 30
# (as the source spells it, as the column holds it)
VALUES = [
    ("-0.000000000000000000000000000001", "-0." + "0" * 29 + "1"),
    ("0.000000000000000000000000000000", "0." + THIRTY),
    ("-0", "0." + THIRTY),
    ("0", "0." + THIRTY),
    ("1.5", "1.5" + "0" * 29),
    ("1E5", "100000." + THIRTY),
    ("12", "12." + THIRTY),
    ("-123.45", "-123.45" + "0" * 28),
    ("9" * 35 + "." + "9" * 30, "9" * 35 + "." + "9" * 30),  # 65 digits
    ("-" + "9" * 35 + "." + "9" * 30, "-" + "9" * 35 + "." + "9" * 30),
    ("2.500000000000000000000000000000000000000", "2.5" + "0" * 29),  # 39 places, all zeros
    ("0.1", "0.1" + "0" * 29),
    ("1e-30", "0." + "0" * 29 + "1"),
    ("null", None),
]
WANT = [(i, text) for i, (_, text) in enumerate(VALUES)]


def record_lines(props: dict[str, Any], values: list[tuple[str, Any]]) -> bytes:
    """A SCHEMA (id, d) and a RECORD per value, each number as the source spells it."""
    head = lines(schema("t", props))
    body = b"".join(
        b'{"type":"RECORD","stream":"t","record":{"id":%d,"d":%s}}\n' % (i, v.encode())
        for i, (v, _) in enumerate(values)
    )
    return head + body + lines(state({"n": len(values)}))


def batch_file(
    tmp_path: Path, props: dict[str, Any], fmt: str, values: list[tuple[str, Any]] = VALUES
) -> bytes:
    """The same values in one csv or jsonl BATCH file."""
    if fmt == "csv":
        body = "id,d\n" + "".join(
            f"{i},{'' if v == 'null' else v}\n" for i, (v, _) in enumerate(values)
        )
        f = tmp_path / "f.csv"
        f.write_text(body, encoding="utf-8")
    else:
        body = "".join(f'{{"id":{i},"d":{v}}}\n' for i, (v, _) in enumerate(values))
        f = tmp_path / "f.jsonl.gz"
        f.write_bytes(gzip.compress(body.encode()))
    compression = "none" if fmt == "csv" else "gzip"
    batch = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": fmt, "compression": compression},
        "manifest": [f.as_uri()],
    }
    return lines(schema("t", props), batch, state({"n": 1}))


def load(bin_path: Path, tmp_path: Path, data: bytes, db: Path, **config: Any) -> None:
    result = run_target(bin_path, tmp_path, data, db, **config)
    assert result.returncode == 0, error_line(result)


@pytest.mark.parametrize("lane", ["sql", "python", "csv", "jsonl"])
def test_a_wide_decimal_is_its_digits_at_the_declared_scale(bin_path, tmp_path, lane):
    """RECORD lines (raw_lines on and off), csv and jsonl BATCH files; twice (the upsert merges
    each row again: the same text)."""
    db = tmp_path / "w.duckdb"
    for _ in range(2):
        if lane in ("csv", "jsonl"):
            load(
                bin_path,
                tmp_path,
                batch_file(tmp_path, {"id": {"type": "integer"}, "d": WIDE}, lane),
                db,
            )
        else:
            data = record_lines({"id": {"type": "integer"}, "d": WIDE}, VALUES)
            load(bin_path, tmp_path, data, db, raw_lines=lane == "sql")
        assert column_types(db, "t")["d"] == "VARCHAR"
        assert query(db, "SELECT id, d FROM t ORDER BY id") == WANT


def test_x_scale_declares_the_scale_too(bin_path, tmp_path):
    """x-precision 50, x-scale 4 (DECIMAL(50,4)): four places."""
    props = {
        "id": {"type": "integer"},
        "d": {"type": ["number", "null"], "x-precision": 50, "x-scale": 4},
    }
    values = [("1E5", "100000.0000"), ("-0", "0.0000"), ("1.5", "1.5000"), ("-2.0001", "-2.0001")]
    db = tmp_path / "w.duckdb"
    load(bin_path, tmp_path, record_lines(props, values), db)
    assert query(db, "SELECT d FROM t ORDER BY id") == [(text,) for _, text in values]


def test_nested_tables_write_the_same_text(bin_path, tmp_path):
    """nested: tables: a wide decimal in an object (a parent column) and in an array's elements
    (a child table)."""
    props = {
        "id": {"type": "integer"},
        "o": {"type": "object", "properties": {"d": WIDE}},
        "items": {"type": "array", "items": {"type": "object", "properties": {"d": WIDE}}},
    }
    head = lines(schema("t", props))
    body = b"".join(
        b'{"type":"RECORD","stream":"t","record":{"id":%d,"o":{"d":%s},"items":[{"d":%s}]}}\n'
        % (i, v.encode(), v.encode())
        for i, (v, _) in enumerate(VALUES)
    )
    db = tmp_path / "w.duckdb"
    for _ in range(2):
        load(bin_path, tmp_path, head + body, db, nested="tables")
        assert query(db, "SELECT id, o__d FROM t ORDER BY id") == WANT
        assert query(db, "SELECT _sdc_source_key_id, d FROM t__items ORDER BY 1") == WANT


def test_a_column_widened_to_text_keeps_its_digits(bin_path, tmp_path):
    """A DECIMAL(38,2), a HUGEINT and a plain number's DOUBLE, then a SCHEMA declaring each
    DECIMAL(65,30): the stored values become their digits at scale 30 (DuckDB's cast wrote
    `1e+22` for the DOUBLE, `1.50` for the DECIMAL)."""
    first = {
        "id": {"type": "integer"},
        "a": {"type": ["number", "null"], "x-precision": 38, "x-scale": 2},
        "b": {"type": ["number", "null"], "x-precision": 30, "x-scale": 0},
        "c": {"type": ["number", "null"]},
    }
    rows = [
        record("t", {"id": 1, "a": Decimal("1.50"), "b": 10**29, "c": 1e22}),
        record("t", {"id": 2, "a": Decimal("-0.01"), "b": -5, "c": -0.0}),
        record("t", {"id": 3, "a": Decimal("0"), "b": 0, "c": 1.5e-7}),
    ]
    db = tmp_path / "w.duckdb"
    load(bin_path, tmp_path, lines(schema("t", first), *rows), db)
    assert column_types(db, "t") == {
        "id": "BIGINT",
        "a": "DECIMAL(38,2)",
        "b": "HUGEINT",
        "c": "DOUBLE",
    }
    wide = {"id": {"type": "integer"}, "a": WIDE, "b": WIDE, "c": WIDE}
    later = record("t", {"id": 4, "a": Decimal("1E-30"), "b": Decimal("1E5"), "c": None})
    load(bin_path, tmp_path, lines(schema("t", wide), later), db)
    assert column_types(db, "t") == {"id": "BIGINT", "a": "VARCHAR", "b": "VARCHAR", "c": "VARCHAR"}
    assert query(db, "SELECT * FROM t ORDER BY id") == [
        (1, "1.50" + "0" * 28, "1" + "0" * 29 + "." + THIRTY, "1" + "0" * 22 + "." + THIRTY),
        (2, "-0.01" + "0" * 28, "-5." + THIRTY, "0." + THIRTY),  # -0.0 unsigned at a scale
        (3, "0." + THIRTY, "0." + THIRTY, "0.00000015" + "0" * 22),
        (4, "0." + "0" * 29 + "1", "100000." + THIRTY, None),
    ]


# A plain number (no precision) made text by a value past 38 digits: each value's digits as its
# source spelled them, never an exponent (the lines' `1E5` was stored `1E5`, 1e308 `1e308`).
PLAIN = [
    ("123456789012345678901234567890.123456789012345678901234567890",) * 2,
    ("1E5", "100000"),
    ("1e308", "1" + "0" * 308),
    ("5e-324", "0." + "0" * 323 + "5"),
    ("-0", "-0"),
    ("1.50", "1.50"),
    ("-1.5E-3", "-0.0015"),
    ("null", None),
]


@pytest.mark.parametrize("lane", ["sql", "python", "csv"])
def test_a_plain_number_made_text_is_positional(bin_path, tmp_path, lane):
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}, "d": {"type": ["number", "null"]}}
    for _ in range(2):
        if lane == "csv":
            body = "id,d\n" + "".join(
                f"{i},{'' if v == 'null' else v}\n" for i, (v, _) in enumerate(PLAIN)
            )
            f = tmp_path / "f.csv"
            f.write_text(body, encoding="utf-8")
            batch = {
                "type": "BATCH",
                "stream": "t",
                "encoding": {"format": "csv", "compression": "none"},
                "manifest": [f.as_uri()],
            }
            load(bin_path, tmp_path, lines(schema("t", props), batch, state({"n": 1})), db)
        else:
            data = record_lines(props, PLAIN)
            load(bin_path, tmp_path, data, db, raw_lines=lane == "sql", batch_size_rows=1)
        assert query(db, "SELECT id, d FROM t ORDER BY id") == [
            (i, t) for i, (_, t) in enumerate(PLAIN)
        ]


def test_a_plain_number_with_a_step_made_text_is_at_its_scale(bin_path, tmp_path):
    """multipleOf 1e-30 and no maximum (PipelineWise's DECIMAL(65,30)): a plain number whose
    column starts DOUBLE; made text, every value (the stored doubles too) has 30 places."""
    props = {
        "id": {"type": "integer"},
        "d": {"type": ["number", "null"], "multipleOf": Decimal("1E-30")},
    }
    db = tmp_path / "w.duckdb"
    load(bin_path, tmp_path, record_lines(props, [("1.5", ""), ("-0", "")]), db)
    assert column_types(db, "t")["d"] == "DOUBLE"
    wide = "9" * 35 + "." + "9" * 30
    load(
        bin_path,
        tmp_path,
        record_lines(props, [("1.5", ""), ("-0", ""), (wide, ""), ("1E5", "")]),
        db,
    )
    assert query(db, "SELECT d FROM t ORDER BY id") == [
        ("1.5" + "0" * 29,),
        ("0." + THIRTY,),
        (wide,),
        ("100000." + THIRTY,),
    ]


def spellings(count: int) -> list[str]:
    """Number texts as JSON, csv files and DuckDB's casts spell them: signs, leading zeros,
    exponents either side of the digits, zeros."""
    texts = ["0", "-0", "-0.0", "0E+5", "0E-30", "1e+22", "1.5e-07", "007", "1.50E1", "-1E-30"]
    pick = random.Random(7)
    for _ in range(count):
        whole = "".join(pick.choice("0123456789") for _ in range(pick.randint(1, 9)))
        places = "".join(pick.choice("0123456789") for _ in range(pick.randint(0, 9)))
        power = pick.choice(["", f"e{pick.randint(-45, 45)}", f"E+{pick.randint(0, 45)}"])
        texts.append(pick.choice(["", "-"]) + whole + ("." + places if places else "") + power)
    return texts


@pytest.mark.parametrize("scale", [None, 0, 2, 30])
def test_the_sql_expression_writes_what_the_python_function_writes(scale):
    """decimal_text_sql (csv files, ALTER) and decimal_text (records) agree on every spelling."""
    from tapwell.targets.duckdb.types import decimal_text, decimal_text_sql

    texts = spellings(2000)
    con = duckdb.connect()
    got = con.execute(
        f"SELECT t, {decimal_text_sql('t', scale)} FROM (SELECT unnest(?::VARCHAR[]) AS t)", [texts]
    ).fetchall()
    assert [g for _, g in got] == [decimal_text(t, scale) for t, _ in got]
    assert decimal_text(Decimal("-1E-30"), 30) == "-0." + "0" * 29 + "1"
    assert (
        decimal_text(Decimal("1.05"), 1) == "1.05"
    )  # a digit past the scale is kept, never rounded


def test_a_digit_past_the_declared_scale_is_never_rounded_away(bin_path, tmp_path):
    """A DECIMAL(38,35) widened by a SCHEMA declaring DECIMAL(65,30): its stored values keep
    their 35 places (PostgreSQL would round them to 30); zeros past 30 are left out."""
    narrow = {
        "id": {"type": "integer"},
        "d": {"type": ["number", "null"], "x-precision": 38, "x-scale": 35},
    }
    rows = [
        record("t", {"id": 1, "d": Decimal("0.00000000000000000000000000000000001")}),
        record("t", {"id": 2, "d": Decimal("-1.5")}),
    ]
    db = tmp_path / "w.duckdb"
    load(bin_path, tmp_path, lines(schema("t", narrow), *rows), db)
    load(bin_path, tmp_path, lines(schema("t", {"id": {"type": "integer"}, "d": WIDE})), db)
    assert column_types(db, "t")["d"] == "VARCHAR"
    assert query(db, "SELECT d FROM t ORDER BY id") == [
        ("0." + "0" * 34 + "1",),
        ("-1.5" + "0" * 29,),
    ]


@pytest.mark.parametrize("lane", ["sql", "python", "csv", "jsonl"])
def test_a_value_off_the_declared_step_is_refused_on_every_lane(bin_path, tmp_path, lane):
    """A 31st digit after the point in a DECIMAL(65,30) column (kept as text): the RECORD lanes
    refused it, the csv lane stored it as it was (exit 0). Now every lane refuses it in one
    line naming the field and the step; nothing is stored, no state is echoed."""
    off = [("1.0000000000000000000000000000001", None)]
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}, "d": WIDE}
    if lane in ("csv", "jsonl"):
        data = batch_file(tmp_path, props, lane, off)
    else:
        data = record_lines(props, off)
    result = run_target(bin_path, tmp_path, data, db, raw_lines=lane == "sql")
    assert result.returncode != 0
    line = error_line(result)
    assert "1e-30" in line and "d" in line, line
    assert not result.stdout.strip()


@pytest.mark.parametrize("lane", ["sql", "python", "csv", "jsonl"])
def test_a_fraction_in_a_wide_integer_column_is_refused_on_every_lane(bin_path, tmp_path, lane):
    """An integer property wider than HUGEINT is kept as text: 1.5 there was stored as '1.5' by
    the csv lane (exit 0) and refused by the others; now refused by all, while 1.0, 1E3 and -0
    load as the whole numbers they are, the same text on every lane."""
    props = {"id": {"type": "integer"}, "d": {"type": ["integer", "null"], "maximum": 1e45}}
    db = tmp_path / "w.duckdb"
    good = [("1.0", "1"), ("1E3", "1000"), ("-0", "0"), ("1" + "0" * 41, "1" + "0" * 41)]
    for values, ok in ((good, True), ([("1.5", None)], False)):
        if lane in ("csv", "jsonl"):
            data = batch_file(tmp_path, props, lane, values)
        else:
            data = record_lines(props, values)
        result = run_target(bin_path, tmp_path, data, db, raw_lines=lane == "sql")
        if ok:
            assert result.returncode == 0, error_line(result)
            assert query(db, "SELECT id, d FROM t ORDER BY id") == [
                (i, text) for i, (_, text) in enumerate(values)
            ]
        else:
            assert result.returncode != 0
            assert "1.5" in error_line(result)
