"""kill -9 of the tap, the target or the runner at random points of a 100,000-row load, for
target-duckdb and target-postgres, several seeds. After each kill the saved state is never ahead
of the destination (every id it covers is loaded), the run (or, for a killed runner, the next
run, started at once or after the check) completes without ever loading beside the killed one, the destination equals the source row by row, and a rerun changes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.tiers import services_param

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FAKE_TAP = [sys.executable, str(ROOT / "tests" / "runner" / "fake_tap.py")]
ROWS = 100_000
SOURCE = [(i, f"v{i}") for i in range(1, ROWS + 1)]


class Load:
    """A project loading ROWS rows from the fake tap into one target, and its checks."""

    def __init__(self, root: Path, kind: str, db: dict[str, Any] | None) -> None:
        self.root, self.kind, self.db = root, kind, db
        tap = {
            "rows": ROWS,
            "state_every": 2_000,
            "counter": str(root / "attempts.txt"),
            "pids": str(root / "pids"),  # the tap notes any earlier tap still alive: an overlap
        }
        if kind == "duckdb":
            target = {
                "name": "target-duckdb",
                "config": {"path": str(root / "out.duckdb"), "batch_size_rows": 5_000},
            }
        else:
            assert db is not None
            keys = ("host", "port", "user", "dbname")
            target = {
                "name": "target-postgres",
                "config": {
                    **{k: db[k] for k in keys},
                    "default_target_schema": "chaos",
                    "batch_size_rows": 5_000,
                },
            }
        raw = {
            "integrations": {
                "chaos": {
                    "tap": {"name": "fake-tap", "command": FAKE_TAP, "config": tap},
                    "target": target,
                    "retry": {"attempts": 5, "backoff_seconds": 0},
                }
            }
        }
        (root / "tapwell.yml").write_text(yaml.safe_dump(raw, sort_keys=False))

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(BIN / "tapwell"), "--project", str(self.root), "run", "chaos", "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def run(self) -> None:
        done = self.start()
        _, err = done.communicate(timeout=300)
        assert done.returncode == 0, err.decode()

    def saved(self) -> int:
        """The bookmark of the saved state (0 when none)."""
        path = self.root / "state" / "chaos.json"
        try:
            state = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return 0
        return int(state["bookmarks"]["items"]["last_id"])

    def rows(self) -> list[tuple[int, str]]:
        """Every row of the destination, by id (waits for a killed target's file lock)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return self._rows()
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _rows(self) -> list[tuple[int, str]]:
        if self.kind == "duckdb":
            import duckdb

            path = self.root / "out.duckdb"
            if not path.exists():
                return []
            con = duckdb.connect(str(path), read_only=True)
            try:
                found = con.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'items'"
                ).fetchone()
                if not found or not found[0]:
                    return []
                return con.execute("SELECT id, value FROM main.items ORDER BY id").fetchall()
            finally:
                con.close()
        import psycopg2

        assert self.db is not None
        conn = psycopg2.connect(**{k: self.db[k] for k in ("host", "port", "user", "dbname")})
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT to_regclass('chaos.items') IS NOT NULL")
                if not cur.fetchone()[0]:
                    return []
                cur.execute("SELECT id, value FROM chaos.items ORDER BY id")
                return [(int(i), v) for i, v in cur.fetchall()]
        finally:
            conn.close()


def _children(pid: int) -> dict[str, int]:
    """The runner's tap and target, by role."""
    found: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            found["tap" if b"fake_tap.py" in cmd else "target"] = int(child)
    return found


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("victim", ["tap", "target", "runner"])
@pytest.mark.parametrize("kind", ["duckdb", services_param("postgres")])
def test_kill_anywhere_loses_and_duplicates_nothing(tmp_path, request, kind, victim, seed):
    rng = random.Random(f"{kind}-{victim}-{seed}")
    db = request.getfixturevalue("pg_db") if kind == "postgres" else None
    load = Load(tmp_path, kind, db)
    at = rng.randrange(0, int(ROWS * 0.8), 2_000)  # a checkpoint at or after which to kill

    run = load.start()
    deadline = time.monotonic() + 120
    # wait for the checkpoint and for the attempt's own process to kill: the victim, or the
    # target when the runner is (the runner's short-lived children before them, such as
    # `--read-state`, are neither). A tap may end before a late checkpoint: its rows are all
    # written while the target still loads, and the runner's kill needs only the attempt alive.
    alive = {"target" if victim == "runner" else victim}
    while load.saved() < at or not alive <= (kids := _children(run.pid)).keys():
        assert run.poll() is None, "the load finished before the kill point"
        assert time.monotonic() < deadline, f"no checkpoint at {at}"
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.3))  # somewhere between checkpoints
    pid = run.pid if victim == "runner" else kids[victim]
    # a victim may end by itself during that pause (a tap whose rows are all written while the
    # target still loads): the run then goes on, and is checked below all the same
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)

    if victim == "runner":
        run.wait(timeout=60)
        if seed % 2:  # the next run at once, as cron or an operator would
            load.run()
        else:
            saved, rows = load.saved(), load.rows()
            # the saved state is never ahead of the destination: every id it covers is there
            assert rows[:saved] == SOURCE[:saved], f"state at {saved}, {len(rows)} rows loaded"
            load.run()  # the next run completes the load
    else:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()  # the runner retried from the saved state
    assert load.rows() == SOURCE
    assert load.saved() == ROWS
    assert "overlap" not in (tmp_path / "pids").read_text(), "two loads at once"
    load.run()  # a rerun completes exactly and changes nothing
    assert load.rows() == SOURCE and load.saved() == ROWS
