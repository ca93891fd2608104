"""tap-rest's sync against a real local server: incremental runs with state (the second run asks
only from the bookmark), STATE after each sorted page, lookback, client-side filtering, parent/child
streams with per-parent bookmarks and bounded concurrency; and the config's validation."""

from __future__ import annotations

from typing import Any

import pytest
from helpers.rest_server import RestServer, run_tap
from tapwell.singer.errors import ConfigError
from tapwell.taps.rest.config import parse_config
from tapwell.taps.rest.settings import settings_markdown


@pytest.fixture
def srv():
    with RestServer() as server:
        yield server


def incremental(srv: RestServer, **extra: Any) -> dict[str, Any]:
    stream = {
        "name": "orders",
        "path": "/incremental",
        "records_path": "$.data[*]",
        "primary_key": ["id"],
        "replication_key": "updated_at",
        "params": {"since": "{start}"},
        "paginator": {"type": "page"},
        **extra,
    }
    return {"base_url": srv.url, "backoff_seconds": 0.01, "streams": [stream]}


def sync_requests(srv: RestServer) -> list[Any]:
    """The requests of the sync (after those of the schema inference, which reads one page)."""
    firsts = [i for i, r in enumerate(srv.api.log) if r.query.get("page") in (None, "1")]
    return srv.api.log[firsts[-1] :]


def test_second_run_with_state_asks_from_the_bookmark_and_sends_only_new_records(srv, tmp_path):
    first = run_tap(incremental(srv), tmp_path, state={})
    assert first.code == 0, first.stderr
    assert first.records() == srv.api.orders
    state = first.states()[-1]
    assert state["bookmarks"]["orders"] == {
        "replication_key": "updated_at",
        "replication_key_value": "2024-01-25T10:00:00.123456Z",
    }
    assert "since" not in srv.api.log[0].query  # no bookmark, no start_value: {start} left out

    srv.api.orders.append(dict(srv.api.orders[0], id=26, updated_at="2024-01-26T09:00:00Z"))
    srv.api.log.clear()
    second = run_tap(incremental(srv), tmp_path, state=state)
    assert second.code == 0, second.stderr
    # (the first requests infer the schema: no catalog was given)
    asked = [r.query.get("since") for r in srv.api.log if r.query.get("page") in (None, "1")]
    assert asked[-1] == "2024-01-25T10:00:00.123456Z"
    # the record at the bookmark comes again (bookmarks are inclusive, as in singer-sdk: two
    # records may share a timestamp), then only what is new
    assert [r["id"] for r in second.records()] == [25, 26]
    assert (
        second.states()[-1]["bookmarks"]["orders"]["replication_key_value"]
        == "2024-01-26T09:00:00Z"
    )


def test_sorted_records_write_state_after_every_page(srv, tmp_path):
    run = run_tap(incremental(srv, records_sorted=True), tmp_path)
    values = [
        s["bookmarks"]["orders"]["replication_key_value"]
        for s in run.states()
        if "orders" in s.get("bookmarks", {})
    ]
    assert values[:3] == [
        "2024-01-10T10:00:00.123456Z",
        "2024-01-20T10:00:00.123456Z",
        "2024-01-25T10:00:00.123456Z",
    ]
    unsorted = run_tap(incremental(srv), tmp_path)
    kinds = [
        m["type"]
        for m in unsorted.messages
        if m["type"] == "RECORD" or "orders" in m.get("value", {}).get("bookmarks", {})
    ]
    # only after the last record: unsorted records give no safe mid-stream bookmark
    assert kinds.index("STATE") == len(unsorted.records())


def test_start_value_formats_and_lookback(srv, tmp_path):
    cfg = incremental(
        srv, start_value="2024-01-20T10:00:00Z", lookback_seconds=86400, start_format="%Y-%m-%d"
    )
    run = run_tap(cfg, tmp_path)
    assert sync_requests(srv)[0].query["since"] == "2024-01-19"
    # the API filters by day; the client keeps what is newer than start minus the lookback
    assert [r["id"] for r in run.records()] == list(range(19, 26))


def test_client_filter_drops_old_records_when_the_api_cannot_filter(srv, tmp_path):
    cfg = incremental(srv, start_value="2024-01-23T00:00:00Z", params={})
    run = run_tap(cfg, tmp_path)
    assert "since" not in sync_requests(srv)[0].query
    assert [r["id"] for r in run.records()] == [23, 24, 25]
    cfg = incremental(srv, start_value="2024-01-23T00:00:00Z", params={}, client_filter=False)
    assert len(run_tap(cfg, tmp_path).records()) == 25


def family(srv: RestServer, **child: Any) -> dict[str, Any]:
    return {
        "base_url": srv.url,
        "streams": [
            {
                "name": "orders",
                "path": "/orders_page",
                "records_path": "$.data[*]",
                "primary_key": ["id"],
                "paginator": {"type": "page", "page_size": 10, "page_size_param": "per_page"},
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
                **child,
            },
        ],
    }


def expected_items(srv: RestServer) -> list[dict[str, Any]]:
    out = []
    for o in srv.api.orders:
        if o["id"] != 3:  # 404: ignored
            out += [
                {
                    "id": o["id"] * 10 + k,
                    "sku": f"S{k}",
                    "qty": k,
                    "updated_at": f"2024-02-0{k}T00:00:00Z",
                    "orders_id": o["id"],
                }
                for k in (1, 2)
            ]
    return out


@pytest.mark.parametrize("concurrency", [1, 4])
def test_children_per_parent_with_parent_fields_and_per_parent_bookmarks(
    srv, tmp_path, concurrency
):
    import json

    cfg = family(srv, child_concurrency=concurrency)
    # discovery reads children one by one; the sync's first child requests are then held until
    # `concurrency` are in flight at once: reached only by a tap that sends that many together
    catalog = run_tap(cfg, tmp_path, "--discover").messages[0]
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    srv.api.max_inflight, srv.api.item_overlap = 0, concurrency
    run = run_tap(cfg, tmp_path, "--catalog", str(tmp_path / "catalog.json"))
    assert run.code == 0, run.stderr
    assert run.records("orders") == srv.api.orders
    assert run.records("order_items") == expected_items(
        srv
    )  # in parent order, whatever the concurrency
    parts = run.states()[-1]["bookmarks"]["order_items"]["partitions"]
    assert parts[0] == {
        "context": {"id": 1},
        "replication_key": "updated_at",
        "replication_key_value": "2024-02-02T00:00:00Z",
    }
    assert len(parts) == 24
    assert "/orders/3/items answered 404; ignored (ignore_status)" in run.stderr
    assert srv.api.max_inflight == concurrency  # never more in flight than child_concurrency


def test_child_bookmark_switched_off_per_parent(srv, tmp_path):
    run = run_tap(family(srv, parent_state=False), tmp_path)
    book = run.states()[-1]["bookmarks"]["order_items"]
    assert book == {
        "replication_key": "updated_at",
        "replication_key_value": "2024-02-02T00:00:00Z",
    }


def test_only_the_child_selected_still_reads_the_parent(srv, tmp_path):
    import json

    disc = run_tap(family(srv), tmp_path, "--discover").messages[0]
    for entry in disc["streams"]:
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        root["selected"] = entry["stream"] == "order_items"
    (tmp_path / "catalog.json").write_text(json.dumps(disc))
    run = run_tap(family(srv), tmp_path, "--catalog", str(tmp_path / "catalog.json"))
    assert run.code == 0, run.stderr
    assert run.records("orders") == []
    assert run.records("order_items") == expected_items(srv)


def test_every_config_problem_on_its_own_line_unknown_keys_refused():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "base_url": "api.example.com",
                "auth": {"type": "bearer"},
                "timeout_seconds": "30",
                "streams": [
                    {
                        "name": "a",
                        "path": "/a",
                        "replication_kye": "x",
                        "paginator": {"type": "cursor"},
                        "start_format": "unix",
                    },
                    {"name": "b", "path": "/b/{id}", "parent": "nope"},
                    {"path": "/c"},
                ],
            }
        )
    assert str(err.value).splitlines() == [
        "invalid config (8 problem(s)):",
        "  config/timeout_seconds: must be a number, not str",
        "  config/base_url: must be an absolute http(s) URL, e.g. https://api.example.com/v1",
        "  auth/token: required for auth type 'bearer'",
        "  streams/0/replication_kye: unknown setting (known: body, child_concurrency, client_filter, "
        "headers, ignore_status, infer_records, lookback_seconds, method, name, paginator, params, "
        "parent, parent_fields, parent_state, path, primary_key, records_path, records_sorted, "
        "replication_key, response_format, schema, start_format, start_value)",
        "  streams/0/start_format: 'unix' is not iso, date, epoch, epoch_ms or a strftime pattern",
        "  streams/0/paginator/cursor_path: required for paginator type 'cursor'",
        "  streams/2/name: required (Stream name)",
        "  streams/1/parent: no stream is named 'nope'",
    ]


def test_a_paginator_that_could_never_stop_is_refused():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "base_url": "http://x",
                "streams": [
                    {
                        "name": "a",
                        "path": "/a",
                        "paginator": {"type": "offset", "page_size": 10, "stop_on_empty": False},
                    }
                ],
            }
        )
    assert str(err.value).splitlines()[1] == (
        "  streams/0/paginator/stop_on_empty: false needs has_more_path, total_path or max_pages "
        "(the offset paginator has no other way to stop)"
    )


def test_a_secret_of_the_wrong_type_is_not_shown():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "base_url": "http://x",
                "auth": {"type": "bearer", "token": 12345678},
                "streams": [{"name": "a", "path": "/a"}],
            }
        )
    assert "auth/token: must be a string, not a secret value" in str(err.value)
    assert "12345678" not in str(err.value)


def test_readme_settings_tables_are_generated_from_the_config_declarations():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "taps" / "rest" / "README.md").read_text()
    assert settings_markdown() in readme


@pytest.mark.parametrize("name", ["github", "stripe"])
def test_shipped_example_configs_are_valid(name):
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    cfg = parse_config(
        json.loads((root / "taps" / "rest" / "examples" / f"{name}.json").read_text())
    )
    assert cfg.streams


def test_start_is_written_in_every_start_format():
    from datetime import UTC, datetime
    from decimal import Decimal

    from tapwell.taps.rest.types import format_start

    when = datetime(2024, 1, 5, 10, 30, 15, 123456, tzinfo=UTC)
    assert format_start(when, "iso") == "2024-01-05T10:30:15.123456Z"
    assert format_start(when, "date") == "2024-01-05"
    assert format_start(when, "epoch") == "1704450615"
    assert format_start(when, "epoch_ms") == "1704450615123"
    assert format_start(when, "%Y%m%d %H:%M") == "20240105 10:30"
    # a numeric bookmark (an epoch replication key) stays a number, in ms when asked for
    assert format_start(Decimal("1704450615"), "epoch") == "1704450615"
    assert format_start(Decimal("1704450615"), "epoch_ms") == "1704450615000"


def test_the_catalog_says_each_streams_replication_as_singer_taps_do(srv, tmp_path):
    """Root metadata as singer-sdk and our SQL taps give it, so runners and targets see it:
    `forced-replication-method` (the config decides), `replication-key`, `table-key-properties`;
    and the entry's `replication_method` / `replication_key` as singer-sdk writes them."""
    disc = run_tap(family(srv), tmp_path, "--discover").messages[0]
    entries = {e["stream"]: e for e in disc["streams"]}
    roots = {
        name: next(m["metadata"] for m in e["metadata"] if m["breadcrumb"] == [])
        for name, e in entries.items()
    }
    assert roots["orders"]["forced-replication-method"] == "FULL_TABLE"
    assert "replication-key" not in roots["orders"]
    assert roots["orders"]["table-key-properties"] == ["id"]
    assert entries["orders"]["replication_method"] == "FULL_TABLE"
    assert "replication_key" not in entries["orders"]
    items = roots["order_items"]
    assert items["forced-replication-method"] == "INCREMENTAL"
    assert items["replication-key"] == "updated_at"
    assert items["valid-replication-keys"] == ["updated_at"]
    assert items["table-key-properties"] == ["id"]
    assert entries["order_items"]["replication_method"] == "INCREMENTAL"
    assert entries["order_items"]["replication_key"] == "updated_at"


def test_settings_are_the_kits_and_every_nested_secret_is_marked_as_singer_sdk_does():
    """Declared with tapwell.sdk.settings.Setting as every connector; a secret in auth is
    `writeOnly` in --about (how singer-sdk and Meltano know to hide it), not just `secret`."""
    from tapwell.sdk.settings import Setting as KitSetting
    from tapwell.taps.rest.settings import (
        AUTH_SETTINGS,
        PAGINATOR_SETTINGS,
        STREAM_SETTINGS,
        TOP_SETTINGS,
        settings_schema,
    )

    declared = (*TOP_SETTINGS, *AUTH_SETTINGS, *STREAM_SETTINGS, *PAGINATOR_SETTINGS)
    assert all(isinstance(s, KitSetting) for s in declared)
    auth = settings_schema()["properties"]["auth"]["properties"]
    secrets = sorted(k for k, p in auth.items() if p.get("secret"))
    assert secrets == ["client_secret", "password", "refresh_token", "token", "value"]
    assert all(auth[k].get("writeOnly") is True for k in secrets)


def test_a_state_is_written_only_when_it_changed(srv, tmp_path):
    """An empty last page, or the end of a stream whose last page wrote its bookmark, repeats no
    STATE (singer-sdk writes one only when it changed); every bookmark is still written."""
    run = run_tap(incremental(srv, records_sorted=True), tmp_path)
    assert run.code == 0, run.stderr
    states = run.states()
    assert all(a != b for a, b in zip(states, states[1:])), states
    values = [s["bookmarks"]["orders"]["replication_key_value"] for s in states]
    assert values == [
        "2024-01-10T10:00:00.123456Z",
        "2024-01-20T10:00:00.123456Z",
        "2024-01-25T10:00:00.123456Z",
        "2024-01-25T10:00:00.123456Z",  # the run's last: currently_syncing cleared
    ]
    assert states[-1].get("currently_syncing") is None
    assert run.messages[-1]["type"] == "STATE"
