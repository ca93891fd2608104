"""serve on the PostgreSQL store: two serve processes sharing it start each scheduled time and
each `after:` run once (claimed through the store) and list the same history, and the API lists,
pages and follows runs kept there."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers.runner_project import fake_integration, pg_dsn, wait_for
from helpers.serve_process import Serve

T = dt.datetime(2026, 1, 5, 0, 1, tzinfo=dt.UTC)


def _write(proj, pg_db, **extra):
    raw = fake_integration(proj, rows=20)
    raw.update(extra)
    proj.write({"state": {"backend": "postgres", "dsn": pg_dsn(pg_db)}, "integrations": {"p": raw}})


def test_two_schedulers_sharing_the_store_start_a_time_once(proj, pg_db):
    from tapwell.runner.serve.manager import RunManager
    from tapwell.runner.serve.scheduler import Scheduler
    from tapwell.runner.statestore import open_backend

    _write(proj, pg_db, schedule="* * * * *")
    project = proj.load()
    stores = [open_backend(project) for _ in range(2)]
    managers = [RunManager(project.root, s, 2) for s in stores]
    schedulers = [
        Scheduler(project.root / "tapwell.yml", project, s, m, now=T - dt.timedelta(seconds=30))
        for s, m in zip(stores, managers)
    ]
    started = [job for s in schedulers for job in s.tick(T)]
    assert len(started) == 1
    for manager in managers:
        wait_for(lambda m=manager: not m.running and not m.queue, "the run", 120)
    assert [r.outcome for r in stores[0].runs("p", 10)] == ["succeeded"]
    assert [job for s in schedulers for job in s.tick(T + dt.timedelta(seconds=1))] == []
    for store in stores:
        store.close()


def test_the_api_on_postgres(proj, pg_db):
    _write(proj, pg_db)
    serve = Serve(proj.root).start()
    try:
        ids = []
        for _ in range(3):
            ids.append(serve.post("/api/integrations/p/runs").json()["run_id"])
            wait_for(
                lambda: serve.get("/api/integrations/p").json()["running_run_id"] is None, "run"
            )
        page = serve.get("/api/runs", params={"limit": 2}).json()
        assert [r["id"] for r in page["runs"]] == ids[::-1][:2]
        rest = serve.get("/api/runs", params={"before": page["next_before"]}).json()
        assert [r["id"] for r in rest["runs"]] == [ids[0]]
        detail = serve.get(f"/api/runs/{ids[0]}").json()
        assert detail["status"] == "succeeded" and detail["rows"] == {"items": 20}
        assert detail["stages"]["samples"], detail["stages"]
        assert "samples" not in page["runs"][0]
        log = serve.get(f"/api/runs/{ids[0]}/log").text.splitlines()
        assert log[-1].endswith(f"run {ids[0]} succeeded after 1 attempt(s); rows: items 20")
    finally:
        assert serve.stop() == 0


def test_the_store_connects_again_after_its_connection_broke(proj, pg_db):
    """A long-lived serve survives a PostgreSQL restart: the call that meets the broken
    connection fails (temporary, exit 75 in a CLI), the next one connects again."""
    import psycopg2
    from tapwell.runner.statestore import open_backend
    from tapwell.singer.errors import TapwellError

    _write(proj, pg_db)
    store = open_backend(proj.load())
    assert store.runs(None, 1) == []
    admin = psycopg2.connect(pg_dsn(pg_db))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    admin.close()
    try:
        store.runs(None, 1)
    except TapwellError as exc:
        assert exc.exit_code == 75
    assert store.runs(None, 1) == []
    store.close()


@pytest.mark.slow  # two real minute boundaries
def test_two_serve_processes_run_each_scheduled_time_and_each_after_once(proj, pg_db):
    """Two `tapwell serve` processes on one PostgreSQL store (two machines sharing a project):
    each minute of `* * * * *` runs once, the `after:` integration once per success (the serve
    that did not run it learns of the success from the store within 30 s and must not run it
    again), no run is refused by the lock (a second start would be), and both list the same
    history."""
    p = fake_integration(proj, rows=20)
    q = fake_integration(proj, rows=10)
    q["tap"]["config"]["counter"] = str(proj.root / "q.txt")
    q["target"]["config"]["path"] = str(proj.root / "q.duckdb")
    proj.write(
        {
            "state": {"backend": "postgres", "dsn": pg_dsn(pg_db)},
            "integrations": {"p": {**p, "schedule": "* * * * *"}, "q": {**q, "after": ["p"]}},
            "serve": {"shutdown_grace_seconds": 5},
        }
    )
    serves = [Serve(proj.root).start(), Serve(proj.root).start()]
    try:

        def finished(name):
            runs = serves[0].get("/api/runs", params={"integration": name}).json()["runs"]
            return [r for r in runs if r["finished_at"]]

        # two scheduled times: the first one's success reached the other serve's refresh
        wait_for(lambda: len(finished("p")) >= 2 and len(finished("q")) >= 2, "two minutes", 300)
        histories = [s.get("/api/runs", params={"limit": 500}).json()["runs"] for s in serves]
    finally:
        codes = [s.stop() for s in serves]
    assert codes == [0, 0], [s.output() for s in serves]
    assert [r["id"] for r in histories[0]] == [r["id"] for r in histories[1]]
    runs = histories[0][::-1]  # oldest first
    assert {(r["integration"], r["trigger"], r["status"]) for r in runs} <= {
        ("p", "schedule", "succeeded"),
        ("q", "after", "succeeded"),
        ("q", "after", "interrupted"),  # stopped by the end of the test
        ("p", "schedule", "interrupted"),
    }, runs
    minutes = [r["started_at"][:16] for r in runs if r["integration"] == "p"]
    assert len(minutes) == len(set(minutes)), minutes  # each time once
    # between two successes of p, q ran at most once
    order = [r["integration"] for r in runs]
    assert "qq" not in "".join(order), order
