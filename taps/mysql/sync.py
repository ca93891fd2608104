"""Sync orchestration: resolve each selected stream against the live table, write its SCHEMA,
run its replication method, keep `currently_syncing`, and end with a final STATE.

FULL_TABLE and INCREMENTAL streams run first, each in turn (the interrupted one first when a
run resumes); LOG_BASED streams take their initial snapshot in that same turn and then share one
pass over the binlog.
"""

from __future__ import annotations

import logging
from typing import IO, Any

from tapwell.sdk.progress import Progress
from tapwell.singer import state as st
from tapwell.singer.catalog import Catalog, StreamEntry
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import MessageWriter

from .bookmarks import check_start_date, check_state
from .config import MySQLConfig
from .connection import translated
from .discovery import Table, read_tables
from .sync_common import DELETED_AT, StreamPlan, SyncContext, write_schema
from .types import (
    ZeroDates,
    draft7_number,
    driver_conversions,
    is_supported,
    json_schema,
)

LOG = logging.getLogger("tap-mysql")
METHODS = ("FULL_TABLE", "INCREMENTAL", "LOG_BASED")


# ----------------------------------------------------------------------------- plan


def selected_columns(entry: StreamEntry) -> set[str]:
    """Columns a selected stream emits, by Singer's rules: `unsupported` never, `automatic`
    always, then the column's `selected`, then its `selected-by-default`, else the stream's
    selection. (singer-sdk resolves the same; importing it costs ~1 s per run.)"""
    out = set()
    for name in entry.schema.get("properties") or {}:
        md = entry.metadata(("properties", name))
        inclusion = md.get("inclusion")
        if inclusion == "unsupported":
            continue
        if inclusion == "automatic":
            out.add(name)
        elif "selected" in md:
            if md["selected"]:
                out.add(name)
        elif md.get("selected-by-default", True):
            out.add(name)
    return out


def resolve(entry: StreamEntry, table: Table) -> StreamPlan:
    """Selected columns and schema of a stream, from its catalog entry and the live table."""
    props = entry.schema.get("properties") or {}
    if not props:
        raise ConfigError(
            f"stream {entry.tap_stream_id!r}: its catalog entry has no schema (no properties); "
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
            "stream %s: selected columns %s are no longer in the table; skipping them",
            entry.tap_stream_id,
            missing,
        )
    if not columns:
        raise ConfigError(
            f"stream {entry.tap_stream_id!r}: none of its columns is selected or still in the "
            "table; select at least one column in the catalog (or deselect the stream)"
        )
    schema_props = {
        c.name: draft7_number(c, props[c.name]) if props.get(c.name) else json_schema(c)
        for c in columns
    }
    method = entry.replication_method
    if method not in METHODS:
        raise ConfigError(
            f"stream {entry.tap_stream_id!r}: replication-method {method!r} is not one of {', '.join(METHODS)}"
        )
    rkey = entry.replication_key if method == "INCREMENTAL" else None
    if method == "INCREMENTAL":
        if not rkey:
            raise ConfigError(
                f"stream {entry.tap_stream_id!r} is INCREMENTAL but has no replication-key in its metadata"
            )
        if rkey not in schema_props:
            raise ConfigError(
                f"stream {entry.tap_stream_id!r}: replication key {rkey!r} is not a selected column of the table"
            )
    if method == "LOG_BASED":
        if table.is_view:
            raise ConfigError(
                f"stream {entry.tap_stream_id!r} is a view: LOG_BASED needs a table; use FULL_TABLE or INCREMENTAL"
            )
        schema_props[DELETED_AT] = {"type": ["null", "string"], "format": "date-time"}
    schema = dict(entry.schema)
    schema["type"] = schema.get("type", "object")
    schema["properties"] = schema_props
    return StreamPlan(entry, table, columns, schema, keys, method, rkey)


# ----------------------------------------------------------------------------- run


def sync(
    config: MySQLConfig, catalog: Catalog, state: dict[str, Any], out: IO[bytes]
) -> dict[str, Any]:
    """Sync every selected stream; returns the final state (also written as the last STATE)."""
    from .sync_binlog import sync_binlog, sync_initial
    from .sync_full import sync_full_table
    from .sync_incremental import sync_incremental

    zero = ZeroDates(config.zero_dates)
    ctx = SyncContext(
        config=config,
        out=out,
        writer=MessageWriter(out),
        zero=zero,
        progress=Progress("tap-mysql"),
        state=state,
        state_every=config.state_every,
        batch_rows=config.batch_rows,
    )
    ctx.conv = driver_conversions(zero)
    try:
        plans = _plans(ctx, catalog)
        check_state(state, plans)  # before any message: a bad bookmark never half-runs a sync
        for sp in plans:
            if sp.replication_key and sp.column(sp.replication_key).kind in ("date", "datetime"):
                check_start_date(config, sp.column(sp.replication_key))
        current = st.get_currently_syncing(state)
        plans.sort(key=lambda p: p.tap_stream_id != current)  # an interrupted stream goes first
        log_based = []
        for sp in plans:
            ctx.state = st.set_currently_syncing(ctx.state, sp.tap_stream_id)
            zero.stream, zero.count = sp.tap_stream_id, 0
            write_schema(ctx, sp)
            if sp.method == "FULL_TABLE":
                sync_full_table(ctx, sp)
            elif sp.method == "INCREMENTAL":
                sync_incremental(ctx, sp)
            else:
                sync_initial(ctx, sp)
                log_based.append(sp)
            if zero.count:
                LOG.warning(
                    "stream %s: %d zero or invalid dates became null", sp.tap_stream_id, zero.count
                )
        ctx.state = st.set_currently_syncing(ctx.state, None)
        if log_based:
            ctx.emit_state()
            sync_binlog(ctx, log_based)
        ctx.state = st.set_currently_syncing(ctx.state, None)
        ctx.emit_state()
        return ctx.state
    finally:
        ctx.close()


def _plans(ctx: SyncContext, catalog: Catalog) -> list[StreamPlan]:
    entries = catalog.selected()
    if not entries:
        LOG.warning("no stream is selected in the catalog; nothing to do")
        return []
    wanted: dict[tuple[str, str], StreamEntry] = {}
    for e in entries:
        db = e.metadata().get("database-name") or e.raw.get("database_name")
        table = e.raw.get("table_name") or e.stream
        if not db:
            db, _, rest = e.tap_stream_id.partition("-")
            table = table or rest
        wanted[(str(db), str(table))] = e
    with translated(ctx.config, "reading the tables of the catalog"):
        tables = {
            (t.database, t.name): t for t in read_tables(ctx.conn, ctx.config, only=set(wanted))
        }
    plans = []
    for key, entry in wanted.items():
        table = tables.get(key)
        if table is None:
            raise ConfigError(
                f"stream {entry.tap_stream_id!r}: table {key[0]}.{key[1]} does not exist or the user cannot read it; "
                "run --discover again"
            )
        plans.append(resolve(entry, table))
    return plans
