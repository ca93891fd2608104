"""`_sdc_unchanged` (tap-postgres LOG_BASED records that leave out unchanged TOASTed values) with
`nested: tables`: a left-out document would empty its child tables, so both SQL targets refuse
such a stream at its SCHEMA, in one line that says the fix, before anything is loaded; the same
stream loads with the fix (`nested_streams: {"docs": "json"}`) and keeps the stored document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import query as query_duckdb
from helpers.duckdb_target import run_target as run_duckdb
from helpers.pg_target import query, run_target

pytestmark = pytest.mark.services

PROPS = {
    "id": {"type": "integer"},
    "note": {"type": ["null", "string"]},
    "doc": {"type": ["null", "object"], "properties": {"tags": {"type": "array"}}},
    "_sdc_unchanged": {"type": ["null", "array"], "items": {"type": "string"}},
}
MESSAGES: list[dict[str, Any]] = [
    {
        "type": "SCHEMA",
        "stream": "docs",
        "schema": {"type": "object", "properties": PROPS},
        "key_properties": ["id"],
    },
    {"type": "RECORD", "stream": "docs", "record": {"id": 1, "note": "a", "doc": {"tags": ["x"]}}},
    {"type": "STATE", "value": {"n": 1}},
    {
        "type": "RECORD",
        "stream": "docs",
        "record": {"id": 1, "note": "b", "_sdc_unchanged": ["doc"]},
    },
    {"type": "STATE", "value": {"n": 2}},
]
REFUSED = (
    "stream 'docs': its records may leave out unchanged values (_sdc_unchanged, from tap-postgres "
    "LOG_BASED), which nested: tables cannot keep in child tables; load it with "
    'nested_streams: {"docs": "json"}'
)


def test_target_postgres_refuses_it_at_the_schema(pg_db: dict[str, Any], tmp_path: Path) -> None:
    done = run_target({**pg_db, "nested": "tables"}, MESSAGES, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"target-postgres: error: {REFUSED}"]
    assert done.stdout == "" and query(pg_db, "SELECT to_regclass('docs')") == [(None,)]
    fixed = {**pg_db, "nested": "tables", "nested_streams": {"docs": "json"}}
    done = run_target(fixed, MESSAGES, tmp_path)
    assert done.returncode == 0, done.stderr
    assert query(pg_db, "SELECT id, note, doc::text FROM docs") == [(1, "b", '{"tags": ["x"]}')]


def test_target_duckdb_refuses_it_at_the_schema(tmp_path: Path, bin_path: Path) -> None:
    data = b"".join(json.dumps(m).encode() + b"\n" for m in MESSAGES)
    done = run_duckdb(bin_path, tmp_path, data, nested="tables")
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode().strip().splitlines() == [f"target-duckdb: error: {REFUSED}"]
    assert done.stdout == b""
    fixed = run_duckdb(bin_path, tmp_path, data, nested="tables", nested_streams={"docs": "json"})
    assert fixed.returncode == 0, fixed.stderr
    rows = query_duckdb(tmp_path / "w.duckdb", "SELECT id, note, doc::VARCHAR FROM docs")
    assert rows == [(1, "b", '{"tags":["x"]}')]
