"""A row longer than DuckDB's read_csv max_line_size (2 MB) loads on the csv lane as on RECORD
lines (audit, 2026-12-06, issue 21). Before, target-duckdb's csv lane refused the file ('CSV
Error on Line: 2', exit 65) where RECORD lines loaded it. read_csv's max_line_size is raised
only for a file with such a row (it sizes DuckDB's buffers: about 100 MB more for a 200 MB
file at 64 MB), from a bound the target reads off the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

BIN = Path(sys.executable).parent
FIELD = 'long 😀 "quoted"\nline, ' * 150_000  # 3,000,000 characters, more bytes
DOC = {"text": "x" * 2_500_000, "n": 1.50}  # a JSON document past 2 MB


def load(tmp_path: Path, lane: bool) -> subprocess.CompletedProcess[str]:
    quoted = '"' + FIELD.replace('"', '""') + '"'
    doc = '"' + json.dumps(DOC).replace('"', '""') + '"'
    rows = f"id,v,doc\n1,{quoted},{doc}\n2,short,{{}}\n3,{quoted},\n"
    (tmp_path / "a.csv").write_text(rows, encoding="utf-8")
    spool = tmp_path / "spool"
    spool.mkdir()
    config: dict[str, Any] = {
        "base_dir": str(tmp_path),
        "streams": [
            {
                "name": "s",
                "path": "a.csv",
                "key_properties": ["id"],
                "column_types": {"doc": {"type": ["null", "object"]}},
            }
        ],
    }
    if lane:
        config["batch_config"] = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)}}
    (tmp_path / "tap.json").write_text(json.dumps(config))
    target = {"path": str(tmp_path / "w.duckdb"), "batch_root": str(spool)}
    (tmp_path / "t.json").write_text(json.dumps(target))
    tap = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(tmp_path / "tap.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tap.returncode == 0, tap.stderr
    if lane:
        assert '"type":"BATCH"' in tap.stdout
    return subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(tmp_path / "t.json")],
        input=tap.stdout,
        capture_output=True,
        text=True,
        timeout=120,
    )


def table(tmp_path: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute("SELECT id, v, CAST(doc AS VARCHAR) FROM s ORDER BY id").fetchall()
    finally:
        con.close()


def test_a_row_past_max_line_size_loads_on_both_lanes_alike(tmp_path: Path) -> None:
    results = {}
    for lane in (False, True):
        d = tmp_path / ("lane" if lane else "records")
        d.mkdir()
        proc = load(d, lane)
        assert proc.returncode == 0, proc.stderr
        results[lane] = table(d)
    assert results[True] == results[False]
    rows = results[True]
    assert [(r[0], r[1]) for r in rows] == [(1, FIELD), (2, "short"), (3, FIELD)]
    assert json.loads(rows[0][2]) == DOC and rows[1][2] == "{}" and rows[2][2] is None
