"""A real Prometheus (Debian's package) scrapes serve's /metrics, and a real Pushgateway receives
the metrics of a run started outside serve (cron, a CronJob) when TAPWELL_PUSHGATEWAY is set;
both are queried through their own HTTP APIs."""

from __future__ import annotations

import pytest
from helpers.prometheus import prometheus, pushgateway
from helpers.runner_project import fake_integration, wait_for
from helpers.serve_process import Serve, free_port

pytestmark = pytest.mark.services  # starts servers of its own (and may apt-get them)


def test_a_cron_run_pushes_its_metrics_to_a_pushgateway(proj):
    proj.write({"integrations": {"quick": fake_integration(proj, rows=45, slow=0.3)}})
    gateway = pushgateway(proj.root)
    try:
        done = proj.cli("run", "quick", env={"TAPWELL_PUSHGATEWAY": gateway.url})
        assert done.returncode == 0, done.stderr
        assert "warning" not in done.stderr
        groups = gateway.get("/api/v1/metrics")["data"]
        [group] = [g for g in groups if g["labels"].get("integration") == "quick"]
        assert group["labels"]["job"] == "tapwell"
        rows = group["tapwell_run_last_rows"]["metrics"]
        assert [(m["labels"]["stream"], m["value"]) for m in rows] == [("items", "45")]
        status = group["tapwell_run_last_status"]["metrics"][0]["labels"]["status"]
        assert status == "succeeded"
        assert "tapwell_run_last_success_timestamp_seconds" in group
        peaks = group["tapwell_run_peak_rss_bytes"]["metrics"]
        assert {m["labels"]["stage"] for m in peaks} == {"tap", "target"}
    finally:
        gateway.stop()
    # an unreachable gateway is one warning line; the run still succeeds
    closed = f"http://user:pw-secret@127.0.0.1:{free_port()}"
    done = proj.cli("run", "quick", env={"TAPWELL_PUSHGATEWAY": closed})
    assert done.returncode == 0, done.stderr
    [warning] = [ln for ln in done.stderr.splitlines() if "warning" in ln]
    assert warning.startswith("tapwell: warning: could not push the run's metrics")
    assert "pw-secret" not in done.stderr


def test_prometheus_scrapes_serve(proj):
    proj.write(
        {
            "integrations": {
                "quick": fake_integration(proj, rows=30),
                "idle": {**fake_integration(proj, rows=1), "schedule": "0 3 * * *"},
            }
        }
    )
    serve = Serve(proj.root).start()
    prom = prometheus(proj.root, f"127.0.0.1:{serve.port}")
    try:
        run_id = serve.post("/api/integrations/quick/runs").json()["run_id"]
        wait_for(lambda: serve.get(f"/api/runs/{run_id}").json()["status"] == "succeeded", "run")

        def value(query):
            result = prom.get("/api/v1/query", query=query)["data"]["result"]
            return result[0]["value"][1] if result else None

        wait_for(
            lambda: value('tapwell_runs_total{integration="quick",status="succeeded"}') == "1",
            "a scrape",
            60,
        )
        assert value('tapwell_rows_total{integration="quick",stream="items"}') == "30"
        assert value("tapwell_runs_running") == "0"
        assert value('tapwell_run_duration_seconds_count{integration="quick"}') == "1"
        assert value('tapwell_schedule_next_run_timestamp_seconds{integration="idle"}') is not None
        assert value('up{job="tapwell"}') == "1"
    finally:
        prom.stop()
        assert serve.stop() == 0
