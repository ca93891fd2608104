"""tap-rest's edges: a POST body with placeholders, connection errors retried then exit 75, the
wait read from each rate-limit header form, and `tapwell check tap` on tap-rest."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from email.utils import formatdate

import pytest
import requests
from helpers.rest_server import RestServer, run_tap
from tapwell.taps.rest.client import server_wait


@pytest.fixture
def srv():
    with RestServer() as server:
        yield server


def test_post_body_gets_the_start_placeholder(srv, tmp_path):
    cfg = {
        "base_url": srv.url,
        "streams": [
            {
                "name": "orders",
                "path": "/incremental",
                "method": "POST",
                "records_path": "$.data[*]",
                "primary_key": ["id"],
                "replication_key": "updated_at",
                "start_value": "2024-01-05T00:00:00Z",
                "start_format": "epoch",
                "body": {"filter": {"updated_after": "{start}"}, "limit": 10},
                "schema": {
                    "properties": {
                        "id": {"type": "integer"},
                        "updated_at": {"type": "string", "format": "date-time"},
                    }
                },
            }
        ],
    }
    run = run_tap(cfg, tmp_path)
    assert run.code == 0, run.stderr
    (req,) = srv.api.requests("/incremental")
    assert req.method == "POST"
    assert json.loads(req.body) == {"filter": {"updated_after": "1704412800"}, "limit": 10}
    # the route ignores the body and sends its first 10: the client filter keeps the new ones
    assert [r["id"] for r in run.records()] == list(range(5, 11))


def test_connection_refused_is_retried_then_exit_75(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    cfg = {
        "base_url": f"http://127.0.0.1:{port}",
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "streams": [{"name": "a", "path": "/a", "schema": {"properties": {}}}],
    }
    run = run_tap(cfg, tmp_path)
    assert run.code == 75
    assert run.stderr.count("connection failed (ConnectionError); retry") == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"tap-rest: error: stream 'a': GET http://127.0.0.1:{port}/a: connection failed"
    )
    assert "after 3 attempts" in last and last.endswith("the run can be retried later (exit 75)")


def _response(status: int, **headers: str) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.headers.update(headers)
    return resp


def test_the_wait_from_every_header_form():
    assert server_wait(_response(429, **{"Retry-After": "7"})) == 7.0
    date_wait = server_wait(
        _response(503, **{"Retry-After": formatdate(time.time() + 30, usegmt=True)})
    )
    assert date_wait is not None and 28 <= date_wait <= 30
    assert server_wait(_response(429, **{"X-RateLimit-Reset": "12"})) == 12.0
    epoch_wait = server_wait(_response(429, **{"X-RateLimit-Reset": str(int(time.time()) + 20)}))
    assert epoch_wait is not None and 18 <= epoch_wait <= 20
    assert server_wait(_response(429, **{"RateLimit-Reset": "4"})) == 4.0
    assert server_wait(_response(429, RateLimit="limit=100, remaining=0, reset=5")) == 5.0
    assert server_wait(_response(429, RateLimit='"default";r=0;t=9')) == 9.0
    assert server_wait(_response(500, **{"X-RateLimit-Reset": "12"})) is None  # not a limit
    assert server_wait(_response(429)) is None  # then: backoff with jitter


def test_tapwell_check_tap_passes_on_tap_rest(srv, tmp_path, bin_path):
    cfg = {
        "base_url": srv.url,
        "streams": [
            {
                "name": "orders",
                "path": "/incremental",
                "records_path": "$.data[*]",
                "primary_key": ["id"],
                "replication_key": "updated_at",
                "records_sorted": True,
                "params": {"since": "{start}"},
                "paginator": {"type": "page"},
            },
            {
                "name": "order_items",
                "parent": "orders",
                "path": "/orders/{id}/items",
                "records_path": "$.items[*]",
                "primary_key": ["id"],
                "parent_fields": ["id"],
                "ignore_status": [404],
                "replication_key": "updated_at",
            },
        ],
    }
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    out = subprocess.run(
        [
            str(bin_path / "tapwell"),
            "check",
            "tap",
            "--",
            str(bin_path / "tap-rest"),
            "--config",
            str(tmp_path / "c.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tap: conforms" in out.stdout + out.stderr


def test_a_misspelt_records_path_is_said_once(srv, tmp_path):
    """`$.dta[*]` on `{"data": [...]}` synced nothing with exit 0 and only info lines. Now one
    warning names the path, the URL and the body's keys; an empty `data` list says nothing."""

    def stream(records_path, page):
        return {
            "name": "orders",
            "path": "/orders_page",
            "records_path": records_path,
            "params": {"page": page},
            "schema": {"properties": {"id": {"type": "integer"}}},
        }

    run = run_tap({"base_url": srv.url, "streams": [stream("$.dta[*]", 1)]}, tmp_path)
    assert run.code == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line]
    assert warnings == [
        f"tap-rest WARNING stream orders: records_path $.dta[*] matches nothing in "
        f"{srv.url}/orders_page?page=1 (its top-level keys: data): check records_path"
    ]
    empty = run_tap({"base_url": srv.url, "streams": [stream("$.data[*]", 99)]}, tmp_path)
    assert empty.code == 0 and "WARNING" not in empty.stderr, empty.stderr
