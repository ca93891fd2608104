"""kill -9 of `tapwell run` mid-load, then the next `tapwell run` at once: the connectors die with
the runner, the lock is held until they are gone, the next run never loads beside them and
finishes the load exactly; the killed run is `lost` in the history, not `running` forever."""

from __future__ import annotations

import subprocess
import time

import pytest
from helpers.runner_project import BIN, fake_integration, pg_dsn, wait_for
from helpers.tiers import services_param


def _saved_state(proj, backend, dsn):
    if backend == "file":
        return (proj.root / "state" / "k.json").exists()
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('tapwell.state') IS NOT NULL")
            if not cur.fetchone()[0]:
                return False
            cur.execute("SELECT count(*) FROM tapwell.state WHERE integration = 'k'")
            return cur.fetchone()[0] > 0
    finally:
        conn.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


@pytest.mark.parametrize("backend", ["file", services_param("postgres")])
def test_killed_runner_leaves_nothing_running_beside_the_next_run(
    proj, backend, request, expected_rows
):
    pids = proj.root / "pids"
    raw = {
        "integrations": {"k": fake_integration(proj, rows=100, slow=1.5, pids=str(pids))},
    }
    dsn = None
    if backend == "postgres":
        dsn = pg_dsn(request.getfixturevalue("pg_db"))
        raw["state"] = {"backend": "postgres", "dsn": dsn}
    proj.write(raw)
    for round_ in range(2):  # an operator's bad day happens more than once
        first = subprocess.Popen(
            [str(BIN / "tapwell"), "--project", str(proj.root), "run", "k", "--full-refresh"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(
            lambda: pids.exists() and _saved_state(proj, backend, dsn), "a checkpoint mid-load"
        )
        time.sleep(0.2 * round_)
        first.kill()  # kill -9 of the runner mid-load
        first.wait()
        killed_tap = int(pids.read_text().split()[-1])

        second = proj.cli("run", "k")
        assert second.returncode == 0, second.stderr
        assert not _alive(killed_tap)
        assert "overlap" not in pids.read_text(), "two loads of one integration at once"
        assert proj.duckdb_rows() == expected_rows(100)
        runs = proj.cli("runs", "k").stdout.splitlines()
        # Both runs of this round may start within one second, so their order in the table is not
        # fixed: count outcomes instead.
        outcomes = [line.split()[5] for line in runs[1:]]
        assert outcomes.count("succeeded") == round_ + 1, runs
        assert outcomes.count("lost") == round_ + 1, runs
        assert "running" not in "\n".join(runs)
        pids.unlink()
