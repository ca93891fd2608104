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
