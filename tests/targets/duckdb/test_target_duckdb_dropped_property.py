"""A property a re-sent SCHEMA no longer names keeps its column, and an upserted row of a key the
table holds keeps the value stored there (as target-postgres's ON CONFLICT keeps it: README
"Schema changes"); a new key gets NULL. Every upsert lane: RECORD lines read in SQL, records
checked in Python, csv BATCH files, and a nested stream's root table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import lines, query, record, run_target, schema, state

BOTH = {
    "id": {"type": "integer"},
    "v": {"type": ["null", "string"]},
    "gone": {"type": ["null", "string"]},
}
LESS = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
LANES = [{}, {"raw_lines": False}, {"nested": "tables"}]


def _rows(db: Path, table: str = "s") -> list[tuple[Any, ...]]:
    return query(db, f"SELECT id, v, gone FROM {table} ORDER BY id")


@pytest.mark.parametrize("config", LANES, ids=["sql", "python", "nested"])
def test_a_dropped_property_keeps_its_stored_value(
    bin_path: Path, tmp_path: Path, config: dict[str, Any]
) -> None:
    db = tmp_path / "w.duckdb"
    data = lines(
        schema("s", BOTH),
        record("s", {"id": 1, "v": "a", "gone": "g1"}),
        record("s", {"id": 3, "v": "c", "gone": "g3"}),
        state({"n": 1}),
        schema("s", LESS),
        record("s", {"id": 1, "v": "a2"}),
        record("s", {"id": 2, "v": "b"}),
        state({"n": 2}),
    )
    done = run_target(bin_path, tmp_path, data, db, **config)
    assert done.returncode == 0, done.stderr.decode()
    assert _rows(db) == [(1, "a2", "g1"), (2, "b", None), (3, "c", "g3")]
    # a later run, the schema without it from the start: a key twice in a batch, the last wins
    again = lines(
        schema("s", LESS),
        record("s", {"id": 3, "v": "c2"}),
        record("s", {"id": 1, "v": "a3"}),
        record("s", {"id": 3, "v": "c3"}),
        state({"n": 3}),
    )
    done = run_target(bin_path, tmp_path, again, db, **config)
    assert done.returncode == 0, done.stderr.decode()
    assert _rows(db) == [(1, "a3", "g1"), (2, "b", None), (3, "c3", "g3")]


def test_a_property_the_schema_names_and_a_record_leaves_out_is_null(
    bin_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    data = lines(
        schema("s", BOTH),
        record("s", {"id": 1, "v": "a", "gone": "g1"}),
        state({"n": 1}),
        record("s", {"id": 1, "v": "a2"}),
        state({"n": 2}),
    )
    done = run_target(bin_path, tmp_path, data, db)
    assert done.returncode == 0, done.stderr.decode()
    assert _rows(db) == [(1, "a2", None)]


def test_append_only_and_overwrite_have_no_stored_row(bin_path: Path, tmp_path: Path) -> None:
    for method, want in (
        ("append-only", [(1, "a", "g1"), (1, "a2", None)]),
        ("overwrite", [(1, "a2", None)]),
    ):
        db = tmp_path / f"{method}.duckdb"
        first = lines(schema("s", BOTH), record("s", {"id": 1, "v": "a", "gone": "g1"}))
        assert run_target(bin_path, tmp_path, first, db, load_method=method).returncode == 0
        second = lines(schema("s", LESS), record("s", {"id": 1, "v": "a2"}))
        done = run_target(bin_path, tmp_path, second, db, load_method=method)
        assert done.returncode == 0, done.stderr.decode()
        assert query(db, "SELECT id, v, gone FROM s ORDER BY v") == want, method


def test_a_csv_batch_file_keeps_the_columns_it_does_not_fill(
    bin_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    first = lines(
        schema("s", BOTH),
        record("s", {"id": 1, "v": "a", "gone": "g1"}),
        record("s", {"id": 3, "v": "c", "gone": "g3"}),
    )
    assert run_target(bin_path, tmp_path, first, db).returncode == 0
    spool = tmp_path / "spool"
    spool.mkdir()
    f = spool / "f.csv"
    f.write_text('"id","v"\n1,a2\n2,b\n1,a3\n', encoding="utf-8")
    msgs = [
        schema("s", LESS),
        {"type": "BATCH", "stream": "s", "encoding": {"format": "csv", "compression": "none"},
         "manifest": [f"file://{f}"]},
        state({"n": 1}),
    ]  # fmt: skip
    data = b"".join(json.dumps(m).encode() + b"\n" for m in msgs)
    done = run_target(bin_path, tmp_path, data, db, batch_root=str(spool))
    assert done.returncode == 0, done.stderr.decode()
    assert _rows(db) == [(1, "a3", "g1"), (2, "b", None), (3, "c", "g3")]


@pytest.mark.parametrize("config", LANES[:2], ids=["sql", "python"])
def test_a_row_sent_again_after_a_soft_delete_is_alive_again(
    bin_path: Path, tmp_path: Path, config: dict[str, Any]
) -> None:
    """`_sdc_deleted_at`, added by ACTIVATE_VERSION's soft delete, is not a property the source
    stopped sending: a row sent again is alive again (NULL), as in target-postgres; the version
    column, which a batch without a version does not fill, keeps its value."""
    db = tmp_path / "w.duckdb"
    data = lines(
        schema("s", LESS),
        record("s", {"id": 1, "v": "a"}, version=1),
        record("s", {"id": 2, "v": "b"}, version=1),
        {"type": "ACTIVATE_VERSION", "stream": "s", "version": 1},
        record("s", {"id": 2, "v": "b2"}, version=2),
        {"type": "ACTIVATE_VERSION", "stream": "s", "version": 2},
        state({"n": 1}),
    )
    done = run_target(bin_path, tmp_path, data, db, **config)
    assert done.returncode == 0, done.stderr.decode()
    deleted = "SELECT id, _sdc_deleted_at IS NOT NULL, _sdc_table_version FROM s ORDER BY id"
    assert query(db, deleted) == [(1, True, 1), (2, False, 2)]
    again = lines(schema("s", LESS), record("s", {"id": 1, "v": "a2"}), state({"n": 2}))
    done = run_target(bin_path, tmp_path, again, db, **config)
    assert done.returncode == 0, done.stderr.decode()
    assert query(db, deleted) == [(1, False, 1), (2, False, 2)]
