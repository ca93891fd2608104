"""`tapwell serve` as a real process on 127.0.0.1: every API endpoint, the SSE log stream of a
running integration (lines arrive while it runs, in order, none twice, then `end`), run now,
409 while running, cancel and relaunch, and bad input answered with one clear JSON error."""

from __future__ import annotations

import json

import httpx
import pytest
from helpers.runner_project import Proj, fake_integration, wait_for
from helpers.serve_process import Serve


def _project(proj):
    raw = fake_integration(proj, mode="wait", rows=40, release=str(proj.root / "go"))
    quick = fake_integration(proj, rows=30)
    quick["tap"]["config"]["counter"] = str(proj.root / "quick.txt")
    quick["target"]["config"]["path"] = str(proj.root / "quick.duckdb")
    proj.write({"integrations": {"w": raw, "quick": quick}, "serve": {"shutdown_grace_seconds": 5}})


@pytest.fixture
def served(proj):
    _project(proj)
    serve = Serve(proj.root).start()
    yield serve
    (proj.root / "go").touch()
    assert serve.stop() == 0, serve.output()


@pytest.fixture(scope="module")
def idle(tmp_path_factory):
    """One serve for the tests that start no run."""
    proj = Proj(tmp_path_factory.mktemp("idle"))
    _project(proj)
    serve = Serve(proj.root).start()
    yield serve
    assert serve.stop() == 0, serve.output()


def _sse(serve, run_id, **headers):
    """(event, data) pairs of the log stream, read as they come."""
    with httpx.stream(
        "GET",
        f"{serve.url}/api/runs/{run_id}/log",
        headers={"Accept": "text/event-stream", **headers},
        timeout=60,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                yield event, line[6:]


def test_run_now_follow_the_log_live_then_relaunch(served, proj, expected_rows):
    listed = served.get("/api/integrations").json()["integrations"]
    assert [i["name"] for i in listed] == ["quick", "w"]
    assert listed[1]["tap"] == "fake-tap" and listed[1]["targets"] == ["target-duckdb"]
    started = served.post("/api/integrations/w/runs")
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    again = served.post("/api/integrations/w/runs")
    assert again.status_code == 409 and again.json()["run_id"] == run_id

    stream = _sse(served, run_id)
    seen = []
    for event, data in stream:
        assert event == "line"
        seen.append(data)
        if "attempt 1 from id 0" in data:
            break  # a line that arrived while the run still goes on (the tap waits for `go`)
    assert served.get(f"/api/runs/{run_id}").json()["status"] == "running"
    (proj.root / "go").touch()
    for event, data in stream:
        if event == "end":
            assert json.loads(data) == {"status": "succeeded", "run_id": run_id}
            break
        seen.append(data)
    text = served.get(f"/api/runs/{run_id}/log").text.splitlines()
    assert seen == text  # in order, none twice, none missing
    # a client that reconnects with the id of the last line it had gets the rest, then `end`
    resumed = list(_sse(served, run_id, **{"Last-Event-ID": "2"}))
    assert resumed[:-1] == [("line", line) for line in text[3:]]
    assert resumed[-1][0] == "end"
    assert json.loads(resumed[-1][1]) == {"status": "succeeded", "run_id": run_id}
    assert proj.duckdb_rows() == expected_rows(40)

    detail = served.get(f"/api/runs/{run_id}").json()
    assert (detail["status"], detail["trigger"], detail["rows"]) == (
        "succeeded",
        "manual",
        {"items": 40},
    )
    assert "samples" in detail["stages"] and detail["attempts"] == 1

    relaunched = served.post(f"/api/runs/{run_id}/relaunch")
    assert relaunched.status_code == 202
    new_id = relaunched.json()["run_id"]
    wait_for(lambda: served.get(f"/api/runs/{new_id}").json()["status"] == "succeeded", "relaunch")
    new = served.get(f"/api/runs/{new_id}").json()
    assert (new["trigger"], new["relaunch_of"]) == ("relaunch", run_id)

    one = served.get("/api/integrations/w").json()
    assert one["last_run"]["id"] == new_id and one["state"] == {
        "bookmarks": {"items": {"last_id": 40}}
    }
    assert [r["id"] for r in one["recent_runs"]][:2] == [new_id, run_id]


def test_runs_filters_and_pages(served, proj):
    ids = []
    for _ in range(3):
        ids.append(served.post("/api/integrations/quick/runs").json()["run_id"])
        # the run's record says succeeded a moment before its process is gone (409 till then)
        wait_for(
            lambda: served.get("/api/integrations/quick").json()["running_run_id"] is None, "run"
        )
    assert len(set(ids)) == 3
    first = served.get("/api/runs", params={"integration": "quick", "limit": 2}).json()
    assert [r["id"] for r in first["runs"]] == ids[::-1][:2]
    rest = served.get("/api/runs", params={"integration": "quick", "before": first["next_before"]})
    assert [r["id"] for r in rest.json()["runs"]] == [ids[0]] and rest.json()["next_before"] is None
    assert served.get("/api/runs", params={"status": "failed"}).json()["runs"] == []


def test_cancel_a_running_run(served, proj):
    run_id = served.post("/api/integrations/w/runs").json()["run_id"]
    wait_for(lambda: served.get(f"/api/runs/{run_id}").json()["status"] == "running", "start")
    wait_for(lambda: "attempt 1 from id 0" in served.get(f"/api/runs/{run_id}/log").text, "a line")
    done = served.post(f"/api/runs/{run_id}/cancel")
    assert done.status_code == 202, done.text
    wait_for(lambda: served.get(f"/api/runs/{run_id}").json()["status"] == "interrupted", "cancel")
    # the error says who stopped it, not just "interrupted" (serve adds it once the run ended)
    said = "interrupted: cancelled through the API (POST .../cancel)"
    wait_for(lambda: served.get(f"/api/runs/{run_id}").json()["error"] == said, "who cancelled")
    assert served.post(f"/api/runs/{run_id}/cancel").status_code == 409
    # what the target committed stays saved; the next run resumes from it
    state = served.get("/api/integrations/w").json()["state"]
    assert state is None or state["bookmarks"]["items"]["last_id"] < 40


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    [
        ("post", "/api/integrations/nope/runs", None, 404, "no integration 'nope'"),
        ("get", "/api/integrations/%2E%2E", None, 404, "no integration '..'"),
        ("get", "/api/integrations/..%2F..%2Fetc", None, 404, "no such page"),
        ("get", "/api/integrations/a'b\"c", None, 404, "no integration"),
        ("get", "/api/runs/%2E%2E", None, 404, "is not a run id"),
        ("post", "/api/runs/x%27%3B%20DROP%20TABLE%20runs/cancel", None, 404, "is not a run id"),
        ("get", "/api/runs/20261205T222913-4375e4", None, 404, "no run"),
        ("post", "/api/integrations/quick/runs", b"{not json", 400, "not valid JSON"),
        ("post", "/api/integrations/quick/runs", b"[1]", 400, "must be a JSON object"),
        ("post", "/api/integrations/quick/runs", b'{"full_refresh": "yes"}', 400, "true or false"),
        ("post", "/api/integrations/quick/runs", b'{"fast": true}', 400, "unknown key"),
        ("get", "/api/runs?limit=0", None, 400, "limit must be between"),
        ("get", "/api/runs?status=weird", None, 400, "status must be one of"),
        ("get", "/api/runs?before=../x", None, 400, "before must be a run id"),
        ("get", "/api/runs?integration=../x", None, 404, "no integration"),
        ("get", "/api/nothing", None, 404, "no such page"),
        ("delete", "/api/runs", None, 405, "method not allowed"),
    ],
)
def test_bad_input_is_one_clear_json_error(idle, method, path, body, status, text):
    response = httpx.request(method.upper(), idle.url + path, content=body, timeout=30)
    assert response.status_code == status, response.text
    assert text in response.json()["error"]
    assert list(response.json()) == ["error"]


def test_schedule_ahead(proj):
    _project(proj)
    raw = __import__("yaml").safe_load((proj.root / "tapwell.yml").read_text())
    raw["integrations"]["quick"]["schedule"] = "0 */6 * * *"
    raw["integrations"]["w"]["after"] = ["quick"]
    (proj.root / "tapwell.yml").write_text(__import__("yaml").safe_dump(raw))
    serve = Serve(proj.root).start()
    try:
        ahead = serve.get("/api/schedule").json()
        assert [r["integration"] for r in ahead["runs"]] == ["quick"] * 4
        assert ahead["after"] == {"w": ["quick"]}
        assert serve.get("/api/schedule?hours=1000").status_code == 400
    finally:
        assert serve.stop() == 0


def test_healthz_and_metrics_answer(idle):
    assert idle.get("/healthz").json()["status"] == "ok"
    metrics = idle.get("/metrics")
    assert metrics.status_code == 200 and "tapwell_runs_running 0.0" in metrics.text
