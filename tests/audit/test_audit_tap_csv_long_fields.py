"""A field longer than 128 KiB is valid CSV (audit, 2026-12-06, issue 21): a long text or JSON
document. Before, tap-csv refused it as `malformed CSV (field larger than field limit (131072))`
with the fix for a stray quote, exit 65: Python's csv module's default bound."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

BIN = Path(sys.executable).parent
TEXT = 'long 😀 "quoted"\nline, ' * 20_000  # 400,000 characters


def load(tmp_path: Path, lane: bool) -> subprocess.CompletedProcess[str]:
    field = '"' + TEXT.replace('"', '""') + '"'
    (tmp_path / "a.csv").write_text(f"id,v\n1,{field}\n2,short\n", encoding="utf-8")
    spool = tmp_path / "spool"
    spool.mkdir()
    config: dict[str, Any] = {
        "base_dir": str(tmp_path),
        "streams": [{"name": "s", "path": "a.csv", "key_properties": ["id"]}],
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
    return subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(tmp_path / "t.json")],
        input=tap.stdout,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("lane", [False, True], ids=["records", "csv-lane"])
def test_a_long_field_loads_exactly(tmp_path: Path, lane: bool) -> None:
    proc = load(tmp_path, lane)
    assert proc.returncode == 0, proc.stderr
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT id, v FROM s ORDER BY id").fetchall()
    finally:
        con.close()
    assert rows == [(1, TEXT), (2, "short")]
