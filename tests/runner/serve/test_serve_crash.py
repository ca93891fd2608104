"""Crash safety of `tapwell serve`: kill -9 during a run leaves the run `lost` at the next start,
and the next run resumes from the committed state with nothing lost or duplicated; serve and a
manual `tapwell run` never run one integration at once (the per-integration lock)."""

from __future__ import annotations

import json
import signal
import subprocess

from helpers.runner_project import BIN, duckdb_target, fake_integration, wait_for
from helpers.serve_process import Serve
from tapwell.runner.serve.manager import RunManager
from tapwell.runner.statestore import open_backend


def _project(proj):
    raw = fake_integration(
        proj,
        mode="wait",
        rows=60,
        release=str(proj.root / "go"),
        state_every=10,
        pids=str(proj.root / "pids.txt"),
        target=duckdb_target(proj, batch_rows=5),
    )
    proj.write({"integrations": {"w": raw}, "serve": {"shutdown_grace_seconds": 5}})


def _state(proj):
    path = proj.root / "state" / "w.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_kill_9_during_a_run_then_lost_then_resumed_exactly(proj, expected_rows):
    _project(proj)
    serve = Serve(proj.root).start()
    run_id = serve.post("/api/integrations/w/runs").json()["run_id"]
    wait_for(
        lambda: (_state(proj) or {}).get("bookmarks", {}).get("items", {}).get("last_id", 0) >= 20,
        "a commit",
    )
    assert serve.stop(signal.SIGKILL) == -signal.SIGKILL
    committed = _state(proj)["bookmarks"]["items"]["last_id"]

    again = Serve(proj.root).start()
    try:
        lost = again.get(f"/api/runs/{run_id}").json()
        assert lost["status"] == "lost", lost
        assert "was gone when tapwell serve started" in lost["error"]
        (proj.root / "go").touch()
        second = again.post("/api/integrations/w/runs").json()["run_id"]
        wait_for(lambda: again.get(f"/api/runs/{second}").json()["status"] == "succeeded", "rerun")
        log = again.get(f"/api/runs/{second}/log").text
        assert "resuming from" in log  # the saved state, or the later one the target committed
    finally:
        assert again.stop() == 0
    # the second run started from the committed state: the runner's, or the later one target-duckdb
    # committed with its rows before the kill (tapwell.runner.recover)
    first, second = proj.starts()
    assert first == 0 and second >= committed > 0
    assert proj.duckdb_rows() == expected_rows(60)  # nothing lost, nothing twice
    assert "overlap" not in (proj.root / "pids.txt").read_text()


def test_serve_and_a_manual_run_never_overlap(proj, expected_rows):
    _project(proj)
    manual = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(proj.root), "run", "w"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    serve = Serve(proj.root).start()
    try:
        wait_for(proj.counter.exists, "the manual run's tap")
        # run now while a manual run goes on: 409 naming it, as for serve's own runs
        refused = serve.post("/api/integrations/w/runs")
        assert refused.status_code == 409, refused.text
        manual_id = refused.json()["run_id"]
        assert serve.get(f"/api/runs/{manual_id}").json()["trigger"] == "cli"
        assert serve.get("/api/integrations/w").json()["running_run_id"] == manual_id
        # a scheduled run meanwhile (serve's scheduler asks its manager) meets the run's lock
        store = open_backend(proj.load())
        job = RunManager(proj.root, store, 1).submit("w", "schedule")
        wait_for(lambda: store.run(job.run_id).outcome == "skipped", "refusal")
        error = store.run(job.run_id).error
        assert "already running" in error or "lock" in error, error
        (proj.root / "go").touch()
        _, err = manual.communicate(timeout=120)
        assert manual.returncode == 0, err
        # and the other way round: a manual run while serve's run goes on exits 3
        (proj.root / "go").unlink()
        ours = serve.post("/api/integrations/w/runs", json={"full_refresh": True}).json()["run_id"]
        wait_for(lambda: len(proj.starts()) == 2, "serve's run's tap")
        assert proj.cli("run", "w").returncode == 3
        (proj.root / "go").touch()
        wait_for(lambda: serve.get(f"/api/runs/{ours}").json()["status"] == "succeeded", "run")
    finally:
        (proj.root / "go").touch()
        assert serve.stop() == 0
    assert "overlap" not in (proj.root / "pids.txt").read_text()
    assert proj.duckdb_rows() == expected_rows(60)
