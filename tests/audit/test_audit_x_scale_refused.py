"""A number with `x-scale` s and no `multipleOf` (how our taps write a DECIMAL(p,s) past
singer-sdk's 28 digits, and how tap-csv declares one) keeps at most s digits after the point:
a value with more is refused with one line, as with multipleOf 10^-s. Before (found 2026-12-06),
target-duckdb (both ways of reading RECORD lines) and target-postgres stored 1.239 in a
DECIMAL(38,2) column as 1.24 without a word: the cast rounded it."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.pg_target import query, run_target

BIN = Path(sys.executable).parent
WIDE = "123456789012345678901234567890123.45"  # 35 digits: read as a Decimal, not a float
SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "a": {"type": ["null", "number"], "x-precision": 38, "x-scale": 2},
        },
    },
    "key_properties": ["id"],
}
GOOD = ["1.23", "1.2", "12", "1.230000", "-0.01", WIDE, "null"]


def lines(values: list[str], then: str | None = None) -> str:
    out = [json.dumps(SCHEMA)]
    out += [
        f'{{"type":"RECORD","stream":"t","record":{{"id":{i},"a":{v}}}}}'
        for i, v in enumerate(values)
    ]
    out.append('{"type":"STATE","value":{"p":1}}')
    if then is not None:
        out.append(f'{{"type":"RECORD","stream":"t","record":{{"id":99,"a":{then}}}}}')
        out.append('{"type":"STATE","value":{"p":2}}')
    return "\n".join(out) + "\n"


def expected(values: list[str]) -> list[tuple[int, Decimal | None]]:
    return [(i, None if v == "null" else Decimal(v)) for i, v in enumerate(values)]


def refused(proc: subprocess.CompletedProcess[str], value: str) -> None:
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    assert f"field 'a': {value} has more than 2 digits after the point" in errors[0], errors[0]
    assert '"p": 2' not in proc.stdout and '"p":2' not in proc.stdout  # no STATE past it


def run_duckdb(tmp_path: Path, raw_lines: bool, text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "t.json"
    config.write_text(json.dumps({"path": str(tmp_path / "w.duckdb"), "raw_lines": raw_lines}))
    return subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(config)],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("raw_lines", [True, False], ids=["lines-in-sql", "python"])
@pytest.mark.parametrize("bad", ["1.239", WIDE + "1"])
def test_target_duckdb_refuses_digits_past_x_scale(
    tmp_path: Path, raw_lines: bool, bad: str
) -> None:
    proc = run_duckdb(tmp_path, raw_lines, lines(GOOD, then=bad))
    refused(proc, bad)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert con.sql("SELECT id, a FROM main.t ORDER BY id").fetchall() == expected(GOOD)
    assert con.sql(
        "SELECT data_type FROM information_schema.columns WHERE column_name = 'a'"
    ).fetchall() == [("DECIMAL(38,2)",)]


def test_target_postgres_refuses_digits_past_x_scale(pg_db: dict[str, Any], tmp_path: Path) -> None:
    proc = run_target(pg_db, lines(GOOD, then="1.239"), tmp_path)
    refused(proc, "1.239")
    assert query(pg_db, "SELECT id, a FROM t ORDER BY id") == expected(GOOD)
