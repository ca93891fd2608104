"""target-duckdb's csv BATCH lane accepts a number at once when its text is the value's own text
as DuckDB writes it ('-12', '1047.29' in a DECIMAL(12,2)), and checks any other spelling as
before (files._as_its_text): over texts of every kind, each integer and DECIMAL column accepts
exactly what its checks alone accept, and a file of such texts loads every value exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.duckdb_target import error_line, lines, query, run_target, schema, state
from tapwell.targets.duckdb import files
from tapwell.targets.duckdb.ddl import literal

FAST = "(CASE WHEN {t} = CAST({v} AS VARCHAR) THEN true ELSE ("
TEXTS = [
    "0", "-0", "7", "007", "-12", "+5", " 12", "12 ", "1.5", "1.0", "1e3", "1E+3", "0x10", "0b11",
    "1_000", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "170141183460469231731687303715884105727", "1047.29", "1047.290", "1047.3", "-0.00", "0.00",
    "-0.01", ".5", "5.", "1047.295", "9999999999.99", "10000000000.00", "99999999999999999999",
    "1e-2", "12.5e-1", "inf", "nan", "", "abc", "1,5", "١٢",
]  # fmt: skip
COLUMNS = [  # (sqltype, property, whether the value's own text is told at once)
    ("BIGINT", {"type": ["null", "integer"]}, True),
    ("INTEGER", {"type": ["null", "integer"]}, True),
    ("HUGEINT", {"type": ["null", "integer"]}, True),
    ("DECIMAL(12,2)", {"type": ["null", "number"], "x-precision": 12, "x-scale": 2}, True),
    ("DECIMAL(18,4)", {"type": ["null", "number"]}, True),
    ("DECIMAL(20,0)", {"type": ["null", "integer"]}, True),
    ("DECIMAL(20,1)", {"type": ["null", "integer"]}, False),  # '5.0' is no whole number
    ("DECIMAL(38,2)", {"type": ["null", "number"], "multipleOf": 0.01}, False),  # digits counted
    ("DECIMAL(12,4)", {"type": ["null", "number"], "multipleOf": 0.01}, False),
]


def _accepts(con: duckdb.DuckDBPyConnection, c: files.Column, good: str, text: str) -> bool:
    t = literal(text)
    v = f"({files._at(c.value, t)})"
    row = con.execute(f"SELECT coalesce(({files._at(good, t, v)}), false)").fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize(("sqltype", "prop", "fast"), COLUMNS)
def test_the_own_text_is_told_at_once_and_accepts_exactly_what_the_checks_accept(
    sqltype: str, prop: dict[str, Any], fast: bool
) -> None:
    c = files.column("x", "x", sqltype, prop, key=False)
    assert c.good.startswith(FAST) == fast
    inner = c.good[len(FAST) : -len(") END)")] if fast else c.good
    con = duckdb.connect()
    try:
        accepted = {x for x in TEXTS if _accepts(con, c, c.good, x)}
        assert accepted == {x for x in TEXTS if _accepts(con, c, inner, x)}
    finally:
        con.close()
    assert "1047.29" in accepted or sqltype != "DECIMAL(12,2)"  # not vacuous
    assert "007" in accepted or not sqltype.endswith("INT")  # another spelling still checked


def test_a_file_of_own_and_other_spellings_loads_every_value_exactly(
    bin_path: Path, tmp_path: Path
) -> None:
    f = tmp_path / "f.csv"
    rows = [("1", "7", "1047.29"), ("2", "007", "1047.3"), ("3", "-0", "-0.00"), ("4", "", "1e-2")]
    f.write_text("id,n,a\n" + "".join(",".join(r) + "\n" for r in rows))
    props = {
        "id": {"type": "integer"},
        "n": {"type": ["null", "integer"]},
        "a": {"type": ["null", "number"], "x-precision": 12, "x-scale": 2},
    }
    batch = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": [f.as_uri()],
    }
    db = tmp_path / "w.duckdb"
    done = run_target(bin_path, tmp_path, lines(schema("t", props, ["id"]), batch, state({"n": 1})))
    assert done.returncode == 0, error_line(done)
    assert query(db, "SELECT id, n, a FROM t ORDER BY id") == [
        (1, 7, Decimal("1047.29")),
        (2, 7, Decimal("1047.30")),
        (3, 0, Decimal("0.00")),
        (4, None, Decimal("0.01")),
    ]
