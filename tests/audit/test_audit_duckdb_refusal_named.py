"""target-duckdb names the error DuckDB gave, whichever way the batch loaded (audit, 2026-12-06,
issue 21). A statement that fails inside the load's transaction aborts it, and DuckDB then
refuses every later statement with `TransactionContext Error: Current transaction is aborted`.
Before, the clean-up in a `finally` (dropping the staged rows, unregistering the Arrow table)
ran such a statement: on RECORD lines read in SQL (the default) its error replaced the real one
as a traceback; on the Python path and the csv BATCH lane the one line said only "transaction is
aborted". Met with a table the user made with a CHECK constraint the rows break."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

BIN = Path(sys.executable).parent
SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "schema": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "n": {"type": ["null", "integer"]}},
    },
    "key_properties": ["id"],
}


def checked_table(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (id BIGINT, n BIGINT CHECK (n < 100))")
    con.close()


def assert_named(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    assert "CHECK constraint failed" in errors[0], errors[0]
    assert "transaction is aborted" not in errors[0], errors[0]
    assert '"p": 2' not in proc.stdout and '"p":2' not in proc.stdout  # no STATE past it


@pytest.mark.parametrize("raw_lines", [True, False], ids=["lines-in-sql", "python"])
def test_a_record_batch_the_table_refuses(tmp_path: Path, raw_lines: bool) -> None:
    db = tmp_path / "w.duckdb"
    checked_table(db)
    config = tmp_path / "t.json"
    config.write_text(json.dumps({"path": str(db), "raw_lines": raw_lines}))
    messages: list[dict[str, Any]] = [
        SCHEMA,
        {"type": "RECORD", "stream": "t", "record": {"id": 1, "n": 5}},
        {"type": "RECORD", "stream": "t", "record": {"id": 2, "n": 500}},
        {"type": "STATE", "value": {"p": 2}},
    ]
    proc = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(config)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_named(proc)


def test_a_csv_batch_file_the_table_refuses(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    checked_table(db)
    spool = tmp_path / "spool"
    spool.mkdir()
    (tmp_path / "t.csv").write_text("id,n\n1,5\n2,500\n")
    lane = {"encoding": {"format": "csv"}, "storage": {"root": f"file://{spool}"}}
    stream = {"name": "t", "path": "t.csv", "key_properties": ["id"]}
    tap_config = {"base_dir": str(tmp_path), "streams": [stream], "batch_config": lane}
    (tmp_path / "tap.json").write_text(json.dumps(tap_config))
    (tmp_path / "t.json").write_text(json.dumps({"path": str(db), "batch_root": str(spool)}))
    tap = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(tmp_path / "tap.json")],
        capture_output=True,
        timeout=60,
        check=True,
    )
    proc = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(tmp_path / "t.json")],
        input=tap.stdout.decode(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_named(proc)
