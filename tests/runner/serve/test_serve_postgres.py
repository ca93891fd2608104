"""serve on the PostgreSQL store: two serve processes sharing it start each scheduled time once
(claimed through the store), and the API lists, pages and follows runs kept there."""

from __future__ import annotations

import datetime as dt

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
