"""kill -9 of tap-postgres, target-postgres or the runner (`tapwell run`), once during the initial
copy and once while changes stream, on a throwaway wal_level=logical cluster. After each kill the
slot never confirmed past the saved state, the (retried or next) run completes, and the
destination equals the source row by row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.pg_logical import source_database, throwaway_server
from helpers.pg_server import ThrowawayPostgres
from helpers.pg_tap import discover, select, sql
from tapwell.taps.postgres.pgoutput import parse_lsn

pytestmark = [pytest.mark.services, pytest.mark.slow]
BIN = Path(sys.executable).parent
ROWS = 60_000


@pytest.fixture(scope="module")
def server() -> Iterator[ThrowawayPostgres]:
    yield from throwaway_server()


class Project:
    def __init__(self, root: Path, src: dict[str, Any], dst: dict[str, Any]) -> None:
        self.root, self.src, self.dst = root, src, dst
        keys = ("host", "port", "user", "dbname")
        raw = {
            "integrations": {
                "pgc": {
                    "tap": {
                        "name": "tap-postgres",
                        "command": [str(BIN / "tap-postgres")],
                        "config": {**src, "state_every": 500, "batch_rows": 500},
                    },
                    "target": {
                        "name": "target-postgres",
                        "config": {
                            **{k: dst[k] for k in keys},
                            "default_target_schema": "chaos",
                            "hard_delete": True,
                            "batch_size_rows": 1_000,
                        },
                    },  # fmt: skip
                    "retry": {"attempts": 5, "backoff_seconds": 0},
                    # the initial copy takes the fast lane (on by default): files of 1,000 rows,
                    # each with its STATE, so there is a state mid-copy to kill after (with
                    # 100,000-row files the copy was one file and the run ended first)
                    "fast_lane_batch_size": 1_000,
                }
            }
        }
        (root / "tapwell.yml").write_text(yaml.safe_dump(raw, sort_keys=False))

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(BIN / "tapwell"), "--project", str(self.root), "run", "pgc", "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def run(self) -> None:
        proc = self.start()
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()

    def saved(self) -> dict[str, Any]:
        try:
            return json.loads((self.root / "state" / "pgc.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def saved_lsn(self) -> int:
        return int(((self.saved().get("bookmarks") or {}).get("src-items") or {}).get("lsn") or 0)

    def confirmed(self) -> int:
        rows = sql(self.src, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots")
        return parse_lsn(rows[0][0]) if rows and rows[0][0] else 0

    def same(self) -> None:
        want = sql(self.src, "SELECT id, value FROM src.items ORDER BY id")
        got = sql(self.dst, "SELECT id, value FROM chaos.items ORDER BY id")
        assert [(int(i), v) for i, v in got] == [(int(i), v) for i, v in want]


def _children(pid: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            found["tap" if b"tap-postgres" in cmd else "target"] = int(child)
    return found


def _kill_when(p: Project, run: subprocess.Popen[bytes], victim: str, ready: Any) -> None:
    """SIGKILL `victim` once `ready()` holds and both children run; meanwhile the slot must
    never be confirmed past the saved state."""
    deadline = time.monotonic() + 120
    while not ready() or len(_children(run.pid)) < 2:
        assert run.poll() is None, "the run finished before the kill point"
        assert time.monotonic() < deadline, "no kill point"
        lsn = p.saved_lsn()
        if lsn:
            assert p.confirmed() <= lsn
        time.sleep(0.02)
    pid = run.pid if victim == "runner" else _children(run.pid)[victim]
    os.kill(pid, signal.SIGKILL)
    if victim == "runner":
        run.wait(timeout=60)
        for child in _children_of_session(p):
            os.kill(child, signal.SIGKILL)
        assert p.saved_lsn() == 0 or p.confirmed() <= p.saved_lsn()
        p.run()
    else:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()  # retried from the saved state
    assert p.confirmed() <= p.saved_lsn()


def _children_of_session(p: Project) -> list[int]:
    """A killed runner's tap and target die with it (dies_with_runner); any still alive after a
    moment is ours to end, found by this project's own config path."""
    time.sleep(1)
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(p.root).encode() in cmd and b"tapwell" not in cmd.split(b"\0")[0]:
                out.append(int(entry.name))
    return out


@pytest.mark.parametrize("victim", ["tap", "target", "runner"])
def test_kill_during_copy_and_streaming(
    server: ThrowawayPostgres, pg_db: dict[str, Any], tmp_path: Path, victim: str
) -> None:
    with source_database(server, f"chaos_{victim}") as src:
        sql(
            src,
            "CREATE TABLE src.items (id int PRIMARY KEY, value text)",
            f"INSERT INTO src.items SELECT g, 'v' || g FROM generate_series(1, {ROWS}) g",
        )
        (tmp_path / "catalogs").mkdir()
        cat = select(discover(tmp_path, src), "items", method="LOG_BASED")
        (tmp_path / "catalogs" / "pgc.json").write_text(json.dumps(cat))
        p = Project(tmp_path, src, pg_db)

        # 1. during the initial copy: after a saved state with a copied key
        run = p.start()
        _kill_when(
            p,
            run,
            victim,
            lambda: p.saved() and "initial_full_table_complete" not in json.dumps(p.saved()),
        )
        p.same()

        # 2. while changes stream: after a saved state past the copy's position
        base = p.saved_lsn()
        for i in range(0, ROWS, 1_000):
            sql(
                src,
                f"UPDATE src.items SET value = value || '+' WHERE id BETWEEN {i + 1} AND {i + 500}",
                f"DELETE FROM src.items WHERE id = {i + 999}",
                f"INSERT INTO src.items VALUES ({ROWS + i + 1}, 'new')",
            )
        run = p.start()
        _kill_when(p, run, victim, lambda: p.saved_lsn() > base)
        p.run()  # whatever the killed run left: one more run reaches the end
        p.same()
        assert p.confirmed() <= p.saved_lsn()
