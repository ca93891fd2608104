"""A bookmark keeps every digit on every hop: the target's STATE echo, the target's state row,
and both runner state stores (a DECIMAL(65,30) replication key, an integer past 64 bits)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
from tapwell.runner.statestore import FileStateStore
from tapwell.runner.statestore_pg import PostgresStateStore
from tapwell.singer.wire import loads

DIGITS = "12345678901234567890123456789012345.123456789012345678901234567890"
BIG_INT = "18446744073709551616123"
STATE_LINE = f'{{"bookmarks":{{"t":{{"replication_key_value":{DIGITS},"max_pk":{BIG_INT}}}}}}}'
STATE = loads(STATE_LINE)


def test_state_value_is_exact_after_parsing():
    assert STATE["bookmarks"]["t"]["replication_key_value"] == Decimal(DIGITS)
    assert STATE["bookmarks"]["t"]["max_pk"] == int(BIG_INT)


def test_targets_echo_long_numbers_exactly(bin_path: Path, tmp_path: Path):
    data = f'{{"type":"STATE","value":{STATE_LINE}}}\n'.encode()
    for target, config in (
        ("target-jsonl", {"destination_path": str(tmp_path / "out")}),
        ("target-duckdb", {"path": str(tmp_path / "w.duckdb")}),
    ):
        cfg = tmp_path / f"{target}.json"
        cfg.write_text(json.dumps(config))
        result = subprocess.run(
            [str(bin_path / target), "--config", str(cfg)], input=data, capture_output=True
        )
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.decode() == STATE_LINE + "\n"
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        (row,) = con.execute("SELECT value::VARCHAR FROM main._tapwell_state").fetchall()
    finally:
        con.close()
    assert loads(row[0]) == STATE


def test_file_state_store_round_trips_exactly(tmp_path: Path):
    store = FileStateStore(tmp_path)
    store.put("x", STATE, record=True)
    assert store.get("x") == STATE
    assert DIGITS in store.path("x").read_text()
    assert store.state_history("x")[-1][2] == STATE


def test_postgres_state_store_round_trips_exactly(pg_db):
    dsn = " ".join(f"{k}={v}" for k, v in pg_db.items() if k in ("host", "port", "user", "dbname"))
    store = PostgresStateStore(dsn)
    try:
        store.put("x", STATE, record=True)
        assert store.get("x") == STATE
        assert store.state_history("x")[0][2] == STATE
    finally:
        store.close()


def test_runner_saves_the_targets_state_exactly(proj, tmp_path: Path):
    """tapwell run reads the target's STATE line and saves it: no float on the way."""
    tap = tmp_path / "exact_tap.py"
    tap.write_text(
        "import sys\n"
        'sys.stdout.write(\'{"type":"SCHEMA","stream":"t","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}\\n\')\n'
        'sys.stdout.write(\'{"type":"RECORD","stream":"t","record":{"id":1}}\\n\')\n'
        f'sys.stdout.write(\'{{"type":"STATE","value":{STATE_LINE}}}\\n\')\n'
    )
    proj.write(
        {
            "integrations": {
                "exact": {
                    "tap": {
                        "name": "exact-tap",
                        "command": [sys.executable, str(tap)],
                        "config": {},
                    },
                    "target": {
                        "name": "target-jsonl",
                        "config": {"destination_path": str(tmp_path / "out")},
                    },
                }
            }
        }
    )
    result = proj.run("exact")
    assert result.ok, result.log
    saved = (proj.root / "state" / "exact.json").read_text()
    assert DIGITS in saved and BIG_INT in saved
    assert loads(saved) == STATE
