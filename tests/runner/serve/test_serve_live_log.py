"""A run's log is in the history store while the run goes on, a UTC timestamp on every line, in
both backends (files, PostgreSQL): `tapwell logs --follow` started mid-run prints every line once,
in order, and stops when the run ends; `tapwell runs ID` / `--json` show the run and its figures."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from helpers.runner_project import BIN, fake_integration, pg_dsn, wait_for
from helpers.tiers import services_param

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ")


def _store(proj):
    from tapwell.runner.statestore import open_backend

    return open_backend(proj.load())


@pytest.mark.parametrize("backend", ["file", services_param("postgres")])
def test_the_log_is_written_while_the_run_goes_on(proj, backend, request):
    raw = fake_integration(proj, mode="wait", rows=60, release=str(proj.root / "go"))
    project = {"integrations": {"w": raw}}
    if backend == "postgres":
        project["state"] = {"backend": "postgres", "dsn": pg_dsn(request.getfixturevalue("pg_db"))}
    proj.write(project)
    run = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(proj.root), "run", "w"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        store = _store(proj)
        wait_for(lambda: store.runs("w", 1), "the run record")
        run_id = store.runs("w", 1)[0].id
        # the tap waits for `go` before its last record: these lines were written mid-run
        wait_for(lambda: any("attempt 1 from id 0" in x for x in store.read_log(run_id)), "a line")
        assert run.poll() is None and store.run(run_id).outcome == "running"
        # the stage figures are saved with the record during the run (every 5 s)
        wait_for(lambda: store.run(run_id).stages.get("samples"), "figures mid-run", 30)
        follower = subprocess.Popen(
            [str(BIN / "tapwell"), "--project", str(proj.root), "logs", run_id, "--follow"],
            stdout=subprocess.PIPE,
            text=True,
        )
    finally:
        (proj.root / "go").touch()
        _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    followed, _ = follower.communicate(timeout=60)
    assert follower.returncode == 0
    lines = store.read_log(run_id)
    assert followed.splitlines() == lines  # every line once, in order, and the follower stopped
    assert all(STAMP.match(x) for x in lines), lines[:3]
    assert "succeeded after 1 attempt(s)" in lines[-1]
    stamps = [x[:27] for x in lines]
    assert stamps == sorted(stamps)
    # the final record keeps the same lines (without their stamps) for older readers
    assert [x[28:] for x in lines] == store.run(run_id).log.splitlines()
    store.close()

    shown = json.loads(proj.cli("runs", "--json").stdout)["runs"][0]
    assert (shown["id"], shown["status"], shown["rows"], shown["trigger"]) == (
        run_id,
        "succeeded",
        {"items": 60},
        "cli",
    )
    detail = proj.cli("runs", run_id)
    assert detail.returncode == 0, detail.stderr
    assert "items" in detail.stdout and "peak RSS" in detail.stdout, proj.cli(
        "runs", run_id, "--json"
    ).stdout


def test_logs_of_an_unknown_or_malformed_run_id(proj):
    proj.write({"integrations": {"w": fake_integration(proj, rows=5)}})
    for bad in ("20261205T222913-4375e4", "../../etc/passwd", "x'; DROP TABLE runs; --"):
        done = proj.cli("logs", bad)
        assert done.returncode == 2
        assert done.stderr.strip().endswith("in the state backend (see `tapwell runs`)")
