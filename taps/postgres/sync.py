"""Sync orchestration: resolve each selected stream against the live table, write its SCHEMA,
run its replication method, keep `currently_syncing`, and end with a final STATE.

FULL_TABLE and INCREMENTAL streams run first, each in turn (the interrupted one first when a run
resumes); LOG_BASED streams then share one pass over the replication slot (sync_logical), which
takes the initial copy of any stream that has none yet.
"""

from __future__ import annotations

import logging
from typing import IO, Any

from tapwell.sdk.progress import Progress
from tapwell.singer import state as st
from tapwell.singer.catalog import Catalog, StreamEntry
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import MessageWriter

from .bookmarks import check_state, check_typed
from .config import PgConfig
from .connection import translated
from .discovery import Table, read_tables
from .sync_common import DELETED_AT, StreamPlan, SyncContext, write_schema
from .types import is_supported, json_schema

LOG = logging.getLogger("tap-postgres")
METHODS = ("FULL_TABLE", "INCREMENTAL", "LOG_BASED")


def selected_columns(entry: StreamEntry) -> set[str]:
    """Columns a selected stream emits, by Singer's rules: `unsupported` never, `automatic`
    always, then the column's `selected`, then its `selected-by-default`, else selected."""
    out = set()
    for name in entry.schema.get("properties") or {}:
        md = entry.metadata(("properties", name))
        inclusion = md.get("inclusion")
        if inclusion == "unsupported":
            continue
        if inclusion == "automatic" or md.get("selected", md.get("selected-by-default", True)):
            out.add(name)
    return out


def resolve(entry: StreamEntry, table: Table) -> StreamPlan:
    """Selected columns and schema of a stream, from its catalog entry and the live table."""
    sid = entry.tap_stream_id
    props = entry.schema.get("properties") or {}
    if not props:
        raise ConfigError(
            f"stream {sid!r}: its catalog entry has no schema (no properties); "
            "run --discover again and select the stream in the catalog it prints"
        )
    selected = selected_columns(entry)
    declared = entry.key_properties or list(entry.metadata().get("view-key-properties") or [])
    keys = [k for k in declared if any(c.name == k for c in table.columns)]
    columns = [
        c for c in table.columns if is_supported(c) and (c.name in selected or c.name in keys)
    ]
    missing = sorted(selected - {c.name for c in table.columns} - {DELETED_AT})
    if missing:
        LOG.warning(
            "stream %s: selected columns %s are no longer in the table; skipping them", sid, missing
        )
    if not columns:
        raise ConfigError(
            f"stream {sid!r}: none of its columns is selected or still in the table; "
            "select at least one column in the catalog (or deselect the stream)"
        )
    # the live column's schema: a catalog written by another tap may type a column differently
    schema_props = {c.name: json_schema(c) for c in columns}
    method = entry.replication_method
    if method not in METHODS:
        raise ConfigError(
            f"stream {sid!r}: replication-method {method!r} is not one of {', '.join(METHODS)}"
        )
    rkey = entry.replication_key if method == "INCREMENTAL" else None
    if method == "INCREMENTAL":
        if not rkey:
            raise ConfigError(
                f"stream {sid!r} is INCREMENTAL but has no replication-key in its metadata"
            )
        if rkey not in schema_props:
            raise ConfigError(
                f"stream {sid!r}: replication key {rkey!r} is not a selected column of the table"
            )
    if method == "LOG_BASED":
        from .changes import check_narrowing

        for c in columns:  # its type changed since discovery (another tap's schema may differ)
            was = entry.metadata(("properties", c.name)).get("sql-datatype")
            if props.get(c.name) and was and was != c.sql_datatype:
                check_narrowing(sid, c.name, c.sql_datatype, props[c.name], schema_props[c.name])
        if table.is_view:
            raise ConfigError(
                f"stream {sid!r} is a view: LOG_BASED needs a table; use FULL_TABLE or INCREMENTAL"
            )
        schema_props[DELETED_AT] = {"type": ["null", "string"], "format": "date-time"}
    schema = {
        **entry.schema,
        "type": entry.schema.get("type", "object"),
        "properties": schema_props,
    }
    return StreamPlan(entry, table, columns, schema, keys, method, rkey)


def sync(cfg: PgConfig, catalog: Catalog, state: dict[str, Any], out: IO[bytes]) -> dict[str, Any]:
    """Sync every selected stream; returns the final state (also written as the last STATE)."""
    from .sync_full import sync_full_table
    from .sync_incremental import sync_incremental

    ctx = SyncContext(
        cfg=cfg, out=out, writer=MessageWriter(out), progress=Progress("tap-postgres"), state=state
    )
    try:
        plans = _plans(ctx, catalog)
        check_state(state, plans)  # before any message
        check_typed(ctx.conn, plans, state)
        current = st.get_currently_syncing(state)
        plans.sort(key=lambda p: p.tap_stream_id != current)  # an interrupted stream goes first
        log_based = [sp for sp in plans if sp.method == "LOG_BASED"]
        if log_based:
            from .sync_logical import prepare, sync_logical

            slot = prepare(ctx, log_based)  # a server or slot problem stops before any message
        for sp in plans:
            if sp.method == "LOG_BASED":
                continue
            ctx.state = st.set_currently_syncing(ctx.state, sp.tap_stream_id)
            write_schema(ctx, sp)
            if sp.method == "FULL_TABLE":
                sync_full_table(ctx, sp)
            else:
                sync_incremental(ctx, sp)
        ctx.state = st.set_currently_syncing(ctx.state, None)
        if log_based:
            sync_logical(ctx, log_based, slot)
        ctx.state = st.set_currently_syncing(ctx.state, None)
        ctx.emit_state()
        return ctx.state
    finally:
        ctx.close()


def table_of(e: StreamEntry) -> tuple[str, str]:
    """(schema, table) of a catalog entry from tapwell, PipelineWise (`stream` is the table) or
    MeltanoLabs (`stream` is `<schema>-<table>`): `schema-name` metadata, else the stream id."""
    schema = e.metadata().get("schema-name") or e.raw.get("schema_name")
    sid = e.tap_stream_id
    if not schema:
        schema, _, rest = sid.partition("-")
        return str(schema), str(e.raw.get("table_name") or rest)
    if e.raw.get("table_name"):
        return str(schema), str(e.raw["table_name"])
    prefix = f"{schema}-"
    return str(schema), sid[len(prefix) :] if sid.startswith(prefix) else e.stream


def _plans(ctx: SyncContext, catalog: Catalog) -> list[StreamPlan]:
    entries = catalog.selected()
    if not entries:
        LOG.warning("no stream is selected in the catalog; nothing to do")
        return []
    wanted: dict[tuple[str, str], StreamEntry] = {}
    for e in entries:
        wanted[table_of(e)] = e
    with translated(ctx.cfg, "reading the tables of the catalog"):
        tables = {(t.schema, t.name): t for t in read_tables(ctx.conn, ctx.cfg, only=set(wanted))}
    plans = []
    for key, entry in wanted.items():
        table = tables.get(key)
        if table is None:
            raise ConfigError(
                f"stream {entry.tap_stream_id!r}: table {key[0]}.{key[1]} does not exist or the "
                "user cannot read it; run --discover again"
            )
        plans.append(resolve(entry, table))
    return plans
