"""A tiny run of the PostgreSQL -> PostgreSQL series (1,000 rows, 500 changes; the raw limit and
tapwell), so `make bench` cannot rot: every stage loads exactly (the series' checksum) and the
results document has its fields. No timing is asserted; figures belong to `make bench`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.pg_server import ThrowawayPostgres

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[2]


def test_pg_series_smoke(pg_db: dict[str, object], tmp_path: Path) -> None:
    if ThrowawayPostgres.missing():
        pytest.skip(str(ThrowawayPostgres.missing()))
    done = subprocess.run(
        [sys.executable, "-m", "bench.pg_series", "--rows", "1000", "--changes", "500",
         "--tools", "raw,tapwell", "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = tmp_path.glob("pg-series-*.json")
    doc = json.loads(path.read_text())
    stages = {(r["tool"], r["stage"]): r for r in doc["results"]}
    assert set(stages) == {
        ("raw", "full"),
        ("raw", "cdc"),  # the server's own pgoutput decoding, counted: no tap, no RSS
        ("tapwell", "full"),
        ("tapwell", "cdc-tap"),
        ("tapwell", "cdc"),
    }
    for (tool, stage), r in stages.items():
        assert r["status"] == "ok", r
        assert r["rows"] in (1000, 500) and r["wall_s"] > 0, r
        assert r["tap_rss_mb"] > 0 or (tool, stage) == ("raw", "cdc"), r
