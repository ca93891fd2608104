"""Arrays: each column's `items` is its element's JSON Schema (nested once per declared
dimension), and each value arrives exactly (decimals with their digits, timestamps as UTC
instants, NaN/infinity/out-of-range elements as null), from the snapshot here, loaded row by row
into target-postgres and target-duckdb. The WAL path gives the same records
(test_tap_postgres_cdc.py, test_arrays_from_the_wal_as_from_the_snapshot)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_arrays import ARRAYS_DDL, ARRAYS_EXPECTED, ARRAYS_ROWS, DIGITS, exact_record
from helpers.pg_tap import (
    discover,
    exact,
    messages,
    records,
    run_pipe,
    run_tap,
    select,
    sql,
    stream_entry,
)

pytestmark = pytest.mark.services


@pytest.fixture
def src(pg_db: dict[str, Any]) -> dict[str, Any]:
    sql(pg_db, "CREATE SCHEMA src", ARRAYS_DDL, ARRAYS_ROWS)
    return {**pg_db, "filter_schemas": "src"}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": ["null", "array"], "items": items}


def test_items_are_the_element_schema(src: dict[str, Any], tmp_path: Path) -> None:
    p = stream_entry(discover(tmp_path, src), "arrays")["schema"]["properties"]
    int32 = {"type": ["null", "integer"], "minimum": -(2**31), "maximum": 2**31 - 1}
    assert p["ai"] == _array(int32)
    assert p["abi"]["items"]["maximum"] == 2**63 - 1
    assert p["an"] == _array({"type": ["null", "number"]})
    assert p["an3"]["items"] == {
        "type": ["null", "number"], "multipleOf": Decimal("0.001"), "exclusiveMaximum": 10**7,
        "exclusiveMinimum": -(10**7), "x-precision": 10, "x-scale": 3,
    }  # fmt: skip
    assert p["af"] == p["am"] == _array({"type": ["null", "number"]})
    assert p["at"] == _array({"type": ["null", "string"]})
    assert p["atz"] == p["ats"] == _array({"type": ["null", "string"], "format": "date-time"})
    assert p["adt"] == _array({"type": ["null", "string"], "format": "date"})
    assert p["ajb"] == _array({"type": ["null", "object", "array", "string", "number", "boolean"]})
    assert p["a2"] == _array(_array(int32))
    assert p["an2"] == _array(_array({"type": ["null", "number"]}))
    assert p["at2"] == _array(_array({"type": ["null", "string"]}))
    assert p["ab"] == _array({"type": ["null", "boolean"]})
    assert p["au"] == _array({"type": ["null", "string"], "format": "uuid"})
    assert p["ae"] == _array({"type": ["null", "string"], "enum": ["low", "high", None]})
    assert p["cp"] == {"type": ["null", "string"]}
    assert p["acp"] == _array({"type": ["null", "string"]})


def test_values_exact(src: dict[str, Any], tmp_path: Path) -> None:
    proc = run_tap(tmp_path, src, catalog=select(discover(tmp_path, src), "arrays"))
    assert proc.returncode == 0, proc.stderr.decode()
    got = {int(r["id"]): r for r in records(messages(proc.stdout))}
    assert {i: exact_record(r) for i, r in got.items()} == ARRAYS_EXPECTED
    lines = {int(messages(line)[0]["record"]["id"]): line for line in proc.stdout.splitlines() if b'"RECORD"' in line}  # fmt: skip
    for (i, col), text in DIGITS.items():  # the tap's own text, not a re-encoding
        assert f'"{col}":{text}'.encode() in lines[i]


@pytest.mark.parametrize("target", ["target-postgres", "target-duckdb"])
def test_round_trip_row_by_row(src: dict[str, Any], tmp_path: Path, target: str) -> None:
    cat = select(discover(tmp_path, src), "arrays")
    cols = list(ARRAYS_EXPECTED[1])
    if target == "target-postgres":
        tcfg: dict[str, Any] = {**src, "default_target_schema": "dst"}
    else:
        tcfg = {"path": str(tmp_path / "out.duckdb")}
    _, done = run_pipe(tmp_path, src, cat, target, tcfg)
    assert done.returncode == 0, done.stderr.decode()
    if target == "target-postgres":
        texts = sql(src, f"SELECT {', '.join(f'{c}::text' for c in cols)} FROM dst.arrays")
    else:
        import duckdb

        con = duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True)
        exprs = ", ".join(f'"{c}"::VARCHAR' for c in cols)
        texts = con.execute(f"SELECT {exprs} FROM arrays").fetchall()
        con.close()

    def value(col: str, text: str | None) -> Any:
        return text if col == "cp" else exact(text)  # cp: a text column; the others JSON

    got = {int(r[0]): {c: value(c, t) for c, t in zip(cols, r, strict=True)} for r in texts}
    assert sorted(got) == sorted(ARRAYS_EXPECTED)
    diffs = [
        (i, c, want, got[i][c])
        for i, row in ARRAYS_EXPECTED.items()
        for c, want in row.items()
        if got[i][c] != want
    ]
    assert diffs == []
