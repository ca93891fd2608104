"""target-duckdb deletes by key with `=`, not IS NOT DISTINCT FROM: DuckDB then pushes the
batch's min/max key into the table's scan. That is exact only because a key is never NULL: a
null key property is refused on every lane (RECORD lines read in SQL, records checked in
Python, nested tables, csv BATCH files), and a replayed key replaces its row exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

PROPS: dict[str, Any] = {
    "id": {"type": ["null", "integer"]},
    "note": {"type": ["null", "string"]},
    "tags": {"type": ["null", "array"], "items": {"type": ["null", "string"]}},
}


def data(*records: dict[str, Any]) -> bytes:
    return lines(schema("s", PROPS), *(record("s", r) for r in records), state({"n": 1}))


@pytest.mark.parametrize(
    "config",
    [{}, {"raw_lines": False}, {"nested": "tables"}],
    ids=["sql-lines", "python", "nested"],
)
def test_a_replayed_key_replaces_its_row_and_a_null_key_is_refused(
    bin_path: Path, tmp_path: Path, config: dict[str, Any]
) -> None:
    db = tmp_path / "w.duckdb"
    first = data({"id": 1, "note": "a", "tags": ["x"]}, {"id": 2, "note": "\U0001f600"})
    assert run_target(bin_path, tmp_path, first, db, **config).returncode == 0
    again = data({"id": 1, "note": "", "tags": [None]}, {"id": 2, "note": None})
    assert run_target(bin_path, tmp_path, again, db, **config).returncode == 0
    assert query(db, "SELECT id, note FROM s ORDER BY id") == [(1, ""), (2, None)]
    if config.get("nested"):
        assert query(db, "SELECT count(*) FROM s__tags") == [(1,)]
    bad = run_target(bin_path, tmp_path, data({"id": None, "note": "n"}), db, **config)
    assert bad.returncode == 65
    assert error_line(bad).startswith(
        "target-duckdb: error: stdin line 2, stream 's', field 'id': key property is missing "
        "or null"
    )
    assert query(db, "SELECT count(*) FROM s") == [(2,)]


def test_a_csv_file_with_an_empty_key_is_refused(bin_path: Path, tmp_path: Path) -> None:
    db, spool = tmp_path / "w.duckdb", tmp_path / "spool"
    spool.mkdir()
    f = spool / "s-1.csv"
    f.write_text('"id","note"\n"1","a"\n,"b"\n', encoding="utf-8")
    batch = {
        "type": "BATCH",
        "stream": "s",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": [f"file://{f}"],
    }
    props = {k: v for k, v in PROPS.items() if k != "tags"}
    msgs = lines(schema("s", props), batch, state({"n": 1}))
    done = run_target(bin_path, tmp_path, msgs, db, batch_root=str(spool))
    assert done.returncode == 65, done.stderr.decode()
    assert "row 3, column id" in error_line(done)
    assert json.loads(done.stdout or b"null") is None
