"""Off loopback `tapwell serve` needs TAPWELL_SERVE_TOKEN (refused in one line, exit 2, without
it), then every /api request needs `Authorization: Bearer TOKEN`; /healthz and /metrics do not.
No secret of tapwell.yml or a connector's config appears in an API answer, a log or a metric."""

from __future__ import annotations

import subprocess

from helpers.runner_project import BIN, fake_integration, wait_for
from helpers.serve_process import Serve, free_port

SECRET = "s3cr3t-hunter2-pw"


def test_a_non_loopback_address_needs_a_token(proj):
    proj.write({"integrations": {"a": fake_integration(proj, rows=5)}})
    done = subprocess.run(
        [
            str(BIN / "tapwell"),
            "--project",
            str(proj.root),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "tapwell: error: refusing to listen on 0.0.0.0 without a token: set TAPWELL_SERVE_TOKEN "
        "(every /api request then needs Authorization: Bearer TOKEN), or bind 127.0.0.1"
    ]


def test_token_on_127_0_0_2_and_no_secret_anywhere(proj):
    raw = fake_integration(proj, rows=30, password="${TAP_PASSWORD}")
    proj.write({"integrations": {"a": raw}})
    serve = Serve(
        proj.root,
        host="127.0.0.2",
        env={"TAPWELL_SERVE_TOKEN": "tok-123", "TAP_PASSWORD": SECRET},
    ).start()
    try:
        assert serve.get("/api/integrations").status_code == 401
        wrong = serve.get("/api/integrations", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"].startswith("wrong token")
        missing = serve.post("/api/integrations/a/runs")
        assert missing.status_code == 401 and missing.json()["error"].startswith("missing token")
        assert serve.get("/healthz").status_code == 200
        assert serve.get("/metrics").status_code == 200
        serve.headers = {"Authorization": "Bearer tok-123"}
        run_id = serve.post("/api/integrations/a/runs").json()["run_id"]
        wait_for(lambda: serve.get(f"/api/runs/{run_id}").json()["status"] == "succeeded", "run")
        answers = [
            serve.get("/api/integrations").text,
            serve.get("/api/integrations/a").text,
            serve.get("/api/runs").text,
            serve.get(f"/api/runs/{run_id}").text,
            serve.get(f"/api/runs/{run_id}/log").text,
            serve.get("/metrics").text,
        ]
        log = serve.get(f"/api/runs/{run_id}/log").text
        assert "(password ***)" in log  # the tap printed it; the log masks it
        for text in answers:
            assert SECRET not in text
    finally:
        assert serve.stop() == 0
    assert SECRET not in serve.output()
    assert all(SECRET not in p.read_text() for p in (proj.root / "state").rglob("*") if p.is_file())


def test_a_port_in_use_is_one_line_before_anything_starts(proj):
    """The port is bound before serve starts its scheduler or says it listens: uvicorn's own
    bind printed 'listening on' first, then its ERROR line, and exited 3."""
    import socket

    proj.write({"integrations": {"a": fake_integration(proj, rows=5)}})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(BIN / "tapwell"), "--project", str(proj.root), "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"tapwell: error: cannot listen on 127.0.0.1:{port}: address already in use (another "
        "tapwell serve? choose another --port)"
    ]
