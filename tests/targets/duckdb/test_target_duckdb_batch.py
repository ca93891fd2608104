"""target-duckdb's fast lane: tap-mysql's csv BATCH files read by read_csv give the same rows as
the RECORD lane, row by row; files are gone after the commit; a bad value is one line naming the
file, the row and the column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.batch_lane import EDGE_DDL, EDGE_ROWS, batch_config, pipe
from helpers.duckdb_target import query, run_target
from helpers.mysql_tap import discover, select, sql

pytestmark = pytest.mark.services


def _rows(db: Path) -> list[Any]:
    cols = [
        r[0]
        for r in query(
            db,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'edge' ORDER BY ordinal_position",
        )
    ]
    cols = [c for c in cols if c != "_sdc_table_version"]
    return query(db, f"SELECT {', '.join(cols)} FROM edge ORDER BY id")


@pytest.mark.parametrize("fmt,comp", [("csv", "none"), ("csv", "gzip"), ("jsonl", "none")])
def test_lane_rows_equal_record_lane(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, fmt: str, comp: str
) -> None:
    sql(mysql_db, EDGE_DDL, *EDGE_ROWS)
    cat = select(discover(bin_path, tmp_path, mysql_db), "edge")
    rec_db, lane_db = tmp_path / "rec.duckdb", tmp_path / "lane.duckdb"
    plain, code = pipe(
        bin_path, tmp_path, mysql_db, cat, "target-duckdb", {"path": str(rec_db)}, "r"
    )
    assert code == 0 and plain.returncode == 0, plain.stderr.decode()
    spool = tmp_path / "spool"
    spool.mkdir()
    tap_cfg = {**mysql_db, "batch_config": batch_config(spool, fmt, comp)}
    lane, code = pipe(
        bin_path,
        tmp_path,
        tap_cfg,
        cat,
        "target-duckdb",
        {"path": str(lane_db), "batch_root": str(spool)},
        "l",
    )
    assert code == 0 and lane.returncode == 0, lane.stderr.decode()
    want = _rows(rec_db)
    assert len(want) == len(EDGE_ROWS)
    assert _rows(lane_db) == want
    assert list(spool.iterdir()) == []
    final = json.loads(lane.stdout.splitlines()[-1])
    assert next(iter(final["bookmarks"].values()))["initial_full_table_complete"] is True


def test_bad_value_names_file_row_and_column(tmp_path: Path, bin_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    f = spool / "f.csv"
    f.write_bytes(b'id,v\n"1","a"\n"x","b"\n')
    msgs = [
        {
            "type": "SCHEMA",
            "stream": "s",
            "key_properties": ["id"],
            "schema": {
                "properties": {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
            },
        },
        {
            "type": "BATCH",
            "stream": "s",
            "encoding": {"format": "csv", "compression": "none"},
            "manifest": [f"file://{f}"],
        },
        {"type": "STATE", "value": {"done": 1}},
    ]
    data = b"".join(json.dumps(m).encode() + b"\n" for m in msgs)
    done = run_target(bin_path, tmp_path, data, batch_root=str(spool))
    err = done.stderr.decode()
    assert done.returncode == 65, err
    assert "f.csv row 3, column id" in err and "line 2" in err and "Traceback" not in err
    assert not done.stdout and f.exists()  # nothing committed, the file kept for a retry
