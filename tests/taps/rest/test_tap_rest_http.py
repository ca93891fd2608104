"""tap-rest's HTTP behaviour against a real local server: retries (429 with Retry-After in seconds
and as a date, 5xx, timeouts), rate-limit headers, exit 75 when retries run out, every auth type,
OAuth2 tokens refreshed once on a 401, credentials refused with exit 2, and secrets never shown.

Waits are checked against the server's request log as lower bounds (what the server asked for),
never as speed assertions."""

from __future__ import annotations

import re
import socket
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from helpers.rest_server import RestServer, run_tap
from tapwell.taps.rest import auth as auth_module
from tapwell.taps.rest.config import parse_config


@pytest.fixture
def srv():
    with RestServer() as server:
        yield server


def config(srv: RestServer, path: str, **top: Any) -> dict[str, Any]:
    stream = {
        "name": "orders",
        "path": path,
        "records_path": "$.data[*]",
        "primary_key": ["id"],
        "schema": {"properties": {"id": {"type": "integer"}}},
    }
    stream.update(top.pop("stream", {}))
    return {"base_url": srv.url, "backoff_seconds": 0.01, "streams": [stream], **top}


def gaps(srv: RestServer, path: str) -> list[float]:
    times = [r.at for r in srv.api.requests(path)]
    return [b - a for a, b in zip(times, times[1:])]


@pytest.mark.parametrize(("mode", "asked"), [("seconds", 1.0), ("date", 1.0)])
def test_429_waits_as_long_as_retry_after_says(srv, tmp_path, mode, asked):
    cfg = config(srv, "/flaky_429", stream={"params": {"mode": mode}})
    run = run_tap(cfg, tmp_path)
    assert run.code == 0, run.stderr
    assert [r.status for r in srv.api.requests("/flaky_429")] == [429, 200]
    # an HTTP date has whole seconds: asked for now+2s, at least 1s remains when it is read
    assert gaps(srv, "/flaky_429")[0] >= asked * 0.95
    assert "429 Too Many Requests; retry 1 of 8" in run.stderr
    said = r"retry 1 of 8 in \d+\.\d\ds as the server asked \(Retry-After / rate limit\)$"
    assert re.search(said, run.stderr, re.M), run.stderr  # no parentheses inside parentheses
    assert len(run.records()) == 3


def test_5xx_is_retried_with_backoff_then_succeeds(srv, tmp_path):
    run = run_tap(config(srv, "/flaky_500"), tmp_path)
    assert run.code == 0, run.stderr
    assert [r.status for r in srv.api.requests("/flaky_500")] == [500, 500, 200]
    assert "retry 2 of 8" in run.stderr and "(backoff)" in run.stderr
    assert len(run.records()) == 3


def test_retries_exhausted_exit_75_with_one_line(srv, tmp_path):
    run = run_tap(config(srv, "/always_503", max_retries=2), tmp_path)
    assert run.code == 75
    assert len(srv.api.requests("/always_503")) == 3
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"tap-rest: error: stream 'orders': GET {srv.url}/always_503: 503 Service Unavailable after 3 attempts"
    )
    assert last.endswith("the run can be retried later (exit 75)")
    assert not [s for s in run.states() if s.get("bookmarks")]


def test_max_wait_seconds_caps_the_total_wait(srv, tmp_path):
    run = run_tap(
        config(srv, "/flaky_429", max_wait_seconds=0.5, stream={"params": {"mode": "seconds"}}),
        tmp_path,
    )
    assert run.code == 75
    assert "the next wait (1s) would pass max_wait_seconds (0.5s" in run.stderr
    assert len(srv.api.requests("/flaky_429")) == 1


def test_a_read_timeout_is_retried(srv, tmp_path):
    run = run_tap(config(srv, "/slow", timeout_seconds=0.5), tmp_path)
    assert run.code == 0, run.stderr
    assert "timed out (ReadTimeout)" in run.stderr
    assert len(run.records()) == 2


def test_rate_limit_remaining_zero_waits_for_the_reset(srv, tmp_path):
    run = run_tap(config(srv, "/rate_limited", stream={"paginator": {"type": "page"}}), tmp_path)
    assert run.code == 0, run.stderr
    assert "rate limit reached; waiting 1.00s for its reset" in run.stderr
    assert gaps(srv, "/rate_limited")[0] >= 0.95
    assert len(run.records()) == 25


AUTHS = {
    "/bearer": {"type": "bearer", "token": "s3cret-token"},
    "/basic": {"type": "basic", "username": "ann", "password": "pa55word"},
    "/key_header": {"type": "api_key", "value": "k3y-value"},
    "/key_query": {"type": "api_key", "in": "query", "name": "api_key", "value": "k3y-value"},
}


@pytest.mark.parametrize("path", sorted(AUTHS))
def test_every_auth_type_is_accepted_and_a_wrong_secret_exits_2(srv, tmp_path, path):
    run = run_tap(config(srv, path, auth=AUTHS[path]), tmp_path)
    assert run.code == 0, run.stderr
    assert len(run.records()) == 2
    wrong = {
        k: ("wrong-" + v if k in ("token", "password", "value") else v)
        for k, v in AUTHS[path].items()
    }
    run = run_tap(config(srv, path, auth=wrong), tmp_path)
    assert run.code == 2
    (line,) = [ln for ln in run.stderr.splitlines() if "error" in ln]
    assert "check the credentials in auth (type" in line
    assert f"{srv.url}{path}" in line
    for secret in ("wrong-s3cret-token", "wrong-pa55word", "wrong-k3y-value"):
        assert secret not in run.stderr
    assert len(srv.api.requests(path)) == 2  # refused at once, never retried


@pytest.mark.parametrize(
    "auth",
    [
        {
            "type": "oauth2_client_credentials",
            "client_id": "cid",
            "client_secret": "csecret",
            "scopes": ["read"],
        },
        {"type": "oauth2_refresh_token", "client_id": "cid", "refresh_token": "rtoken"},
    ],
)
def test_oauth2_token_is_cached_and_refreshed_once_on_401(srv, tmp_path, auth):
    auth["token_url"] = srv.url + "/oauth/token"
    cfg = config(srv, "/oauth_orders", auth=auth, stream={"paginator": {"type": "page"}})
    run = run_tap(cfg, tmp_path)
    assert run.code == 0, run.stderr
    assert len(run.records()) == 25
    # 6 pages, a token is good for 2 requests: 3 tokens; each expiry costs one 401 and a refresh
    statuses = [r.status for r in srv.api.requests("/oauth_orders")]
    assert statuses == [200, 200, 401, 200, 200, 401, 200, 200]
    assert len(srv.api.requests("/oauth/token")) == 3
    if auth["type"] == "oauth2_client_credentials":
        assert (
            srv.api.requests("/oauth/token")[0].headers["content-type"]
            == "application/x-www-form-urlencoded"
        )
    assert "401 Unauthorized; refreshing the OAuth2 token once" in run.stderr
    for secret in ("csecret", "rtoken", "tok-1"):
        assert secret not in run.stderr


def test_oauth2_refused_client_exits_2(srv, tmp_path):
    auth = {
        "type": "oauth2_client_credentials",
        "client_id": "cid",
        "client_secret": "nope",
        "token_url": srv.url + "/oauth/token",
    }
    run = run_tap(config(srv, "/oauth_orders", auth=auth), tmp_path)
    assert run.code == 2
    assert run.stderr.strip().splitlines()[-1] == (
        f"tap-rest: error: auth: the token endpoint {srv.url}/oauth/token refused the credentials "
        "(401 Unauthorized); check auth/client_id, client_secret"
    )


def test_oauth2_token_is_reused_until_it_expires_then_fetched_anew(srv, monkeypatch):
    """The clock is the tap's own (monotonic) one, moved by the test: no waiting, no race."""
    srv.api.token_lifetime = 120  # refreshed 30 s early: good for 90 s
    clock = [1000.0]
    monkeypatch.setattr(auth_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    auth = {"type": "oauth2_client_credentials", "client_id": "cid", "client_secret": "csecret"}
    auth["token_url"] = srv.url + "/oauth/token"
    cfg = parse_config(config(srv, "/oauth_orders", auth=auth))
    tokens = auth_module.Auth(cfg.auth, requests.Session(), (5.0, 5.0))

    def header() -> str:
        headers: dict[str, str] = {}
        tokens.apply(headers, {})
        return headers["Authorization"]

    assert header() == "Bearer tok-1"
    clock[0] += 89.0
    assert header() == "Bearer tok-1"  # cached: no second request to the token endpoint
    assert len(srv.api.requests("/oauth/token")) == 1
    clock[0] += 2.0
    assert header() == "Bearer tok-2"  # expired (early): fetched before the API can refuse it
    assert len(srv.api.requests("/oauth/token")) == 2
    assert srv.api.requests("/oauth_orders") == []


def test_oauth2_a_new_token_refused_too_exits_2_after_one_refresh(srv, tmp_path):
    srv.api.token_uses = 0  # the API refuses every token the endpoint gives
    auth = {"type": "oauth2_refresh_token", "client_id": "cid", "refresh_token": "rtoken"}
    auth["token_url"] = srv.url + "/oauth/token"
    run = run_tap(config(srv, "/oauth_orders", auth=auth), tmp_path)
    assert run.code == 2
    assert [r.status for r in srv.api.requests("/oauth_orders")] == [401, 401]
    assert len(srv.api.requests("/oauth/token")) == 2  # refreshed once, never a loop
    last = run.stderr.strip().splitlines()[-1]
    assert last == (
        f"tap-rest: error: stream 'orders': GET {srv.url}/oauth_orders answered 401 Unauthorized: "
        "check the credentials in auth (type 'oauth2_refresh_token')"
    )
    assert "rtoken" not in run.stderr and "tok-2" not in run.stderr


def test_backoff_waits_double_and_the_servers_log_shows_them(srv, tmp_path):
    """5xx without Retry-After: backoff_seconds, then twice that, each plus a jitter of up to
    backoff_seconds; the server saw each retry no sooner than the wait the tap logged."""
    cfg = config(srv, "/flaky_500")
    cfg["backoff_seconds"] = 0.3
    run = run_tap(cfg, tmp_path)
    assert run.code == 0, run.stderr
    logged = [float(w) for w in re.findall(r"retry \d of 8 in ([\d.]+)s \(backoff\)", run.stderr)]
    assert len(logged) == 2
    assert 0.3 <= logged[0] <= 0.6 and 0.6 <= logged[1] <= 0.9
    seen = gaps(srv, "/flaky_500")
    assert seen[0] >= logged[0] - 0.005 and seen[1] >= logged[1] - 0.005  # logged to 0.01 s


def test_the_connect_timeout_is_its_own(tmp_path):
    """A server that never accepts (its listen queue full): the connect timeout (0.3 s) ends each
    attempt, not the read timeout (60 s), and the attempts are retried, then exit 75."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):  # fill the accept queue: the tap's SYN is then dropped
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        cfg = {
            "base_url": f"http://127.0.0.1:{port}",
            "connect_timeout_seconds": 0.3,
            "timeout_seconds": 60,
            "max_retries": 1,
            "backoff_seconds": 0.01,
            "streams": [{"name": "a", "path": "/a", "schema": {"properties": {}}}],
        }
        try:
            run = run_tap(cfg, tmp_path, timeout=50)  # with the read timeout it would take 120 s
        finally:
            for filler in fillers:
                filler.close()
    assert run.code == 75, run.stderr
    assert "timed out (ConnectTimeout); retry 1 of 1" in run.stderr
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"tap-rest: error: stream 'a': GET http://127.0.0.1:{port}/a: timed out (ConnectTimeout) "
            "after 2 attempts"
        )
    )


def test_the_next_page_is_asked_for_while_this_pages_records_are_written(srv, tmp_path):
    """The tap's stdout is not read until the server has seen page 2's request: page 1's records
    (3 MB) cannot all be written before, so only a tap that asks for the next page while it
    writes gets there (one that asks after writing would wait on the pipe, and fail here)."""
    import json
    import subprocess
    import sys
    import threading
    from pathlib import Path

    cfg = config(srv, "/big", stream={"paginator": {"type": "page"}})
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    tap = subprocess.Popen(
        [str(Path(sys.executable).parent / "tap-rest"), "--config", str(tmp_path / "c.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        asked = threading.Event()
        for _ in range(600):  # an event awaited (at most 60 s), not a speed
            if len(srv.api.requests("/big")) >= 2:
                asked.set()
                break
            threading.Event().wait(0.1)
        out, _ = tap.communicate(timeout=120)
    finally:
        tap.kill()
    assert asked.is_set(), "page 2 was not asked for while page 1's records were being written"
    assert out.count(b'"type":"RECORD"') == 30_000
    assert [r.query.get("page") for r in srv.api.requests("/big")] == ["1", "2"]


def test_a_failing_next_page_comes_after_this_pages_records_and_state(srv, tmp_path):
    cfg = config(
        srv,
        "/fail_page2",
        max_retries=1,
        stream={
            "paginator": {"type": "page"},
            "replication_key": "updated_at",
            "records_sorted": True,
            "schema": {"properties": {"id": {"type": "integer"}, "updated_at": {"type": "string"}}},
        },
    )
    run = run_tap(cfg, tmp_path)
    assert run.code == 75
    kinds = [m["type"] for m in run.messages]
    assert kinds.count("RECORD") == 10 and kinds[-1] == "STATE"  # page 1's, then its bookmark
    assert (
        run.states()[-1]["bookmarks"]["orders"]["replication_key_value"]
        == (srv.api.orders[9]["updated_at"])
    )
    assert "503 Service Unavailable after 2 attempts" in run.stderr.strip().splitlines()[-1]
