"""A fan-out target that is not required fails mid-run: its lag (STATE messages and seconds) is
in the run record, `tapwell runs NAME`, `tapwell runs RUN_ID` (text and JSON), the webhook,
serve's run JSON and Prometheus /metrics, each read as a user or a scraper would."""

from __future__ import annotations

import http.server
import json
import re
import threading

from helpers.runner_project import BIN, KILLER_TARGET, duckdb_target, fake_integration
from helpers.serve_process import Serve

SECRET = "pw-never-shown-3f9"


class _Hooks(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802
        _Hooks.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _project(proj, hook: str) -> None:
    raw = fake_integration(proj)
    raw.pop("target")
    jsonl = {
        "name": "jsonl",
        "command": KILLER_TARGET,
        "required": False,
        "config": {
            "real": str(BIN / "target-jsonl"),
            "real_config": {"destination_path": str(proj.root / "out2"), "batch_size_rows": 40},
            "counter": str(proj.root / "killer.txt"),
            "fail_times": 1,
            "kill_after": 120,
            "password": SECRET,
        },
    }
    raw["targets"] = [duckdb_target(proj), jsonl]
    raw["retry"] = {"attempts": 1, "backoff_seconds": 0}
    raw["notify"] = {"on_success": hook}
    proj.write({"integrations": {"fan": raw}})


def test_a_failed_secondary_shows_its_lag_everywhere(proj, expected_rows):
    _Hooks.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _project(proj, f"http://127.0.0.1:{server.server_address[1]}/hook")
        done = proj.cli("run", "fan")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    assert proj.duckdb_rows() == expected_rows(300)
    states = json.loads(proj.cli("state", "show", "fan", "--target", "jsonl").stdout)
    committed = states["bookmarks"]["items"]["last_id"]
    assert 0 < committed < 300
    # the fake tap writes a STATE every 25 rows (indexes 0 to 11) and the last one again (12)
    lag_states = 12 - (committed // 25 - 1)

    # the run record
    from tapwell.runner.statestore import open_backend

    store = open_backend(proj.load(), "fan")
    [run] = store.runs("fan", 5)
    store.close()
    assert run.outcome == "succeeded"
    assert run.targets["jsonl"]["behind"]["states"] == lag_states
    assert run.targets["target-duckdb"]["behind"]["states"] == 0
    seconds = run.targets["jsonl"]["behind"]["seconds"]
    assert seconds >= 0
    assert run.behind == {
        "jsonl": {
            "states": lag_states,
            "seconds": seconds,
            "required": False,
            "exit_code": run.targets["jsonl"]["exit_code"],
            "most_states": run.targets["jsonl"]["most_behind_states"],
        }
    }
    assert run.targets["jsonl"]["exit_code"] != 0
    assert "not required target(s) failed and are behind: jsonl (exit" in done.stderr

    # tapwell runs NAME: a BEHIND column
    table = proj.cli("runs", "fan")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    at = header.index("BEHIND")
    assert row[at:].startswith(f"jsonl {lag_states} STATE/{seconds:g}s"), table.stdout

    # tapwell runs RUN_ID: a line per target
    shown = proj.cli("runs", run.id)
    assert shown.returncode == 0, shown.stderr
    [line] = [ln for ln in shown.stdout.splitlines() if ln.strip().startswith("jsonl ")]
    assert (
        f"not required, exit {run.targets['jsonl']['exit_code']}, " in line
        and f"behind the tap by {lag_states} STATE message(s) ({seconds:g}s)" in line
    ), line
    [first] = [ln for ln in shown.stdout.splitlines() if ln.strip().startswith("target-duckdb ")]
    assert "required, exit 0, 300 rows, behind the tap by 0 STATE message(s)" in first

    # --json (the API's shape)
    listed = json.loads(proj.cli("runs", "fan", "--json").stdout)["runs"][0]
    assert listed["behind"]["jsonl"]["states"] == lag_states
    detail = json.loads(proj.cli("runs", run.id, "--json").stdout)
    assert detail["targets"]["jsonl"]["behind"] == {"states": lag_states, "seconds": seconds}

    # the webhook
    [body] = [json.loads(b) for b in _Hooks.bodies]
    assert body["tapwell"]["behind"]["jsonl"]["states"] == lag_states
    assert f"jsonl (exit {run.targets['jsonl']['exit_code']}, {lag_states} STATE" in body["text"]

    # serve: the run's JSON and /metrics
    serve = Serve(proj.root).start()
    try:
        api = serve.get(f"/api/runs/{run.id}").json()
        assert api["behind"]["jsonl"]["states"] == lag_states
        assert api["targets"]["jsonl"]["behind"]["states"] == lag_states
        listing = serve.get("/api/runs", params={"integration": "fan"}).json()
        assert listing["runs"][0]["behind"]["jsonl"]["seconds"] == seconds
        metrics = serve.get("/metrics").text
    finally:
        assert serve.stop() == 0, serve.output()
    values = dict(
        re.findall(
            r'^(tapwell_target_\w+\{integration="fan",target="[^"]+"\}) (\S+)$', metrics, re.M
        )
    )
    assert float(values['tapwell_target_behind_states{integration="fan",target="jsonl"}']) == (
        lag_states
    )
    assert float(values['tapwell_target_behind_seconds{integration="fan",target="jsonl"}']) == (
        seconds
    )
    assert values['tapwell_target_behind_states{integration="fan",target="target-duckdb"}'] == "0.0"
    assert 'tapwell_target_copy_wait_seconds{integration="fan",target="jsonl"}' in values
    for text in (done.stderr, table.stdout, shown.stdout, json.dumps(detail), metrics, str(api)):
        assert SECRET not in text
