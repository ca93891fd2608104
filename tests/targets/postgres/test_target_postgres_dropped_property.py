"""A property a re-sent SCHEMA no longer names keeps its column, and an upserted row of a key the
table holds keeps the value stored there; a new key gets NULL (README "Schema changes", as in
target-duckdb: tests/targets/duckdb/test_target_duckdb_dropped_property.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import query, record, run_target, schema, state

pytestmark = pytest.mark.services

BOTH = {
    "id": {"type": "integer"},
    "v": {"type": ["null", "string"]},
    "gone": {"type": ["null", "string"]},
}
LESS = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}


def test_a_dropped_property_keeps_its_stored_value(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    msgs = [
        schema("s", BOTH, ["id"]),
        record("s", {"id": 1, "v": "a", "gone": "g1"}),
        record("s", {"id": 3, "v": "c", "gone": "g3"}),
        state({"n": 1}),
        schema("s", LESS, ["id"]),
        record("s", {"id": 1, "v": "a2"}),
        record("s", {"id": 2, "v": "b"}),
        state({"n": 2}),
    ]
    done = run_target(pg_db, msgs, tmp_path)
    assert done.returncode == 0, done.stderr
    rows = "SELECT id, v, gone FROM s ORDER BY id"
    assert query(pg_db, rows) == [(1, "a2", "g1"), (2, "b", None), (3, "c", "g3")]
    again = [
        schema("s", LESS, ["id"]),
        record("s", {"id": 3, "v": "c2"}),
        record("s", {"id": 1, "v": "a3"}),
        record("s", {"id": 3, "v": "c3"}),
        state({"n": 3}),
    ]
    done = run_target(pg_db, again, tmp_path)
    assert done.returncode == 0, done.stderr
    assert query(pg_db, rows) == [(1, "a3", "g1"), (2, "b", None), (3, "c3", "g3")]


def test_a_property_the_schema_names_and_a_record_leaves_out_is_null(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    msgs = [
        schema("s", BOTH, ["id"]),
        record("s", {"id": 1, "v": "a", "gone": "g1"}),
        state({"n": 1}),
        record("s", {"id": 1, "v": "a2"}),
        state({"n": 2}),
    ]
    done = run_target(pg_db, msgs, tmp_path)
    assert done.returncode == 0, done.stderr
    assert query(pg_db, "SELECT id, v, gone FROM s") == [(1, "a2", None)]
