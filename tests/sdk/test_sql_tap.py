"""tapwell.sdk.sql_tap: the config parsers, the stream plan and the sync context both SQL taps
share (tap-mysql's and tap-postgres's own tests cover them through the taps)."""

from __future__ import annotations

import io
import logging
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


@dataclass
class _LiveTable:
    columns: list[_Col]
    is_view: bool = False


def _entry(method: str, rkey: str | None = None, **md: Any) -> StreamEntry:
    props = {n: {"type": ["null", "string"]} for n in ("id", "note", "gone", "blob")}
    root: dict[str, Any] = {"selected": True, "replication-method": method, **md}
    if rkey:
        root["replication-key"] = rkey
    return StreamEntry(
        {
            "tap_stream_id": "public-orders",
            "stream": "orders",
            "key_properties": ["id"],
            "schema": {"type": "object", "properties": props},
            "metadata": [
                {"breadcrumb": [], "metadata": root},
                {"breadcrumb": ["properties", "note"], "metadata": {"selected": False}},
            ],
        }
    )


def _resolve(entry: StreamEntry, table: _LiveTable, **kw: Any) -> Any:
    return sql_tap.resolve_stream(
        sql_tap.SqlStreamPlan,
        entry,
        table,
        supported=lambda c: c.name != "blob",
        column_schema=lambda c, declared: {"declared": declared is not None, "name": c.name},
        log=logging.getLogger("t"),
        **kw,
    )


def test_resolve_stream_picks_columns_and_checks_the_method(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = _LiveTable([_Col("id"), _Col("note"), _Col("blob"), _Col("new")])
    sp = _resolve(_entry("FULL_TABLE"), table)
    assert [c.name for c in sp.columns] == ["id"]  # note deselected, blob unsupported
    assert sp.schema["properties"] == {"id": {"declared": True, "name": "id"}}
    assert (sp.key_properties, sp.method, sp.replication_key) == (["id"], "FULL_TABLE", None)
    assert "selected columns ['gone'] are no longer in the table" in caplog.text

    seen: list[Any] = []
    sp = _resolve(
        _entry("LOG_BASED"), table, check_log_based=lambda e, cols, props: seen.append(dict(props))
    )
    assert seen == [{"id": {"declared": True, "name": "id"}}]
    assert sp.schema["properties"][sql_tap.DELETED_AT]["format"] == "date-time"

    bad = {
        "no schema": (StreamEntry({"tap_stream_id": "public-orders"}), "has no schema"),
        "method": (_entry("CDC"), "replication-method 'CDC' is not one of FULL_TABLE"),
        "no key": (_entry("INCREMENTAL"), "is INCREMENTAL but has no replication-key"),
        "note": (_entry("INCREMENTAL", "note"), "replication key 'note' is not a selected"),
    }
    for entry, words in bad.values():
        with pytest.raises(ConfigError, match=words):
            _resolve(entry, table)
    with pytest.raises(ConfigError, match="is a view: LOG_BASED needs a table"):
        _resolve(_entry("LOG_BASED"), _LiveTable([_Col("id")], is_view=True))


def test_plan_streams_names_a_table_that_is_gone() -> None:
    from tapwell.singer.catalog import Catalog

    cat = Catalog({"streams": [_entry("FULL_TABLE").raw]})
    table = _LiveTable([_Col("id")])

    def plan(tables: dict[tuple[str, str], Any]) -> list[Any]:
        return sql_tap.plan_streams(
            cat,
            table_of=lambda e: ("public", e.stream),
            read_tables=lambda only: {k: v for k, v in tables.items() if k in only},
            resolve=_resolve,
            log=logging.getLogger("t"),
        )

    assert [p.stream for p in plan({("public", "orders"): table})] == ["orders"]
    with pytest.raises(ConfigError, match=r"table public\.orders does not exist"):
        plan({})


def _random_selected_entry(rng: Any) -> StreamEntry | None:
    """A random catalog entry (explicit nulls and the old schema-level `selected` included), or
    None when the stream is not selected."""
    metadata = []
    for crumb in ([], ["properties", "a"], ["properties", "b"], ["properties", "c"]):
        if rng.random() < 0.25:
            continue
        md = {}
        for key, values in (
            ("inclusion", ["available", "automatic", "unsupported"]),
            ("selected", [True, False, None]),
            ("selected-by-default", [True, False, None]),
        ):
            if rng.random() < 0.5:
                md[key] = rng.choice(values)
        metadata.append({"breadcrumb": crumb, "metadata": md})
    schema: dict[str, Any] = {"type": "object", "properties": {p: {} for p in "abc"}}
    if rng.random() < 0.3:
        schema["selected"] = rng.choice([True, False])
    entry = StreamEntry({"tap_stream_id": "s", "schema": schema, "metadata": metadata})
    return entry if entry.is_selected else None


def test_selected_columns_are_the_catalogs_one_rule_and_singerlibs() -> None:
    """The SQL taps' columns are StreamEntry.selected_properties, and singer-sdk's selection of
    a stream it selects (singerlib does not read `selected` on the schema)."""
    import random

    singerlib = pytest.importorskip("singer_sdk.singerlib")
    rng = random.Random(20261208)
    compared = 0
    for _ in range(5000):
        entry = _random_selected_entry(rng)
        if entry is None:
            continue
        assert sql_tap.selected_columns(entry) == set(entry.selected_properties()), entry.raw
        if "selected" not in entry.schema:
            mask = singerlib.MetadataMapping.from_iterable(entry.raw["metadata"])
            selection = mask.resolve_selection()
            if selection.get((), True):
                want = {p for p in "abc" if selection[("properties", p)]}
                assert sql_tap.selected_columns(entry) == want, entry.raw
                compared += 1
    assert compared > 500


@pytest.mark.parametrize(
    ("schema_selected", "metadata", "want"),
    [
        # an explicit null takes the stream's selection (singerlib); the old copy dropped it
        (None, [{"breadcrumb": [], "metadata": {"selected": True}},
                {"breadcrumb": ["properties", "a"], "metadata": {"selected": None}},
                {"breadcrumb": ["properties", "b"], "metadata": {"selected-by-default": None}},
                {"breadcrumb": ["properties", "c"], "metadata": {"selected": False}}], {"a", "b"}),
        # the old convention: `selected` on the schema, metadata without a root entry
        (True, [{"breadcrumb": ["properties", "c"], "metadata": {"selected-by-default": False}}],
         {"a", "b"}),
        (True, [{"breadcrumb": [], "metadata": {"inclusion": "available"}},
                {"breadcrumb": ["properties", "a"], "metadata": {"inclusion": "available"}},
                {"breadcrumb": ["properties", "b"], "metadata": {"inclusion": "automatic"}}],
         {"a", "b", "c"}),
    ],
)  # fmt: skip
def test_selected_columns_hand_picked(
    schema_selected: bool | None, metadata: list[dict[str, Any]], want: set[str]
) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {p: {} for p in "abc"}}
    if schema_selected is not None:
        schema["selected"] = schema_selected
    entry = StreamEntry({"tap_stream_id": "s", "schema": schema, "metadata": metadata})
    assert entry.is_selected
    assert sql_tap.selected_columns(entry) == want
    assert set(entry.selected_properties()) == want
