"""discover/validate against a CSV source whose columns change, webhooks and the dead-man switch
received by a local HTTP server, crontab lines, and Kubernetes CronJob manifests loaded as
Kubernetes objects (the kubernetes client's models, offline)."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
import yaml
from helpers.runner_project import RUNNER_DIR, fake_integration


def csv_project(proj, header="id,name,amount", rows=("1,a,1.50", "2,b,2.25")):
    (proj.root / "data").mkdir(exist_ok=True)
    (proj.root / "data" / "t.csv").write_text("\n".join([header, *rows]) + "\n")
    proj.write(
        {
            "integrations": {
                "csv": {
                    "tap": {
                        "name": "tap-csv",
                        "config": {
                            "base_dir": "data",
                            "streams": [{"name": "t", "path": "t.csv", "key_properties": ["id"]}],
                        },
                    },
                    "target": {"name": "target-jsonl", "config": {"destination_path": "out"}},
                    "select": ["t", "!t.name"],
                    "schedule": "15 2 * * *",
                }
            }
        }
    )


def test_discover_writes_catalog_with_selection(proj):
    csv_project(proj)
    done = proj.cli("discover", "csv")
    assert done.returncode == 0, done.stderr
    assert "selected: t" in done.stderr
    catalog = json.loads((proj.root / "catalogs" / "csv.json").read_text())
    md = {tuple(m["breadcrumb"]): m["metadata"] for m in catalog["streams"][0]["metadata"]}
    assert md[()]["selected"] is True and md[("properties", "name")]["selected"] is False
    assert proj.cli("run", "csv").returncode == 0
    lines = [json.loads(x) for x in (proj.root / "out" / "t.jsonl").read_text().splitlines()]
    assert [sorted(r) for r in lines] == [["amount", "id"], ["amount", "id"]]  # !t.name kept it out
    assert proj.cli("validate", "csv").returncode == 0


def test_validate_reports_added_and_dropped_columns(proj):
    csv_project(proj)
    assert proj.cli("discover", "csv").returncode == 0
    csv_project(
        proj, header="id,amount,country", rows=("1,1.50,FR",)
    )  # name dropped, country added
    done = proj.cli("validate", "csv")
    assert done.returncode == 0, done.stdout  # name was not selected: dropping it breaks nothing
    assert "ok        t: column added: country (string)" in done.stdout
    assert "ok        t: column removed: name (not selected)" in done.stdout
    csv_project(proj, header="id,name,extra", rows=("1,a,x",))  # amount dropped
    done = proj.cli("validate", "csv")
    assert done.returncode == 1
    assert "BREAKING  t: column removed: amount" in done.stdout
    assert "ok        t: column added: extra (string)" in done.stdout
    assert "1 breaking change(s)" in done.stderr and "tapwell discover csv" in done.stderr
    csv_project(proj, header="id,name,amount", rows=("1,a,not a number",))
    done = proj.cli("validate", "csv")
    assert (
        done.returncode == 1 and "BREAKING  t: type changed: amount number -> string" in done.stdout
    )


class Hooks(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def _reply(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Hooks.received.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _reply  # noqa: N815

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hook_server():
    Hooks.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Hooks.received
    server.shutdown()
    server.server_close()


def test_webhooks_and_dead_man_switch(proj, hook_server):
    url, received = hook_server
    notify = {
        "on_failure": f"{url}/fail-hook",
        "on_success": [f"{url}/ok-hook"],
        "healthcheck": f"{url}/hc/abc",
    }
    ok = {**fake_integration(proj, rows=10), "notify": notify}
    bad = {**fake_integration(proj, mode="config", password="pw-never-sent"), "notify": notify}
    proj.write({"integrations": {"ok": ok, "bad": bad}})
    assert proj.cli("run", "ok").returncode == 0
    assert [(m, p) for m, p, _ in received] == [
        ("GET", "/hc/abc/start"),
        ("POST", "/ok-hook"),
        ("GET", "/hc/abc"),
    ]
    body = json.loads(received[1][2])
    assert body["text"].startswith(
        ":white_check_mark: tapwell: ok succeeded after 1 attempt(s), 10 rows"
    )
    assert body["tapwell"]["rows"] == {"items": 10} and body["tapwell"]["outcome"] == "succeeded"

    received.clear()
    assert proj.cli("run", "bad").returncode == 2
    assert [(m, p) for m, p, _ in received] == [
        ("GET", "/hc/abc/start"),
        ("POST", "/fail-hook"),
        ("GET", "/hc/abc/fail"),
    ]
    body = json.loads(received[1][2])
    assert body["tapwell"]["outcome"] == "failed" and "authentication failed" in body["text"]
    assert b"pw-never-sent" not in received[1][2]


def test_unreachable_webhook_does_not_fail_the_run(proj):
    raw = {
        **fake_integration(proj, rows=5),
        "notify": {"on_success": "http://127.0.0.1:9/nothing-listens"},
    }
    proj.write({"integrations": {"n": raw}})
    done = proj.cli("run", "n")
    assert done.returncode == 0
    assert "notification to http://127.0.0.1/... failed" in done.stderr


def test_crontab_lines(proj):
    csv_project(proj)
    out = proj.cli("schedule", "crontab").stdout.splitlines()
    assert out[0].startswith("# tapwell:")
    assert out[-2] == "CRON_TZ=UTC"  # no timezone: UTC, as tapwell serve reads it
    assert (
        out[-1].startswith("15 2 * * * cd ")
        and " run csv --quiet >> " in out[-1]
        and out[-1].endswith("2>&1")
    )


def test_kubernetes_manifests_load_as_cronjobs(proj):
    from kubernetes.client import ApiClient, V1CronJob

    csv_project(proj)
    raw = yaml.safe_load((proj.root / "tapwell.yml").read_text())
    raw["integrations"]["Orders_To-PG"] = {
        "tap": {
            "name": "tap-mysql",
            "config": {"password": "${MYSQL_PASSWORD}", "host": "${MYSQL_HOST}"},
        },
        "target": "target-postgres",
        "schedule": "*/30 * * * *",
    }
    raw["integrations"]["manual"] = {
        "tap": "tap-csv",
        "target": "target-jsonl",
    }  # no schedule: no CronJob
    raw["kubernetes"] = {
        "image": "registry.example/tapwell:1.2",
        "secret": "tapwell-env",
        "namespace": "data",
    }
    proj.write(raw)
    done = proj.cli("schedule", "kubernetes")
    assert done.returncode == 0, done.stderr
    files = sorted((proj.root / "deploy").glob("*.yaml"))
    assert [f.name for f in files] == [
        "tapwell-csv.cronjob.yaml",
        "tapwell-orders-to-pg.cronjob.yaml",
    ]

    for path in files:
        doc = yaml.safe_load(path.read_text())
        job = ApiClient().deserialize(json.dumps(doc), "V1CronJob", "application/json")
        assert isinstance(job, V1CronJob)
        assert (job.api_version, job.kind, job.metadata.namespace) == (
            "batch/v1",
            "CronJob",
            "data",
        )
        assert job.spec.concurrency_policy == "Forbid"
        pod = job.spec.job_template.spec.template.spec
        assert pod.restart_policy == "Never" and job.spec.job_template.spec.backoff_limit == 0
        container = pod.containers[0]
        assert container.image == "registry.example/tapwell:1.2" and container.args[0] == "run"
        env = {e.name: e for e in container.env}
        assert env["TAPWELL_STATE_BACKEND"].value == "postgres"
        assert env["TAPWELL_STATE_DSN"].value_from.secret_key_ref.name == "tapwell-env"
        # the client drops unknown keys silently: the manifest must hold nothing it dropped
        assert ApiClient().sanitize_for_serialization(job) == doc

    pg = yaml.safe_load(files[1].read_text())
    assert pg["spec"]["schedule"] == "*/30 * * * *"
    container = pg["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["run", "Orders_To-PG", "--quiet"]
    secrets = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["key"]
        for e in container["env"]
        if "valueFrom" in e
    }
    assert secrets == {
        "MYSQL_PASSWORD": "MYSQL_PASSWORD",
        "MYSQL_HOST": "MYSQL_HOST",
        "TAPWELL_STATE_DSN": "TAPWELL_STATE_DSN",
    }


def test_committed_example_project_and_deploy_manifests_match(tmp_path):
    """The repo's tapwell.yml passes its schema, and deploy/ is what `tapwell schedule kubernetes`
    writes from it (regenerate with `tapwell schedule kubernetes` after changing tapwell.yml)."""
    from kubernetes.client import ApiClient
    from tapwell.runner.project import load_project
    from tapwell.runner.schedule import write_kubernetes

    root = RUNNER_DIR.parent.parent
    project = load_project(root)
    written = write_kubernetes(project, tmp_path)
    committed = sorted((root / "deploy").glob("*.cronjob.yaml"))
    assert [p.name for p in written] == [p.name for p in committed]
    for new, old in zip(written, committed, strict=True):
        assert new.read_text() == old.read_text(), (
            f"{old} is stale: run `tapwell schedule kubernetes`"
        )
        doc = yaml.safe_load(old.read_text())
        job = ApiClient().deserialize(json.dumps(doc), "V1CronJob", "application/json")
        assert ApiClient().sanitize_for_serialization(job) == doc
        env = {
            e.name: e.value_from.secret_key_ref
            for e in job.spec.job_template.spec.template.spec.containers[0].env
            if e.value_from
        }
        assert env["MYSQL_PASSWORD"].optional is None  # required: no default in tapwell.yml
        assert env["MYSQL_HOST"].optional is True  # ${MYSQL_HOST:-127.0.0.1}
