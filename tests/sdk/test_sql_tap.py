"""tapwell.sdk.sql_tap: the config parsers, the stream plan and the sync context both SQL taps
share (tap-mysql's and tap-postgres's own tests cover them through the taps)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from tapwell.sdk import sql_tap
from tapwell.sdk.progress import Progress
from tapwell.singer.catalog import StreamEntry
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import MessageWriter


@pytest.mark.parametrize(
    ("value", "strict", "loose"),
    [
        (True, True, True),
        (False, False, False),
        ("TRUE", True, True),
        (" on ", True, True),
        ("0", False, False),
        ("off", False, False),
        ("maybe", None, False),
        ("", None, False),
        (1, None, None),
        (None, None, None),
    ],
)
def test_flags_strict_and_loose(value: Any, strict: bool | None, loose: bool | None) -> None:
    for parse, want in ((sql_tap.flag, strict), (sql_tap.loose_flag, loose)):
        if want is None:
            with pytest.raises(ConfigError) as raised:
                parse(value, "ssl")
            assert str(raised.value) == f"config key ssl: {value!r} is not true or false"
        else:
            assert parse(value, "ssl") is want


def test_port_takes_integers_and_numeric_strings_only() -> None:
    assert sql_tap.port(5432, "port") == 5432
    assert sql_tap.port("3306", "port") == 3306
    for bad in (True, 5432.0, "543x", [1], None):
        with pytest.raises(ConfigError) as raised:
            sql_tap.port(bad, "port")
        assert str(raised.value) == f"config key port: {bad!r} is not a port number"


def test_name_list_takes_a_comma_string_or_a_list_of_strings() -> None:
    parse = sql_tap.name_list("schema")
    assert parse(" public, Sales ,,x", "filter_schemas") == ("public", "Sales", "x")
    assert parse(["a,b", "c"], "filter_schemas") == ("a,b", "c")
    assert parse("", "filter_schemas") == ()
    for bad in ({"a": 1}, [1, "a"], 3):
        with pytest.raises(ConfigError) as raised:
            parse(bad, "filter_schemas")
        assert str(raised.value) == (
            "config key filter_schemas: a comma-separated string or a list of schema names"
        )


@dataclass
class _Col:
    name: str


@dataclass
class _Table:
    columns: list[_Col]


class _Conn:
    closed = 0

    def close(self) -> None:
        _Conn.closed += 1


@dataclass(kw_only=True)
class _Context(sql_tap.SqlSyncContext):
    opened: list[int] = field(default_factory=list)

    def connect(self) -> Any:
        self.opened.append(1)
        return _Conn()


def _plan(rkey: str | None) -> sql_tap.SqlStreamPlan[_Table, _Col]:
    entry = StreamEntry(
        {"tap_stream_id": "public-orders", "stream": "orders", "schema": {}, "metadata": []}
    )
    table = _Table([_Col("id"), _Col("note"), _Col("updated_at")])
    schema = {"type": "object", "properties": {"id": {"type": ["integer"]}}}
    return sql_tap.SqlStreamPlan(
        entry, table, table.columns[:1], schema, ["id"], "FULL_TABLE", rkey
    )


def _messages(out: io.BytesIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_context_keeps_bookmarks_writes_messages_and_opens_one_connection() -> None:
    out = io.BytesIO()
    ctx = _Context(out=out, writer=MessageWriter(out), progress=Progress("t"), state={})
    ctx.set_bookmark("public-orders", "last_pk_fetched", {"id": 7})
    ctx.set_bookmark("public-orders", "version", 3)
    ctx.clear_bookmark("public-orders", "last_pk_fetched")
    assert ctx.bookmark("public-orders", "version") == 3
    assert ctx.bookmark("public-orders", "last_pk_fetched", "none") == "none"
    assert ctx.conn is ctx.conn and len(ctx.opened) == 1
    ctx.close()
    ctx.close()
    assert _Conn.closed == 1

    sp = _plan("id")
    assert (sp.tap_stream_id, sp.stream, sp.column("updated_at").name) == (
        "public-orders",
        "orders",
        "updated_at",
    )
    sql_tap.write_schema(ctx, sp)
    sql_tap.activate_version(ctx, sp, 5)
    sql_tap.activate_version(ctx, sp, 6, empty=True)
    ctx.emit_state()
    ctx.writer.flush()
    schema, v5, v6, state = _messages(out)
    assert schema == {
        "type": "SCHEMA",
        "stream": "orders",
        "schema": sp.schema,
        "key_properties": ["id"],
        "bookmark_properties": ["id"],
    }
    assert v5 == {"type": "ACTIVATE_VERSION", "stream": "orders", "version": 5}
    assert v6 == {"type": "ACTIVATE_VERSION", "stream": "orders", "version": 6, "empty": True}
    assert state == {"type": "STATE", "value": {"bookmarks": {"public-orders": {"version": 3}}}}
