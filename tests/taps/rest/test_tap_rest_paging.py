"""tap-rest against a real local HTTP server: every paginator and stop rule, loops, exact values,
record shapes (records_path, JSON lines, a single object), and --probe."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from helpers.rest_server import BIG_ID, RestServer, run_tap


@pytest.fixture
def srv():
    with RestServer() as server:
        yield server


def config(srv: RestServer, **stream: Any) -> dict[str, Any]:
    base = {"name": "orders", "primary_key": ["id"], "records_path": "$.data[*]"}
    return {"base_url": srv.url, "backoff_seconds": 0.01, "streams": [{**base, **stream}]}


PAGINATORS = {
    "page": dict(
        path="/orders_page",
        paginator={"type": "page", "page_size": 10, "page_size_param": "per_page"},
    ),
    "page0": dict(
        path="/orders_page0",
        paginator={
            "type": "page",
            "param": "p",
            "start": 0,
            "page_size": 10,
            "page_size_param": "size",
        },
    ),
    "offset": dict(
        path="/orders_offset",
        records_path="$.items[*]",
        paginator={"type": "offset", "page_size": 10},
    ),
    "cursor": dict(
        path="/orders_cursor",
        params={"limit": 10},
        paginator={"type": "cursor", "cursor_path": "$.meta.next"},
    ),
    "next_url": dict(
        path="/orders_next", paginator={"type": "next_url", "next_url_path": "$.links.next"}
    ),
    "link_header": dict(path="/orders_link", records_path=None, paginator={"type": "link_header"}),
    "header_cursor": dict(
        path="/orders_hcursor",
        paginator={"type": "header_cursor", "header": "X-Next-Cursor", "param": "token"},
    ),
    "has_more": dict(
        path="/orders_hasmore",
        paginator={"type": "page", "has_more_path": "$.has_more", "stop_on_empty": False},
    ),
}
STOPS = {
    "page": "an empty page",
    "page0": "an empty page",
    "offset": "an empty page",
    "cursor": "no next cursor (cursor_path $.meta.next is empty)",
    "next_url": "no next URL (next_url_path $.links.next is empty)",
    "link_header": 'no next URL (Link header rel="next" is empty)',
    "header_cursor": "no next cursor (header X-Next-Cursor is empty)",
    "has_more": "has_more_path $.has_more is False",
}


@pytest.mark.parametrize("style", sorted(PAGINATORS))
def test_every_paginator_reads_every_record_exactly_and_logs_why_it_stopped(srv, tmp_path, style):
    run = run_tap(config(srv, **PAGINATORS[style]), tmp_path)
    assert run.code == 0, run.stderr
    assert run.records("orders") == srv.api.orders  # row by row, every value as the server sent it
    assert "stream orders: stopped after" in run.stderr
    assert STOPS[style] in run.stderr


def test_numbers_text_and_timestamps_arrive_exactly(srv, tmp_path):
    run = run_tap(config(srv, **PAGINATORS["page"]), tmp_path)
    seven = run.records()[6]
    assert seven["customer_id"] == BIG_ID and isinstance(seven["customer_id"], int)
    assert seven["price"] == Decimal("0.1")
    assert run.records()[2]["note"] == ""  # '' stays ''
    assert seven["note"] == "order 7 🎉"
    assert seven["updated_at"] == "2024-01-07T10:00:00.123456Z"
    raw = [m for m in run.messages if m["type"] == "RECORD"][6]
    assert raw["record"]["price"] == Decimal("0.1")


def test_total_path_stops_when_the_total_is_read(srv, tmp_path):
    run = run_tap(
        config(srv, path="/orders_total", paginator={"type": "page", "total_path": "$.total"}),
        tmp_path,
    )
    assert run.code == 0, run.stderr
    assert len(run.records()) == 30  # 3 pages of 10: the first page past 25
    assert "total_path $.total: 30 of 25 records read" in run.stderr


def test_max_pages_caps_the_run(srv, tmp_path):
    run = run_tap(
        config(
            srv,
            **dict(
                PAGINATORS["page"],
                paginator={
                    "type": "page",
                    "page_size": 10,
                    "page_size_param": "per_page",
                    "max_pages": 2,
                },
            ),
        ),
        tmp_path,
    )
    assert run.code == 0, run.stderr
    assert run.records() == srv.api.orders[:20]
    assert "max_pages (2) reached" in run.stderr


def test_a_repeated_cursor_is_a_loop_error_not_an_endless_run(srv, tmp_path):
    run = run_tap(
        config(srv, path="/loop_cursor", paginator={"type": "cursor", "cursor_path": "$.next"}),
        tmp_path,
    )
    assert run.code == 1
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("tap-rest: error: stream 'orders': pagination loop:")
    assert "'A' already used" in line and "set max_pages" in line
    assert len(srv.api.requests("/loop_cursor")) == 3
    assert "Traceback" not in run.stderr


def test_an_api_that_ignores_the_page_param_is_a_loop_error(srv, tmp_path):
    run = run_tap(config(srv, path="/loop_page", paginator={"type": "page"}), tmp_path)
    assert run.code == 1
    assert (
        "page 2 is the same as page 1; the API ignores the paginator's param ('page')" in run.stderr
    )
    assert len(srv.api.requests("/loop_page")) == 2


def test_json_lines_and_a_single_object(srv, tmp_path):
    run = run_tap(
        config(srv, path="/orders_jsonl", records_path=None, response_format="jsonl"), tmp_path
    )
    assert run.code == 0, run.stderr
    assert run.records() == srv.api.orders[:5]
    run = run_tap(config(srv, path="/single", records_path=None), tmp_path)
    assert run.records() == [{"id": 1, "name": "the account", "balance": Decimal("0.10")}]


def test_malformed_json_is_one_line_with_stream_url_and_fix(srv, tmp_path):
    cfg = config(srv, path="/malformed", params={"api_key": "k3y-value"})
    cfg["auth"] = {"type": "api_key", "in": "query", "name": "api_key", "value": "k3y-value"}
    cfg["streams"][0]["params"] = {}
    cfg["streams"][0]["schema"] = {"properties": {"id": {"type": "integer"}}}
    run = run_tap(cfg, tmp_path)
    assert run.code == 65
    lines = [ln for ln in run.stderr.splitlines() if "error" in ln]
    assert len(lines) == 1
    assert lines[0].startswith(f"tap-rest: error: stream 'orders': {srv.url}/malformed?api_key=***")
    assert "not valid JSON" in lines[0] and "check base_url and the stream's path" in lines[0]
    assert "k3y-value" not in run.stderr
    assert not run.records()


def test_declared_schema_discovers_without_a_request(srv, tmp_path):
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    run = run_tap(config(srv, path="/orders_page", schema=schema), tmp_path, "--discover")
    assert run.code == 0, run.stderr
    (entry,) = run.messages[0]["streams"]
    assert entry["schema"]["properties"] == {"id": {"type": "integer"}}
    root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
    assert root["tapwell-schema-source"] == "declared"
    assert srv.api.log == []


def test_inferred_schema_says_so_and_a_later_misfit_names_stream_and_property(srv, tmp_path):
    srv.api.orders[20]["price"] = "n/a"  # page 3: past the 10 records the schema is inferred from
    run = run_tap(config(srv, infer_records=10, **PAGINATORS["page"]), tmp_path, "--discover")
    root = next(
        m["metadata"] for m in run.messages[0]["streams"][0]["metadata"] if m["breadcrumb"] == []
    )
    assert root["tapwell-schema-source"] == "inferred"
    assert "schema inferred from 10 record(s)" in run.stderr
    run = run_tap(config(srv, infer_records=10, **PAGINATORS["page"]), tmp_path)
    assert run.code == 1
    line = run.stderr.strip().splitlines()[-1]
    assert (
        "stream 'orders', page 3" in line and "record 1: property 'price' is string ('n/a')" in line
    )
    assert (
        "declare it in the stream's `schema`" in line
        and '"price":{"type":["null","number"]}' in line
    )
    assert len(run.records()) == 20


def test_probe_shows_two_requests_records_next_page_and_schema(srv, tmp_path):
    cfg = config(srv, **PAGINATORS["cursor"])
    cfg["auth"] = {"type": "bearer", "token": "s3cret-token"}
    run_dir = tmp_path
    import subprocess
    import sys
    from pathlib import Path

    (run_dir / "c.json").write_text(__import__("json").dumps(cfg))
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "tap-rest"),
            "--config",
            str(run_dir / "c.json"),
            "--probe",
            "orders",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "== request 1\nGET " + srv.url + "/orders_cursor?limit=10" in text
    assert "Authorization: Bearer ***" in text and "s3cret-token" not in text
    assert "== 10 record(s) at records_path $.data[*]" in text
    assert "== next request: " + srv.url + "/orders_cursor {'limit': 10, 'cursor': 'MTA='}" in text
    assert "== request 2" in text and "== request 3" not in text
    assert '"customer_id": {' in text and "schema inferred from 20 record(s)" in text
    assert len(srv.api.log) == 2


def test_probe_masks_a_query_key_and_shows_a_loop_with_the_schema_so_far(srv, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    cfg = config(srv, path="/key_query", paginator={"type": "page"})  # the route ignores ?page=
    cfg["auth"] = {"type": "api_key", "in": "query", "name": "api_key", "value": "k3y-value"}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    tap = str(Path(sys.executable).parent / "tap-rest")
    out = subprocess.run(
        [tap, "--config", str(tmp_path / "c.json"), "--probe", "orders"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "k3y-value" not in out.stdout + out.stderr
    assert f"== request 2\nGET {srv.url}/key_query?page=2&api_key=***\n" in out.stdout
    assert "== stop: stream 'orders': pagination loop: page 2 is the same as page 1" in out.stdout
    assert "== schema inferred from 2 record(s)" in out.stdout
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "tap-rest: error: stream 'orders': pagination loop: page 2 is the same as page 1"
        )
    )


@pytest.mark.parametrize(
    "paginator",
    [{"type": "next_url", "next_url_path": "$.links.next"}, {"type": "link_header"}],
    ids=["next_url", "link_header"],
)
@pytest.mark.parametrize("route", ["/orders_echo", "/orders_next"], ids=["echoes", "bare"])
def test_a_next_url_is_followed_as_given_and_each_param_is_sent_once(
    srv, tmp_path, paginator, route
):
    if route == "/orders_next" and paginator["type"] == "link_header":
        route = "/orders_link"  # its Link URL carries only `from`
    cfg = config(srv, path=route, params={"since": "x"}, paginator=paginator)
    if route == "/orders_link":
        cfg["streams"][0]["records_path"] = None
    cfg["params"] = {"api_version": "2"}
    cfg["auth"] = {"type": "api_key", "in": "query", "name": "key", "value": "s3cret"}
    run = run_tap(cfg, tmp_path)
    assert run.code == 0, run.stderr
    assert run.records() == srv.api.orders
    sent = srv.api.requests(route)
    assert len(sent) == 6  # 3 pages read to infer the schema, then the same 3 by the sync
    for req in sent:
        names = [pair.split("=")[0] for pair in req.raw_query.split("&")]
        assert sorted(names) == sorted(set(names)), req.raw_query  # no param twice
        # the config's params on every request: given by the API's URL, or added where it lacks them
        assert {"api_version", "since", "key"} <= set(names), req.raw_query
        assert req.query["key"] == "s3cret" and req.query["api_version"] == "2"


def test_probe_shows_a_next_url_with_only_the_params_the_tap_will_add(srv, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    cfg = config(
        srv,
        path="/orders_echo",
        params={"since": "x"},
        paginator={"type": "next_url", "next_url_path": "$.links.next"},
    )
    cfg["params"] = {"api_version": "2"}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    exe = str(Path(sys.executable).parent / "tap-rest")
    args = [exe, "--config", str(tmp_path / "c.json"), "--probe", "orders"]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    hint = next(line for line in out.stdout.splitlines() if line.startswith("== next request:"))
    # the URL carries every param already: nothing is added, so nothing is shown beside it
    assert hint == f"== next request: {srv.url}/orders_echo?api_version=2&since=x&after=10"
