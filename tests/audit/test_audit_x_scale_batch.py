"""The BATCH lanes hold a number with x-scale s (or multipleOf 10^-s) to at most s digits after
the point, as RECORD lines are (test_audit_x_scale_refused.py): 1.239 for an x-scale 2 column is
refused with one line naming the file, row and column, never rounded. Before (found 2026-12-06),
target-postgres's COPY of a csv file stored it as 1.24, and target-duckdb's read_csv did for a
DECIMAL(38,2) column (its check compared the value with the text cast to the same type)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.pg_target import query, run_target

pytestmark = pytest.mark.services

BIN = Path(sys.executable).parent
WIDE = "123456789012345678901234567890123.45"  # 35 digits
GOOD = ["1.23", "1.230000", "1230e-3", "12", "-0.01", "0.000", WIDE, "1.55E1", ""]
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


def _value(text: str) -> Decimal | None:
    return None if text == "" else Decimal(text)  # compared by value: 12 == 12.00


def _file(tmp_path: Path, name: str, values: list[str], fmt: str, first: int = 0) -> Path:
    if fmt == "csv":
        path = tmp_path / f"{name}.csv"
        rows = "".join(f"{first + i},{v}\n" for i, v in enumerate(values))
        path.write_text("id,a\n" + rows)
    else:  # singer-sdk's jsonl, gzipped
        path = tmp_path / f"{name}.jsonl.gz"
        recs = [f'{{"id":{first + i},"a":{v or "null"}}}\n' for i, v in enumerate(values)]
        path.write_bytes(gzip.compress("".join(recs).encode()))
    return path


def _messages(files: list[Path], fmt: str) -> str:
    out = [json.dumps(SCHEMA)]
    for n, f in enumerate(files, 1):
        encoding = {"format": fmt, "compression": "none" if fmt == "csv" else "gzip"}
        out.append(
            json.dumps(
                {"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]}
            )
        )
        out.append(json.dumps({"type": "STATE", "value": {"p": n}}))
    return "\n".join(out) + "\n"


def _refused(proc: subprocess.CompletedProcess[str], bad: Path, value: str, row: int) -> None:
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    if bad.suffix == ".csv":
        assert f"BATCH file {bad} row {row}, column a: '{value}' is not " in errors[0] or (
            f"BATCH file {bad} row {row}, column a: {value} has more than" in errors[0]
        ), errors[0]
    else:  # read record by record: the RECORD lane's line (the value as read)
        assert f"field 'a': {Decimal(value)} has more than" in errors[0], errors[0]
    assert "2 digits after the point" in errors[0], errors[0]
    assert '"p": 2' not in proc.stdout and '"p":2' not in proc.stdout  # no STATE past it


def _cases(tmp_path: Path, fmt: str, bad: str) -> tuple[str, Path]:
    good = _file(tmp_path, "good", GOOD, fmt)
    wrong = _file(tmp_path, "bad", ["4.56", bad], fmt, first=100)
    return _messages([good, wrong], fmt), wrong


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("bad", ["1.239", "1239e-4", WIDE + "1"])
def test_target_duckdb_batch_refuses_digits_past_x_scale(
    tmp_path: Path, fmt: str, bad: str
) -> None:
    text, wrong = _cases(tmp_path, fmt, bad)
    config = tmp_path / "t.json"
    db = tmp_path / "w.duckdb"
    config.write_text(json.dumps({"path": str(db), "batch_keep_files": True}))
    proc = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(config)],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
    _refused(proc, wrong, bad, 3)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.sql("SELECT id, a FROM main.t ORDER BY id").fetchall()
    assert rows == [(i, _value(v)) for i, v in enumerate(GOOD)]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("staged", [False, True], ids=["direct", "staged"])
@pytest.mark.parametrize("bad", ["1.239", "1239e-4", WIDE + "1"])
def test_target_postgres_batch_refuses_digits_past_x_scale(
    pg_db: dict[str, Any], tmp_path: Path, fmt: str, staged: bool, bad: str
) -> None:
    """`direct`: the file COPYed straight into the new table; `staged`: through the staging
    table and the merge (keys already in the table)."""
    text, wrong = _cases(tmp_path, fmt, bad)
    if staged:
        first = _file(tmp_path, "first", ["9.99", "8.88"], fmt, first=100)
        text = _messages([first], fmt) + "\n".join(text.splitlines()[1:]) + "\n"
        text = text.replace('"p": 1}', '"p": 0}', 1)
    proc = run_target({**pg_db, "batch_keep_files": True}, text, tmp_path)
    _refused(proc, wrong, bad, 3)
    rows = query(pg_db, "SELECT id, a FROM t WHERE id < 100 ORDER BY id")
    assert [tuple(r) for r in rows] == [(i, _value(v)) for i, v in enumerate(GOOD)]


# Spellings a csv file may hold beside the plain one (target-postgres looks through the file
# before COPY and reads such a row field by field): negative, quoted as tap_batch quotes every
# value, an exponent with a fraction, and zeros then a digit past the scale.
SPELLED = ["-1.239", '"1.239"', "12.39E-1", "1.2300001"]


@pytest.mark.parametrize("staged", [False, True], ids=["direct", "staged"])
@pytest.mark.parametrize("bad", SPELLED)
def test_target_postgres_csv_refuses_digits_past_x_scale_however_spelled(
    pg_db: dict[str, Any], tmp_path: Path, staged: bool, bad: str
) -> None:
    text, wrong = _cases(tmp_path, "csv", bad)
    if staged:
        first = _file(tmp_path, "first", ["9.99", "8.88"], "csv", first=100)
        text = _messages([first], "csv") + "\n".join(text.splitlines()[1:]) + "\n"
        text = text.replace('"p": 1}', '"p": 0}', 1)
    proc = run_target({**pg_db, "batch_keep_files": True}, text, tmp_path)
    _refused(proc, wrong, bad.strip('"'), 3)
    rows = query(pg_db, "SELECT id, a FROM t WHERE id < 100 ORDER BY id")
    assert [tuple(r) for r in rows] == [(i, _value(v)) for i, v in enumerate(GOOD)]
