"""kill -9 of the tap, the target or the runner in the middle of a fast-lane load (tap-mysql's
csv BATCH files into target-postgres through `tapwell run`, fast_lane: on, 2,000-row files),
then the retry or the next run: the saved state is never ahead of the destination, the
destination equals the source row by row (nothing lost, nothing twice), and the run's spool is
gone once a run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.mysql_tap import sql

pytestmark = [pytest.mark.slow, pytest.mark.services]

BIN = Path(sys.executable).parent
ROWS = 40_000


def _project(root: Path, my: dict[str, Any], pg: dict[str, Any]) -> None:
    tap = {k: my[k] for k in ("host", "port", "user", "password")}
    raw = {
        "integrations": {
            "lane": {
                "tap": {
                    "name": "tap-mysql",
                    "config": {**tap, "filter_dbs": my["database"]},
                },
                "target": {
                    "name": "target-postgres",
                    "config": {
                        **{k: pg[k] for k in ("host", "port", "user", "dbname")},
                        "default_target_schema": "lane",
                    },
                },
                "select": ["*"],
                "fast_lane": "on",
                "fast_lane_batch_size": 2_000,
                "retry": {"attempts": 5, "backoff_seconds": 0},
            }
        }
    }
    (root / "tapwell.yml").write_text(yaml.safe_dump(raw, sort_keys=False))


def _tapwell(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "tapwell"), "--project", str(root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _rows(pg: dict[str, Any]) -> list[tuple[int, str | None]]:
    import psycopg2

    conn = psycopg2.connect(**{k: pg[k] for k in ("host", "port", "user", "dbname")})
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('lane.big') IS NOT NULL")
            if not cur.fetchone()[0]:
                return []
            cur.execute("SELECT id, pad FROM lane.big ORDER BY id")
            return [(int(i), p) for i, p in cur.fetchall()]
    finally:
        conn.close()


def _saved(root: Path) -> int:
    import json

    try:
        state = json.loads((root / "state" / "lane.json").read_text())
    except (FileNotFoundError, ValueError):
        return 0
    marks = next(iter(state.get("bookmarks", {}).values()), {})
    return int((marks.get("last_pk_fetched") or {}).get("id", 0))


def _children(pid: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            found["tap" if b"tap-mysql" in cmd else "target"] = int(child)
    return found


SOURCE = [
    (i, None if i % 7 == 0 else ("" if i % 11 == 0 else f'p"{i},\n')) for i in range(1, ROWS + 1)
]


@pytest.mark.parametrize("victim", ["tap", "target", "runner"])
def test_kill_mid_lane_loses_and_duplicates_nothing(
    mysql_db: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path, victim: str
) -> None:
    sql(
        mysql_db,
        "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(40))",
        "INSERT INTO big SELECT seq, IF(seq % 7 = 0, NULL, IF(seq % 11 = 0, '',"
        f" CONCAT('p\"', seq, ',\\n'))) FROM seq_1_to_{ROWS}",
    )
    _project(tmp_path, mysql_db, pg_db)
    assert _tapwell(tmp_path, "discover", "lane").returncode == 0
    run = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(tmp_path), "run", "lane", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _saved(tmp_path) < 6_000 or len(_children(run.pid)) < 2:
        assert run.poll() is None, "the load finished before the kill point"
        assert time.monotonic() < deadline, "no checkpoint at 6,000 rows"
        time.sleep(0.01)
    pid = run.pid if victim == "runner" else _children(run.pid)[victim]
    os.kill(pid, signal.SIGKILL)
    if victim == "runner":
        run.wait(timeout=60)
        saved = _saved(tmp_path)
        assert _rows(pg_db)[:saved] == SOURCE[:saved]  # the state is never ahead
        time.sleep(1)  # the orphaned tap and target end once their pipes close
        done = _tapwell(tmp_path, "run", "lane")
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()  # retried from the saved state
    assert _rows(pg_db) == SOURCE
    again = _tapwell(tmp_path, "run", "lane")  # a rerun: nothing changes
    assert again.returncode == 0, again.stdout + again.stderr
    assert _rows(pg_db) == SOURCE
    spool = tmp_path / "state" / "spool"
    leftover = [p for p in spool.iterdir()] if spool.exists() else []
    # a killed runner cannot remove its own spool; every completed run removed its own
    assert len(leftover) <= (1 if victim == "runner" else 0), leftover
