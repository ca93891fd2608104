"""A secret-named `${VAR}` (PG_PASSWORD, API_TOKEN) placed under a key that does not look secret
(`key:`, `conn_opts:`, inside a DSN) is masked wherever a connector prints it, in whatever form
(as is, URL-encoded, JSON-escaped, inside a longer line): on the terminal, in the run log and
run record (`tapwell runs`, `tapwell logs`, the files of the history store) and in serve's API
and pages. A 2-character secret is left alone, and no other word of the log is garbled."""

from __future__ import annotations

import sys
import warnings

import orjson
from tapwell.runner.serve.app import make_app
from tapwell.runner.serve.service import Service

with warnings.catch_warnings():  # starlette asks for httpx2; httpx (what we have) works
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

PW = 'Hunter2 p@ss/w"rd-é😀'
NEEDLES = [PW, "Hunter2", "p%40ss", "p@ss/w", 'w\\"rd', "\\u00e9\\ud83d"]

# prints its config as JSON (ASCII escapes) and then a DSN with the password URL-encoded, exits 1
PRINT_TAP = r"""
import json, sys
from urllib.parse import quote
args = sys.argv[1:]
if "--about" in args or "--help" in args:
    print("{}" if "--about" in args else "usage: print-tap --config C --catalog C")
    sys.exit(0)
config = json.load(open(args[args.index("--config") + 1]))
sys.stderr.write("print-tap: config " + json.dumps(config) + "\n")
dsn = "postgresql://u:" + quote(config["key"], safe="") + "@db.example/shop"
sys.stderr.write(f"print-tap: error: cannot reach {dsn} ({config['conn_opts']}) as ab; abcdef\n")
sys.exit(1)
"""

CATALOG = {
    "streams": [
        {
            "tap_stream_id": "s",
            "stream": "s",
            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
        }
    ]
}


def test_secret_env_values_are_masked_wherever_they_are_placed(proj):
    config = {
        "key": "${PG_PASSWORD}",
        "conn_opts": "-c statement_timeout=0 password=${PG_PASSWORD} x",
        "url": "postgresql://u:${PG_PASSWORD}@db.example/shop",
        "short": "${API_TOKEN}",
    }
    tap = {"name": "print-tap", "command": [sys.executable, "-c", PRINT_TAP], "config": config}
    target = {"name": "target-jsonl", "config": {"destination_path": str(proj.root / "out")}}
    proj.write({"integrations": {"p": {"tap": tap, "target": target, "retry": {"attempts": 1}}}})
    (proj.root / "catalogs").mkdir()
    (proj.root / "catalogs" / "p.json").write_bytes(orjson.dumps(CATALOG))
    env = {"PG_PASSWORD": PW, "API_TOKEN": "ab"}

    run = proj.cli("run", "p", env=env)
    assert run.returncode == 1, run.stderr
    runs = proj.cli("runs", env=env)
    run_id = runs.stdout.splitlines()[1].split()[0]
    logs = proj.cli("logs", run_id, env=env)
    assert "print-tap: error: cannot reach postgresql://u:***@db.example/shop" in logs.stdout
    assert "password=*** x) as ab; abcdef" in logs.stdout  # the short secret and words intact
    texts = [run.stdout + run.stderr, runs.stdout, logs.stdout + logs.stderr]

    service = Service(proj.root, log=lambda line: None)
    try:
        client = TestClient(make_app(service))
        for path in (
            "/api/runs",
            f"/api/runs/{run_id}",
            f"/api/runs/{run_id}/log",
            f"/runs/{run_id}",
            "/api/integrations/p",
        ):
            page = client.get(path)
            assert page.status_code == 200, (path, page.text)
            texts.append(page.text)
    finally:
        service.store.close()
    for path in proj.root.rglob("*"):
        if path.is_file() and path.name != "tapwell.yml":
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    found = [(n, t[:2000]) for t in texts for n in NEEDLES if n in t]
    assert not found, found


# prints what it was given through the environment (as a connector that logs its environment or
# quotes a shared credential would), then fails
ENV_TAP = r"""
import os, sys
args = sys.argv[1:]
if "--about" in args or "--help" in args:
    print("{}" if "--about" in args else "usage: env-tap --config C --catalog C")
    sys.exit(0)
sys.stderr.write("env-tap: error: " + os.environ["HOOK_PATH"] + " / " + os.environ["HC_ID"] + "\n")
sys.exit(1)
"""
HOOK = 'T0 B0/s"q@x%2F/é😀-hook'  # names a secret nowhere: secret by where tapwell.yml puts it
HC = "hc 'uuid' 4242-ü"


def test_env_values_in_notify_and_state_are_masked_everywhere(proj, monkeypatch):
    """`${VAR}`s of `notify:` (a webhook's path is its token) and of `state:`'s dsn are secrets
    whatever their names: masked in the terminal, run log, history, API, pages and /metrics. A
    notify URL with a blank was a crash whose traceback quoted it; a DSN password with a blank
    was masked by position up to the blank only (psycopg2 quoted `Hunter2 pw`)."""
    tap = {"name": "env-tap", "command": [sys.executable, "-c", ENV_TAP], "config": {}}
    target = {"name": "target-jsonl", "config": {"destination_path": str(proj.root / "out")}}
    notify = {
        "on_failure": "http://127.0.0.1:9/services/${HOOK_PATH}",
        "healthcheck": "http://127.0.0.1:9/${HC_ID}",
    }
    raw = {"tap": tap, "target": target, "retry": {"attempts": 1}, "notify": notify}
    proj.write({"integrations": {"p": raw}})
    (proj.root / "catalogs").mkdir()
    (proj.root / "catalogs" / "p.json").write_bytes(orjson.dumps(CATALOG))
    env = {"HOOK_PATH": HOOK, "HC_ID": HC}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    needles = [HOOK, HC, "T0 B0", "T0%20B0", "4242-", "uuid"]

    run = proj.cli("run", "p")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    runs = proj.cli("runs")
    run_id = runs.stdout.splitlines()[1].split()[0]
    logs = proj.cli("logs", run_id)
    assert "env-tap: error: *** / ***" in logs.stdout, logs.stdout
    assert "[tapwell] notification failed: a URL of notify: in tapwell.yml is not a valid" in (
        logs.stdout
    )
    texts = [run.stdout + run.stderr, runs.stdout, logs.stdout + logs.stderr]
    service = Service(proj.root, log=lambda line: None)
    try:
        client = TestClient(make_app(service))
        for path in (
            "/api/runs",
            f"/api/runs/{run_id}",
            f"/api/runs/{run_id}/log",
            f"/runs/{run_id}",
            "/api/integrations/p",
            "/",
            "/metrics",
        ):
            page = client.get(path)
            assert page.status_code == 200, (path, page.text)
            texts.append(page.text)
    finally:
        service.store.close()
    for path in proj.root.rglob("*"):
        if path.is_file() and path.name != "tapwell.yml":
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    found = [(n, t[:2000]) for t in texts for n in needles if n in t]
    assert not found, found

    # the postgres state backend's DSN, its password from a variable no name marks as secret
    login = 'Hunter2 pw/w"rd-é😀'
    monkeypatch.setenv("STATE_LOGIN", login)
    dsn = "postgresql://postgres:${STATE_LOGIN}@127.0.0.1:5432/postgres"
    proj.write({"state": {"backend": "postgres", "dsn": dsn}, "integrations": {"p": raw}})
    for args in (("runs",), ("run", "p")):
        done = proj.cli(*args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("tapwell: error: state backend: cannot connect"), done.stderr
        assert "Hunter2" not in done.stderr and "w/w" not in done.stderr, done.stderr
