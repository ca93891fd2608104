"""SIGTERM (or a Ctrl-C's SIGINT) to `tapwell serve`: no new runs; a running run may finish
within serve.shutdown_grace_seconds, and is interrupted (recorded so, its state at the last
commit) past it; serve then exits 0, with no traceback."""

from __future__ import annotations

import signal
import threading

import pytest
from helpers.runner_project import fake_integration, wait_for
from helpers.serve_process import Serve


def _start(proj, grace):
    raw = fake_integration(proj, mode="wait", rows=40, release=str(proj.root / "go"))
    proj.write({"integrations": {"w": raw}, "serve": {"shutdown_grace_seconds": grace}})
    serve = Serve(proj.root).start()
    run_id = serve.post("/api/integrations/w/runs").json()["run_id"]
    wait_for(lambda: "attempt 1 from id 0" in serve.get(f"/api/runs/{run_id}/log").text, "a line")
    return serve, run_id


def _record(proj, run_id):
    from tapwell.runner.statestore import open_backend

    store = open_backend(proj.load())
    try:
        return store.run(run_id)
    finally:
        store.close()


def test_a_run_that_ends_within_the_grace_time_succeeds(proj, expected_rows):
    serve, run_id = _start(proj, grace=60)
    release = threading.Timer(2.0, (proj.root / "go").touch)
    release.start()
    assert serve.stop(signal.SIGTERM) == 0, serve.output()
    assert _record(proj, run_id).outcome == "succeeded"
    assert proj.duckdb_rows() == expected_rows(40)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_run_past_the_grace_time_is_interrupted(proj, stop):
    serve, run_id = _start(proj, grace=1)
    assert serve.stop(stop) == 0, serve.output()
    assert "Traceback" not in serve.output() and "tapwell serve: stopped" in serve.output()
    record = _record(proj, run_id)
    assert (record.outcome, record.error) == (  # what stopped it, not a bare "interrupted"
        "interrupted",
        "interrupted: tapwell serve stopped (SIGTERM or Ctrl-C) and the run outlived its "
        "serve.shutdown_grace_seconds (1s)",
    )
    assert "stopping: 1 run(s) going, waiting up to 1s for them" in serve.output()
    assert f"run {run_id} of w: {record.error}\n" in serve.output()  # who stopped it, said once
