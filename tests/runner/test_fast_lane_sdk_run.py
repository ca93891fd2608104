"""`tapwell run` negotiates the fast lane with a singer-sdk tap (from PyPI): its `--about` is
read as JSON (`--about --format json`; `--about` alone prints text, which was read as no
capabilities, so `fast_lane: on` was refused), and its batch_config holds only the keys
singer-sdk's BatchConfig takes (tapwell's max_pending_files stopped it with a TypeError)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.runner_project import Proj

pytest.importorskip("singer_sdk")

SDK_TAP = [sys.executable, str(Path(__file__).resolve().parent / "sdk_connectors.py"), "tap"]


def _rows(path: Path) -> list[Any]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute('SELECT id, name, amount, "at" FROM things ORDER BY id').fetchall()
    finally:
        con.close()


def test_run_takes_the_lane_with_a_singer_sdk_tap(tmp_path: Path) -> None:
    def integration(out: str, lane: str) -> dict[str, Any]:
        return {
            "tap": {"name": "tap-sdk-things", "command": SDK_TAP, "config": {"x": "y"}},
            "target": {"name": "target-duckdb", "config": {"path": out}},
            "select": ["*"],
            "fast_lane": lane,
        }

    proj = Proj(tmp_path).write(
        {
            "version": 1,
            "integrations": {
                "plain": integration("plain.duckdb", "off"),
                "lane": integration("lane.duckdb", "on"),
            },
        }
    )
    for name in ("plain", "lane"):
        assert proj.cli("discover", name).returncode == 0
        done = proj.cli("run", name)
        assert done.returncode == 0, done.stderr
    run_id = done.stderr.rstrip().rsplit("(run ", 1)[1].rstrip(")")
    assert "fast lane: jsonl BATCH files" in proj.cli("logs", run_id).stdout
    want = _rows(tmp_path / "plain.duckdb")
    assert len(want) == 4 and _rows(tmp_path / "lane.duckdb") == want
