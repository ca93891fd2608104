"""Issue 13 follow-ups (fast tier, TestClient over serve's app, runs written straight into the
store): a trailing slash on any route answers as without it; /metrics counters come from totals
the store keeps as runs end, so they never go down past any number of runs and survive a restart;
the lists read only each integration's newest runs."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
from helpers.runner_project import Proj, fake_integration
from tapwell.runner.history import RunRecord, new_run_id
from tapwell.runner.serve.app import make_app
from tapwell.runner.serve.service import Service

with warnings.catch_warnings():  # starlette 1.10 asks for httpx2; httpx (what we have) works
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient


def _record(seconds_ago: float, name: str, **fields) -> RunRecord:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return RunRecord(new_run_id(at), name, at, at + dt.timedelta(seconds=3), **fields)


@pytest.fixture
def project(tmp_path):
    proj = Proj(tmp_path)
    quick = fake_integration(proj, rows=30)
    proj.write({"integrations": {"quick": quick, "other": quick}})
    return proj


def _client(proj: Proj) -> tuple[Service, TestClient]:
    service = Service(proj.root, log=lambda line: None)
    return service, TestClient(make_app(service))  # not entered: no scheduler thread


def test_a_trailing_slash_answers_as_without_it_on_every_route(project):
    service, client = _client(project)
    run = _record(60, "quick", outcome="succeeded", attempts=1, rows={"items": 3})
    service.store.save_run(run)
    for path in (
        "/api/integrations",
        "/api/integrations/quick",
        "/api/runs",
        f"/api/runs/{run.id}",
        f"/api/runs/{run.id}/log",
        "/api/schedule",
        "/healthz",
        "/metrics",
    ):
        plain = client.get(path, follow_redirects=False)
        slashed = client.get(path + "/", follow_redirects=False)
        assert plain.status_code == 200, path
        assert slashed.status_code == plain.status_code, path
        assert slashed.headers["content-type"] == plain.headers["content-type"], path
        if path.startswith(("/api/integrations", "/api/runs")):
            assert slashed.text == plain.text, path
    started = client.post("/api/integrations/nope/runs/", follow_redirects=False)
    assert started.status_code == 404 and "nope" in started.json()["error"]
    missing = client.get("/api/nothing/", follow_redirects=False)
    assert missing.status_code == 404 and missing.json()["error"]
    page = client.get("/runs/", follow_redirects=False)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    service.store.close()


def _metric(text: str, name: str, **labels: str) -> float:
    head = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(head + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{head} not in /metrics")


MANY = 10_001  # one more than the newest runs /metrics used to read


def _old_history_files(proj: Proj, n: int) -> None:
    """n finished runs of `quick` written as records only, as a history from before the store
    kept totals (or from an older tapwell) lies on disk."""
    import orjson

    folder = proj.root / "state" / ".runs"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        run = _record(10_000 + i, "quick", outcome="succeeded", attempts=1, rows={"items": 2})
        (folder / f"{run.id}.json").write_bytes(orjson.dumps(run.to_json()))


def _old_history_pg(dsn: str, n: int) -> None:
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO tapwell.runs (id, integration, started_at, ended_at, outcome, attempts, "
            "rows) SELECT to_char(t, 'YYYYMMDD\"T\"HH24MISSUS') || '-' || lpad(to_hex(i), 6, '0'), "
            "'quick', t, t + interval '3 seconds', 'succeeded', 1, '{\"items\": 2}'::jsonb "
            "FROM generate_series(1, %s) AS i, "
            "LATERAL (SELECT now() - interval '1 day' + i * interval '1 second' AS t) AS x",
            (n,),
        )
    conn.close()


@pytest.mark.parametrize("backend", ["file", pytest.param("pg", marks=pytest.mark.services)])
def test_counters_count_every_run_never_drop_and_survive_a_restart(project, backend, request):
    if backend == "pg":
        from helpers.runner_project import pg_dsn

        dsn = pg_dsn(request.getfixturevalue("pg_db"))
        quick = fake_integration(project, rows=30)
        project.write(
            {
                "state": {"backend": "postgres", "dsn": dsn},
                "integrations": {"quick": quick, "other": quick},
            }
        )
        Service(project.root, log=lambda line: None).store.close()  # creates the tables
        _old_history_pg(dsn, MANY)
    else:
        _old_history_files(project, MANY)
    service, client = _client(project)
    first = client.get("/metrics").text
    assert _metric(first, "tapwell_runs_total", integration="quick", status="succeeded") == MANY
    assert _metric(first, "tapwell_rows_total", integration="quick", stream="items") == 2 * MANY
    assert _metric(first, "tapwell_run_duration_seconds_count", integration="quick") == MANY
    assert _metric(first, "tapwell_run_duration_seconds_sum", integration="quick") == 3 * MANY
    bucket = _metric(first, "tapwell_run_duration_seconds_bucket", integration="quick", le="5.0")
    assert bucket == MANY
    # a run starts (not counted), then ends (counted once, however often its record is saved)
    run = _record(1, "quick", outcome="running", rows={"items": 1})
    run.ended_at = None
    service.store.save_run(run)
    running = client.get("/metrics").text
    assert _metric(running, "tapwell_runs_running") == 1
    assert _metric(running, "tapwell_runs_total", integration="quick", status="succeeded") == MANY
    run.outcome, run.ended_at, run.rows = "failed", run.started_at + dt.timedelta(seconds=2), {}
    service.store.save_run(run)
    service.store.save_run(run)
    after = client.get("/metrics").text
    assert _metric(after, "tapwell_runs_running") == 0
    assert _metric(after, "tapwell_runs_total", integration="quick", status="failed") == 1
    assert _metric(after, "tapwell_runs_total", integration="quick", status="succeeded") == MANY
    assert _metric(after, "tapwell_run_duration_seconds_count", integration="quick") == MANY + 1
    service.store.close()
    again, client = _client(project)  # a restart of serve
    restarted = client.get("/metrics").text
    assert _metric(restarted, "tapwell_runs_total", integration="quick", status="failed") == 1
    assert _metric(restarted, "tapwell_runs_total", integration="quick", status="succeeded") == MANY
    assert _metric(restarted, "tapwell_rows_total", integration="quick", stream="items") == 2 * MANY
    # the lists: each integration's newest run, an integration that never ran has none
    listed = {i["name"]: i for i in client.get("/api/integrations").json()["integrations"]}
    assert listed["quick"]["last_run"]["id"] == run.id
    assert listed["other"]["last_run"] is None
    again.store.close()


def test_the_lists_and_metrics_do_not_read_the_whole_history(project, monkeypatch):
    from tapwell.runner.statestore import FileStateStore

    _old_history_files(project, 50)
    service, client = _client(project)
    client.get("/metrics")  # the one-time build of the index from the history
    read: list[str] = []
    real = FileStateStore._brief_json

    def counting(self, path):
        read.append(path.name)
        return real(self, path)

    monkeypatch.setattr(FileStateStore, "_brief_json", counting)
    assert client.get("/api/integrations").status_code == 200
    assert len(read) == 1  # quick's newest; other has none
    read.clear()
    assert client.get("/metrics").status_code == 200
    assert len(read) == 10  # quick's newest ten (running now, latest stage figures)
    service.store.close()


BRIEF_BIG_TAP = """
import pathlib, sys, time
time.sleep(0.3)
fail_first = "fail-first" in sys.argv  # then only the first attempt is big, and fails
mark = pathlib.Path(sys.argv[0]).with_suffix(".failed")
first = fail_first and sys.argv[-2] == "--config" and not mark.exists()  # not a probe
if first or not fail_first:
    block = b"x" * (160 * 1024 * 1024)  # written, so resident: 160 MiB for an instant
    del block
if first:
    mark.touch()
    sys.exit("tap-brief: failing the first attempt")
print('{"type": "SCHEMA", "stream": "items", "schema": {"type": "object", '
      '"properties": {"id": {"type": "integer"}}}, "key_properties": ["id"]}')
print('{"type": "RECORD", "stream": "items", "record": {"id": 1}}')
print('{"type": "STATE", "value": {"done": true}}')
"""


@pytest.mark.parametrize("attempts", [1, 2])
def test_the_peak_rss_of_a_stage_shorter_than_a_second_is_exact(tmp_path, attempts):
    """With 2: the first attempt's tap touched 160 MiB and failed, the retry's stayed small; the
    peak is of the stage over the whole run, every attempt's process reaped."""
    import sys

    from helpers.runner_project import duckdb_target

    proj = Proj(tmp_path)
    script = tmp_path / "brief_big_tap.py"
    script.write_text(BRIEF_BIG_TAP)
    command = [sys.executable, str(script), *(["fail-first"] if attempts == 2 else [])]
    tap = {"name": "tap-brief", "command": command, "config": {}}
    retry = {"attempts": attempts, "backoff_seconds": 0}
    proj.write(
        {"integrations": {"brief": {"tap": tap, "target": duckdb_target(proj), "retry": retry}}}
    )
    proj.run("brief")
    project = proj.load()
    from tapwell.runner.statestore import open_backend

    store = open_backend(project)
    (record,) = store.runs("brief", 1)
    assert record.outcome == "succeeded", record.error
    assert record.attempts == attempts
    summary = record.stages["summary"]
    assert summary["tap"]["peak_rss"] >= 160 * 1024 * 1024, summary
    assert record.stages["samples"]  # the 1 s samples stay, for the charts
    store.close()


def test_a_skipped_time_does_not_hide_the_last_outcome(project):
    """A scheduled time that came while a run went is recorded skipped; the lists show the
    integration by the run that ran (a failure stays red), and by the skipped one only when no
    run among its newest ran."""
    service, client = _client(project)
    failed = _record(60, "quick", outcome="failed", attempts=1, error="fake-tap: boom")
    skipped = _record(30, "quick", outcome="skipped", error="due while run x was still going")
    only_skipped = _record(20, "other", outcome="skipped", error="due while run y was going")
    for run in (failed, skipped, only_skipped):
        service.store.save_run(run)
    listed = {i["name"]: i for i in client.get("/api/integrations").json()["integrations"]}
    assert listed["quick"]["last_run"]["id"] == failed.id
    assert listed["quick"]["last_run"]["status"] == "failed"
    assert listed["other"]["last_run"]["id"] == only_skipped.id
    one = client.get("/api/integrations/quick").json()
    assert one["last_run"]["id"] == failed.id
    assert [r["id"] for r in one["recent_runs"]][:2] == [skipped.id, failed.id]  # both listed
    home = client.get("/").text
    assert '<tr class="failing">' in home
    service.store.close()
