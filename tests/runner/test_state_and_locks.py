"""State backends (files, PostgreSQL), their history, the `tapwell state` commands, run history,
one run per integration at a time, and state recovered from the destination."""

from __future__ import annotations

import json
import subprocess

import pytest
from helpers.runner_project import BIN, duckdb_target, fake_integration, pg_dsn, wait_for
from helpers.tiers import services_param


@pytest.mark.parametrize("backend", ["file", services_param("postgres")])
def test_second_concurrent_run_is_refused(proj, backend, request, expected_rows):
    raw = {
        "integrations": {
            "w": fake_integration(proj, mode="wait", rows=60, release=str(proj.root / "go"))
        }
    }
    if backend == "postgres":
        raw["state"] = {"backend": "postgres", "dsn": pg_dsn(request.getfixturevalue("pg_db"))}
    proj.write(raw)
    first = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(proj.root), "run", "w", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(proj.counter.exists, "the first run's tap to start")
        second = proj.cli("run", "w")
        assert second.returncode == 3, second.stderr
        assert "integration 'w' is already running" in second.stderr
        assert "this start exits without running" in second.stderr
        assert len(proj.starts()) == 1  # the second start ran no tap
    finally:
        (proj.root / "go").touch()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert proj.duckdb_rows() == expected_rows(60)
    assert proj.cli("run", "w").returncode == 0  # the lock is free again


def test_postgres_backend_keeps_state_history_and_runs(proj, pg_db):
    import psycopg2

    raw = fake_integration(
        proj, mode="die", fail_times=1, fail_after=50, rows=100, password="s3cret-pw"
    )
    proj.write(
        {
            "state": {"backend": "postgres", "dsn": pg_dsn(pg_db), "schema": "runner state"},
            "integrations": {"pg": raw},
        }
    )
    assert proj.cli("run", "pg").returncode == 0
    assert proj.starts()[1] == 50
    assert not (proj.root / "state").exists()  # nothing on local disk: pods stay stateless
    conn = psycopg2.connect(pg_dsn(pg_db))
    with conn.cursor() as cur:
        cur.execute('SELECT value::text FROM "runner state".state WHERE integration = %s', ("pg",))
        assert json.loads(cur.fetchone()[0]) == {"bookmarks": {"items": {"last_id": 100}}}
        cur.execute(
            'SELECT outcome, attempts, rows::text, attempt_rows::text, log FROM "runner state".runs'
        )
        outcome, attempts, rows, attempt_rows, log = cur.fetchone()
    conn.close()
    # 50 loaded per attempt; the run's rows are the last attempt's, each attempt's kept apart
    assert (outcome, attempts, json.loads(rows), json.loads(attempt_rows)) == (
        "succeeded",
        2,
        {"items": 50},
        [{"items": 50}, {"items": 50}],
    )
    assert "connection reset by peer" in log and "s3cret-pw" not in log
    table = proj.cli("runs", "pg").stdout.splitlines()
    assert (
        table[0].split()[:3] == ["RUN", "ID", "INTEGRATION"]
        and "succeeded" in table[1]
        and " 2 " in table[1]
    )
    history = proj.cli("state", "history", "pg").stdout.splitlines()
    assert len(history) == 2 and '"last_id":100' in history[0] and '"last_id":50' in history[1]
    assert "[fake-tap]" in proj.cli("logs", table[1].split()[0]).stdout


def test_state_commands_protect_a_good_state(proj):
    proj.write({"integrations": {"s": fake_integration(proj, rows=30)}})
    assert proj.cli("run", "s").returncode == 0
    assert json.loads(proj.cli("state", "show", "s").stdout) == {
        "bookmarks": {"items": {"last_id": 30}}
    }

    empty = proj.cli("state", "set", "s", "-", stdin=b"{}")
    assert empty.returncode == 2
    assert "refusing to replace a saved state with an empty one (add --force" in empty.stderr
    bad = proj.cli("state", "set", "s", "-", stdin=b"{not json")
    assert (
        bad.returncode == 2
        and "is not valid JSON" in bad.stderr
        and "the saved state is unchanged" in bad.stderr
    )
    assert proj.cli("state", "set", "s", "-", stdin=b"[1]").returncode == 2
    assert json.loads(proj.cli("state", "show", "s").stdout)["bookmarks"]["items"]["last_id"] == 30

    assert (
        proj.cli(
            "state", "set", "s", "-", stdin=b'{"bookmarks": {"items": {"last_id": 10}}}'
        ).returncode
        == 0
    )
    assert proj.cli("run", "s").returncode == 0
    assert proj.starts() == [0, 10]

    clear = proj.cli("state", "clear", "s")
    assert clear.returncode == 2 and "add --force" in clear.stderr
    assert proj.cli("state", "clear", "s", "--force").returncode == 0
    assert proj.cli("state", "show", "s").returncode == 2
    history = proj.cli("state", "history", "s").stdout.splitlines()
    assert (
        "(cleared)" in history[0] and '"last_id":30' in history[1] and '"last_id":10' in history[2]
    )


def test_empty_state_from_a_target_never_overwrites(proj):
    from tapwell.runner.statestore import FileStateStore

    store = FileStateStore(proj.root / "state")
    store.put("x", {"bookmarks": {"a": {"v": 1}}})
    with pytest.raises(Exception, match="refusing to replace"):
        store.put("x", {})
    assert store.get("x") == {"bookmarks": {"a": {"v": 1}}}


def test_full_refresh_ignores_saved_state(proj):
    proj.write({"integrations": {"f": fake_integration(proj, rows=20)}})
    assert proj.cli("run", "f").returncode == 0
    assert proj.cli("run", "f", "--full-refresh").returncode == 0
    assert proj.cli("run", "f").returncode == 0
    assert proj.starts() == [0, 0, 20]


def test_state_recovered_from_the_destination(proj, pg_db):
    import psycopg2

    conn = psycopg2.connect(pg_dsn(pg_db))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('CREATE TABLE "_tapwell_state" (integration text PRIMARY KEY, state jsonb)')
        cur.execute(
            """INSERT INTO "_tapwell_state" VALUES ('r', '{"bookmarks": {"items": {"last_id": 70}}}')"""
        )
    conn.close()
    raw = fake_integration(proj, rows=80)
    raw["state"] = {
        "recover": {
            "dsn": pg_dsn(pg_db),
            "query": "SELECT state FROM \"_tapwell_state\" WHERE integration = 'r'",
        }
    }
    proj.write({"integrations": {"r": raw}})
    done = proj.cli("run", "r")
    assert done.returncode == 0, done.stderr
    assert "no saved state: resuming from the state the target committed" in done.stderr
    assert proj.starts() == [70]
    again = proj.cli("state", "recover", "r")
    assert again.returncode == 2 and "add --force" in again.stderr
    assert '"last_id": 70' in proj.cli("state", "recover", "r", "--force").stdout


def test_progress_line_from_metric_lines(proj):
    import threading

    proj.write(
        {
            "integrations": {
                "p": fake_integration(proj, mode="wait", rows=60, release=str(proj.root / "go"))
            }
        }
    )
    run = subprocess.Popen(
        [
            str(BIN / "tapwell"),
            "--project",
            str(proj.root),
            "run",
            "p",
            "--progress-every",
            "0.2",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(run.stderr), daemon=True)
    reader.start()
    try:
        # the tap waits before its last record: 50 rows reported by METRIC increments so far
        wait_for(
            lambda: any(ln.startswith("tapwell: p: items 50 rows (") for ln in lines),
            "a progress line",
        )
    finally:
        (proj.root / "go").touch()
        run.wait(timeout=120)
        reader.join(timeout=10)
    assert run.returncode == 0
    progress = next(ln for ln in lines if ln.startswith("tapwell: p: items 50 rows ("))
    assert progress.rstrip().endswith(" rows/s)")
    assert "[fake-tap]" not in "".join(lines)  # info and METRIC lines stay in the run log


def test_sigterm_stops_the_connectors_and_records_the_run(proj):
    import os
    import signal

    pidfile = proj.root / "tap.pid"
    raw = fake_integration(
        proj,
        mode="wait",
        rows=30,
        release=str(proj.root / "never"),
        pidfile=str(pidfile),
        state_every=10,
        target=duckdb_target(proj, batch_rows=5),
    )
    proj.write({"integrations": {"t": raw}})
    run = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(proj.root), "run", "t"],
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(pidfile.exists, "the tap to start")
    tap_pid = int(pidfile.read_text())
    state_file = proj.root / "state" / "t.json"
    wait_for(lambda: state_file.exists() and '"last_id": 20' in state_file.read_text(), "a commit")
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "tapwell: interrupted" in err

    def gone() -> bool:
        try:
            os.kill(tap_pid, 0)
        except ProcessLookupError:
            return True
        # a zombie of an exited child is gone too
        with open(f"/proc/{tap_pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"

    wait_for(gone, "the tap to be stopped")
    table = proj.cli("runs", "t").stdout.splitlines()
    assert table[1].split()[5] == "interrupted"  # the OUTCOME column (issue 13: its own status)
    assert table[1].split(None, 8)[8] == "interrupted by SIGTERM"  # ERROR: what stopped it
    # what the target committed before the signal stays saved
    assert json.loads(proj.cli("state", "show", "t").stdout) == {
        "bookmarks": {"items": {"last_id": 20}}
    }
