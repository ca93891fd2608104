"""An unreachable destination is said once: the runner's note that it could not read the state
kept there went into the run log (and serve's live log) before the target's own line said the same,
and the terminal showed the target's identical line once per attempt (three by default)."""

from __future__ import annotations

import socket

from helpers.runner_project import csv_shop_project


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unreachable_target(proj, attempts: int) -> dict:
    csv_shop_project(proj)
    raw = proj.load().raw
    shop = raw["integrations"]["shop"]
    shop["target"] = {
        "name": "target-postgres",
        "config": {"host": "127.0.0.1", "port": free_port(), "user": "postgres", "dbname": "x"},
    }
    shop["retry"] = {"attempts": attempts, "backoff_seconds": 0}
    proj.write(raw)
    return raw


def run_log(proj) -> str:
    runs = proj.cli("runs", "shop")
    run_id = runs.stdout.splitlines()[1].split()[0]
    return proj.cli("logs", run_id).stdout


def test_an_unreachable_target_is_said_once_per_run(proj):
    unreachable_target(proj, attempts=3)
    for _ in range(2):
        done = proj.cli("run", "shop")
        assert done.returncode == 75, done.stderr
        lines = done.stderr.splitlines()
        said = [line for line in lines if "Connection refused" in line]
        assert len(said) == 1 and said[0].startswith("[target-postgres] target-postgres: error:")
        assert len(lines) == 4, done.stderr  # the target's line, 2 retries, the last line
        for n in (1, 2):  # how much the tap sent before the target died varies
            retry = f"[tapwell] attempt {n} failed: target-postgres exit 75; retrying in 0s"
            assert lines[n].startswith(retry), done.stderr
        log = run_log(proj)
        assert "could not read the state kept in the destination" not in log, log
        assert log.count("[target-postgres] target-postgres: error: cannot connect") == 3, log


def test_a_destination_state_that_cannot_be_read_is_said_when_the_run_goes_on(proj):
    """The note stays when the target does not fail: a run that started from no state."""
    raw = unreachable_target(proj, attempts=1)
    shop = raw["integrations"]["shop"]
    shop["target"] = {"name": "target-jsonl", "config": {"destination_path": "out"}}
    port = free_port()
    shop["state"] = {"recover": {"dsn": f"host=127.0.0.1 port={port} user=u", "query": "select 1"}}
    proj.write(raw)
    done = proj.cli("run", "shop")
    assert done.returncode == 0, done.stderr
    log = run_log(proj)
    assert log.count("could not read the state kept in the destination") == 1, log
