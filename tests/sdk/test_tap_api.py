"""tapwell's light tap API (tapwell.sdk.tap): what a scaffolded tap, tap-csv and the REST tap rely on."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tapwell.sdk.tap import Stream, SyncContext, Tap
from tapwell.singer.catalog import Catalog, select_all
from tapwell.singer.errors import ConfigError, SyncError
from tapwell.singer.wire import MessageWriter

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["null", "string"]},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
ROWS = [
    {"id": 1, "name": "a", "updated_at": "2024-01-01T10:00:00+02:00"},  # 08:00Z
    {"id": 2, "name": "b", "updated_at": "2024-01-01T09:00:00+00:00"},  # 09:00Z, the latest
    {"id": 3, "name": "c", "updated_at": "2024-01-01T03:00:00-04:00"},
]  # 07:00Z
SEEN: list[Any] = []


def users(ctx: SyncContext) -> Iterator[dict[str, Any]]:
    SEEN.append(ctx.start_value)
    yield from (dict(r) for r in ROWS)


def make_tap(**stream_kw: Any) -> Tap:
    kw = {"key_properties": ["id"], "replication_key": "updated_at", **stream_kw}
    return Tap(
        "tap-test",
        [Stream("users", SCHEMA, users, **kw), Stream("other", SCHEMA, lambda ctx: iter(()))],
        config_schema={
            "type": "object",
            "properties": {"api_key": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["api_key"],
        },
    )


def sync(
    tap: Tap, state: dict[str, Any] | None = None, catalog: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    out = io.BytesIO()
    cat = Catalog(catalog or select_all(tap.discover({})))
    tap.sync({}, cat, state or {}, MessageWriter(out))
    return [json.loads(line) for line in out.getvalue().splitlines()]


def states(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["value"] for m in messages if m["type"] == "STATE"]


def test_a_stream_with_a_replication_key_is_incremental_by_default() -> None:
    SEEN.clear()
    messages = sync(make_tap(filter_start=True))
    assert [m["record"]["id"] for m in messages if m["type"] == "RECORD"] == [1, 2, 3]
    assert not any(m["type"] == "ACTIVATE_VERSION" and m["stream"] == "users" for m in messages)
    final = states(messages)[-1]
    # text values compared as instants, not as text: 09:00Z is the latest
    assert final["bookmarks"]["users"] == {
        "replication_key": "updated_at",
        "replication_key_value": "2024-01-01T09:00:00+00:00",
    }
    assert "currently_syncing" not in final

    again = sync(make_tap(filter_start=True), state=final)
    assert SEEN[-1] == datetime(2024, 1, 1, 9, tzinfo=UTC)  # the generator gets a typed bookmark
    assert [m["record"]["id"] for m in again if m["type"] == "RECORD"] == [2]  # >= the bookmark
    assert (
        states(again)[-1]["bookmarks"]["users"]["replication_key_value"]
        == "2024-01-01T09:00:00+00:00"
    )


def test_catalog_selection_of_streams_and_properties() -> None:
    tap = make_tap()
    catalog = select_all(tap.discover({}))
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "other" and item["breadcrumb"] == []:
                item["metadata"]["selected"] = False
            if item["breadcrumb"] == ["properties", "name"]:
                item["metadata"]["selected"] = False
    messages = sync(tap, catalog=catalog)
    assert {m["stream"] for m in messages if "stream" in m} == {"users"}
    schema = next(m for m in messages if m["type"] == "SCHEMA")
    assert list(schema["schema"]["properties"]) == ["id", "updated_at"]
    assert schema["key_properties"] == ["id"] and schema["bookmark_properties"] == ["updated_at"]
    assert all(set(m["record"]) == {"id", "updated_at"} for m in messages if m["type"] == "RECORD")


def test_full_table_when_the_catalog_says_so() -> None:
    tap = make_tap()
    catalog = select_all(tap.discover({}))
    for entry in catalog["streams"]:
        root = next(i["metadata"] for i in entry["metadata"] if i["breadcrumb"] == [])
        root["replication-method"] = "FULL_TABLE"
    messages = sync(tap, catalog=catalog)
    kinds = [m["type"] for m in messages if m.get("stream", "users") == "users"]
    # the new version is announced once, after its records (issue 20.1)
    assert kinds[:2] == ["SCHEMA", "STATE"] and kinds.count("ACTIVATE_VERSION") == 1
    assert (
        kinds.index("ACTIVATE_VERSION") == max(i for i, k in enumerate(kinds) if k == "RECORD") + 1
    )
    version = next(m["version"] for m in messages if m["type"] == "ACTIVATE_VERSION")
    assert all(m["version"] == version for m in messages if m["type"] == "RECORD")
    final = states(messages)[-1]["bookmarks"]["users"]
    assert final == {"initial_full_table_complete": True}


def test_sorted_streams_checkpoint_every_state_every_records() -> None:
    rows = [{"id": i, "updated_at": f"2024-01-{i:02d}T00:00:00+00:00"} for i in range(1, 8)]
    stream = Stream(
        "s",
        SCHEMA,
        lambda ctx: iter(rows),
        key_properties=["id"],
        replication_key="updated_at",
        is_sorted=True,
    )
    tap = Tap("tap-test", [stream], state_every=3)
    out = io.BytesIO()
    tap.sync({}, Catalog(select_all(tap.discover({}))), {}, MessageWriter(out))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    marks = [
        m["value"].get("bookmarks", {}).get("s", {}).get("replication_key_value")
        for m in lines
        if m["type"] == "STATE"
    ]
    assert marks == [
        None,
        "2024-01-03T00:00:00+00:00",
        "2024-01-06T00:00:00+00:00",
        "2024-01-07T00:00:00+00:00",
        "2024-01-07T00:00:00+00:00",
    ]


def test_a_replication_key_that_does_not_parse_is_one_clear_error() -> None:
    bad = [{"id": 1, "updated_at": "yesterday"}]
    tap = Tap(
        "tap-test", [Stream("s", SCHEMA, lambda ctx: iter(bad), replication_key="updated_at")]
    )
    with pytest.raises(
        SyncError,
        match="stream 's', field 'updated_at': replication key value 'yesterday' does not match the schema's type",
    ):
        tap.sync({}, Catalog(select_all(tap.discover({}))), {}, MessageWriter(io.BytesIO()))


def test_config_errors_list_every_problem_and_no_values() -> None:
    tap = make_tap()
    with pytest.raises(ConfigError) as err:
        tap.validate_config({"limit": "s3cr3t-value"})
    assert (
        str(err.value)
        == "invalid config: missing required setting 'api_key'; setting 'limit' must be of type integer"
    )
    tap.validate_config({"api_key": "k", "limit": 5})


def run_cli(
    tap: Tap, args: list[str], capsysbinary: pytest.CaptureFixture[bytes]
) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        tap.main(args)
    out, err = capsysbinary.readouterr()
    return int(exit_.value.code or 0), out.decode(), err.decode()


def test_cli_about_markdown_and_config_errors(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    tap = make_tap()
    tap.config_schema["properties"]["api_key"]["description"] = "Key | from the\nconsole"
    code, out, _ = run_cli(tap, ["--about", "--format", "markdown"], capsysbinary)
    assert code == 0
    assert "| `api_key` | string | yes |  | Key \\| from the console |" in out
    assert "Capabilities: `catalog`, `discover`, `state`, `about`" in out

    code, _, err = run_cli(tap, ["--discover"], capsysbinary)
    assert (code, err) == (
        2,
        "tap-test: error: --config is required (a JSON file with the tap's settings; `tap-test --about` lists them)\n",
    )

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"limit": "many"}))
    code, out, err = run_cli(tap, ["--config", str(config), "--discover"], capsysbinary)
    assert (code, out) == (2, "")
    assert (
        err
        == "tap-test: error: invalid config: missing required setting 'api_key'; setting 'limit' must be of type integer\n"
    )


def test_cli_sync_with_catalog_and_state_files(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    tap = make_tap()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": "k"}))
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {
                "type": "STATE",
                "value": {
                    "bookmarks": {
                        "users": {
                            "replication_key": "updated_at",
                            "replication_key_value": "2024-01-01T08:30:00+00:00",
                        }
                    }
                },
            }
        )
    )
    code, out, err = run_cli(tap, ["--config", str(config), "--state", str(state)], capsysbinary)
    assert code == 0, err
    assert SEEN[-1] == datetime(2024, 1, 1, 8, 30, tzinfo=UTC)
