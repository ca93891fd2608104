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


KEYED = {
    "id": {"type": "integer"},
    "k": {"type": "integer"},
    "v": {"type": ["null", "string"]},
    "gone": {"type": ["null", "string"]},
}
KEYED_LESS = {k: v for k, v in KEYED.items() if k != "gone"}


def _csv_batch(tmp_path: Path, name: str, text: str) -> dict[str, Any]:
    path = tmp_path / name
    path.write_text(text)
    encoding = {"format": "csv", "compression": "none"}
    return {"type": "BATCH", "stream": "s", "encoding": encoding, "manifest": [path.as_uri()]}


@pytest.mark.parametrize("lane", ["records", "csv"])
@pytest.mark.parametrize("made", ["keys changed", "no primary key"])
def test_the_delete_then_insert_merge_keeps_a_dropped_propertys_value(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, lane: str, made: str
) -> None:
    """A table whose primary key is not the stream's key properties (its keys changed, or a
    table made beforehand without one) is merged by DELETE + INSERT, which set a column a
    re-sent SCHEMA dropped to NULL; now it keeps the stored value, as ON CONFLICT does."""
    if made == "no primary key":
        query(pg_db, "CREATE TABLE s (id bigint, k bigint, v text, gone text)")
    keys = ["id"] if made == "no primary key" else ["id", "k"]
    first = [
        schema("s", KEYED, ["id"]),
        record("s", {"id": 1, "k": 1, "v": "a", "gone": "g1"}),
        record("s", {"id": 2, "k": 1, "v": "b", "gone": "g2"}),
        state({"n": 1}),
    ]
    done = run_target({**pg_db, "batch_keep_files": True}, first, tmp_path)
    assert done.returncode == 0, done.stderr
    if lane == "records":
        body = [record("s", {"id": 1, "k": 1, "v": "a2"}), record("s", {"id": 3, "k": 1, "v": "c"})]
    else:
        body = [_csv_batch(tmp_path, "f.csv", 'id,k,v\n"1","1","a2"\n"3","1","c"\n')]
    again = [schema("s", KEYED_LESS, keys), *body, state({"n": 2})]
    done = run_target({**pg_db, "batch_keep_files": True}, again, tmp_path)
    assert done.returncode == 0, done.stderr
    rows = "SELECT id, k, v, gone FROM s ORDER BY id"
    assert query(pg_db, rows) == [(1, 1, "a2", "g1"), (2, 1, "b", "g2"), (3, 1, "c", None)]
