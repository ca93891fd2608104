"""A tiny run of the benchmark harness (1,000 rows) on the real MariaDB and PostgreSQL, so
`make bench` cannot rot: tapwell's own tap-mysql | target-postgres must load the rows exactly
(the harness's checksum), and the harness must report a wrong load as a failure.
No timing is asserted here; figures belong to `make bench`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = 1000
STAGE_FIELDS = {
    "ok",
    "rows",
    "wall_s",
    "rows_per_s",
    "cpu_s",
    "processes",
    "correct",
    "check",
    "error",
    "vs_raw",
    "vs_pipelinewise",
    "server_cpu_s",
}
PROCESS_FIELDS = {"name", "exit_code", "cpu_s", "user_s", "sys_s", "max_rss_mb"}


def run_bench(
    tools: str, mysql_db: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    results = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--rows",
            str(ROWS),
            "--tools",
            tools,
            "--strict",
            "--source-db",
            mysql_db["database"],
            "--dest-prefix",
            pg_db["dbname"],
            "--data-dir",
            str(tmp_path / "data"),
            "--results-dir",
            str(results),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    latest = results / "latest.json"
    assert latest.exists(), f"no results written; stderr:\n{proc.stderr[-3000:]}"
    return proc, json.loads(latest.read_text())


def assert_document(doc: dict[str, Any], tool: str, stages: set[str]) -> dict[str, Any]:
    assert doc["rows"] == ROWS and doc["variant"] == "orders" and doc["columns"] == 9
    assert doc["machine"]["cores"] >= 1 and len(doc["machine"]["loadavg_before"]) == 3
    checksum = doc["source"]["checksum"]
    assert checksum["rows"] == ROWS
    assert checksum["null_notes"] == ROWS // 10  # every id ending in 3
    assert checksum["max_updated_at"] and checksum["sum_amount"]
    (result,) = doc["tools"]
    assert result["tool"] == tool
    assert result["status"] == "ok", result["note"]
    assert result["versions"]
    assert set(result["stages"]) == stages
    for name, stage in result["stages"].items():
        assert set(stage) >= STAGE_FIELDS, name
        assert stage["ok"] and stage["correct"] is True, (name, stage["check"], stage["error"])
        assert stage["rows"] == ROWS and stage["rows_per_s"] > 0
        assert stage["processes"] and all(set(p) >= PROCESS_FIELDS for p in stage["processes"])
        assert all(p["exit_code"] == 0 and p["max_rss_mb"] > 0 for p in stage["processes"])
    return result


@pytest.mark.services
def test_tapwell_loads_the_bench_table_exactly(mysql_db, pg_db, tmp_path):
    proc, doc = run_bench("tapwell", mysql_db, pg_db, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    result = assert_document(doc, "tapwell", {"full", "tap", "target"})
    assert [p["name"] for p in result["stages"]["full"]["processes"]] == [
        "tap-mysql",
        "target-postgres",
    ]
    assert result["stages"]["full"]["check"] == "matches source"
    assert "tapwell" in proc.stdout and "results:" in proc.stdout


@pytest.mark.services
def test_raw_limit_loads_the_bench_table_exactly(mysql_db, pg_db, tmp_path):
    proc, doc = run_bench("raw", mysql_db, pg_db, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    result = assert_document(doc, "raw", {"full", "tap", "target"})
    assert result["stages"]["full"]["vs_raw"] == 1.0


@pytest.mark.services
def test_a_wrong_load_is_a_failure_not_a_figure(mysql_db, pg_db, tmp_path, monkeypatch, capsys):
    import bench.tools
    from bench.__main__ import main

    real = bench.tools.copy_text_select
    # The raw limit, made to lose every hundredth row: fast, and wrong.
    monkeypatch.setattr(
        bench.tools,
        "copy_text_select",
        lambda variant: real(variant).replace("ORDER BY", "WHERE `id` % 100 <> 0 ORDER BY"),
    )
    code = main(
        [
            "--rows",
            str(ROWS),
            "--tools",
            "raw",
            "--stages",
            "full",
            "--source-db",
            mysql_db["database"],
            "--dest-prefix",
            pg_db["dbname"],
            "--data-dir",
            str(tmp_path / "data"),
            "--results-dir",
            str(tmp_path / "results"),
        ]
    )
    assert code == 1
    doc = json.loads((tmp_path / "results" / "latest.json").read_text())
    (result,) = doc["tools"]
    full = result["stages"]["full"]
    assert result["status"] == "wrong"
    assert full["correct"] is False and full["rows_per_s"] is None
    assert full["rows"] == ROWS - ROWS // 100
    assert f"rows: source {ROWS}, destination {ROWS - ROWS // 100}" in full["check"]
    assert "WRONG: rows: source 1000" in capsys.readouterr().out
