"""state.keep_runs_days: old finished runs leave the history (records and logs), each
integration's newest LATEST_KEPT stay, a run still going stays, the totals stay; both stores."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from helpers.runner_project import Proj, fake_integration, pg_dsn
from tapwell.runner.history import LATEST_KEPT, RunRecord, new_run_id, utcnow
from tapwell.runner.statestore import FileStateStore
from tapwell.runner.statestore_pg import PostgresStateStore

NOW = utcnow()


def _runs(store: Any) -> list[RunRecord]:
    """Per integration: LATEST_KEPT + 5 runs 100+ days old (finished), one old run still going,
    and one run of another integration 100 days old (its only run: kept)."""
    made = []
    for n in range(LATEST_KEPT + 5):
        started = NOW - dt.timedelta(days=100, minutes=n)
        made.append(
            RunRecord(new_run_id(started), "busy", started, ended_at=started, outcome="failed")
        )
    going = NOW - dt.timedelta(days=200)
    made.append(RunRecord(new_run_id(going), "busy", going))  # outcome "running"
    lone = NOW - dt.timedelta(days=100)
    made.append(RunRecord(new_run_id(lone), "lone", lone, ended_at=lone, outcome="succeeded"))
    for run in made:
        store.save_run(run)
        store.append_log(run.id, [f"line of {run.id}"])
    return made


def _check(store: Any, made: list[RunRecord]) -> None:
    before = store.totals()
    assert store.prune_runs(NOW - dt.timedelta(days=90)) == 5
    left = {r.id for r in store.runs(None, 1000, brief=True)}
    finished_busy = [r for r in made if r.integration == "busy" and r.outcome == "failed"]
    newest = sorted(r.id for r in finished_busy)[-LATEST_KEPT:]
    going = next(r.id for r in made if r.outcome == "running")
    lone = next(r.id for r in made if r.integration == "lone")
    assert left == {*newest, going, lone}
    for run in finished_busy:
        if run.id not in newest:
            assert store.run(run.id) is None
            assert store.read_log(run.id) == []
    assert store.read_log(newest[0]) == [f"line of {newest[0]}"]
    assert store.totals() == before  # counters never go back
    assert store.prune_runs(NOW - dt.timedelta(days=90)) == 0  # once an hour


def test_file_store_prunes_old_finished_runs(tmp_path):
    store = FileStateStore(tmp_path)
    made = _runs(store)
    _check(store, made)
    names = os.listdir(tmp_path / ".runs")
    assert (
        len([n for n in names if n.endswith(".json") and not n.startswith(".")]) == LATEST_KEPT + 2
    )


def test_postgres_store_prunes_old_finished_runs(pg_db):
    store = PostgresStateStore(pg_dsn(pg_db))
    try:
        made = _runs(store)
        store.claim("busy", NOW - dt.timedelta(days=100))
        _check(store, made)
        assert store.claim("busy", NOW - dt.timedelta(days=100))  # the old claim went too
    finally:
        store.close()


def test_tapwell_run_prunes_with_keep_runs_days(proj: Proj):
    store = FileStateStore(proj.root / "state")
    made = _runs(store)
    raw = {
        "version": 1,
        "state": {"backend": "file", "path": "state", "keep_runs_days": 90},
        "integrations": {"busy": fake_integration(proj, rows=10)},
    }
    result = proj.write(raw).cli("run", "busy")
    assert result.returncode == 0, result.stderr
    # the run marked the old run still "going" lost (finished), and is itself the newest now
    assert "removed 7 run(s) older than 90 days from the history" in result.stderr
    after = FileStateStore(proj.root / "state")
    assert len(after.runs("busy", 1000)) == LATEST_KEPT
    assert [r.id for r in after.runs("lone", 1000)] == [made[-1].id]


def test_keep_runs_days_must_be_positive(proj: Proj):
    raw = {
        "version": 1,
        "state": {"keep_runs_days": 0},
        "integrations": {"busy": fake_integration(proj, rows=10)},
    }
    result = proj.write(raw).cli("run", "busy")
    assert result.returncode == 2
    assert "keep_runs_days" in result.stderr


def test_file_store_prunes_without_an_index_and_keeps_the_totals(tmp_path):
    """A history from before the index (or with it removed): the prune builds it first, under
    its lock (no second lock taken), so the removed runs stay in the totals."""
    store = FileStateStore(tmp_path)
    made = _runs(store)
    before = store.totals()
    (tmp_path / ".runs" / ".index.json").unlink()
    assert store.prune_runs(NOW - dt.timedelta(days=90)) == 5
    assert FileStateStore(tmp_path).totals() == before
    assert len(store.runs("busy", 1000)) == LATEST_KEPT + 1
    assert len(made) == LATEST_KEPT + 7
