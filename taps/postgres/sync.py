"""Sync orchestration: resolve each selected stream against the live table, write its SCHEMA,
run its replication method, keep `currently_syncing`, and end with a final STATE.

FULL_TABLE and INCREMENTAL streams run first, each in turn (the interrupted one first when a run
resumes); LOG_BASED streams then share one pass over the replication slot (sync_logical), which
takes the initial copy of any stream that has none yet.
"""

from __future__ import annotations

import functools
import logging
from typing import IO, Any

from tapwell.sdk.progress import Progress
from tapwell.sdk.sql_tap import plan_streams, resolve_stream
from tapwell.singer import state as st
from tapwell.singer.catalog import Catalog, StreamEntry
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import MessageWriter, dumps

from .bookmarks import check_state, check_typed
from .config import PgConfig
from .connection import translated
from .discovery import Table, read_tables
from .sync_common import StreamPlan, SyncContext, write_schema
from .types import Column, catalog_typed, is_supported, json_schema

LOG = logging.getLogger("tap-postgres")


def _check_log_based(entry: StreamEntry, columns: list[Any], resolved: dict[str, Any]) -> None:
    """A LOG_BASED column whose type changed since discovery must not narrow (the catalog's
    type, from discovery or another tap, against the one the column's values are sent as)."""
    from .changes import check_narrowing

    props = entry.schema.get("properties") or {}
    for c in columns:
        was = entry.metadata(("properties", c.name)).get("sql-datatype")
        if props.get(c.name) and was and was != c.sql_datatype:
            check_narrowing(
                entry.tap_stream_id, c.name, c.sql_datatype, props[c.name], resolved[c.name]
            )


def column_schema(
    entry: StreamEntry, column: Column, declared: dict[str, Any] | None
) -> dict[str, Any]:
    """The property a column is sent as: the catalog's type when the column's values fit it
    (types.catalog_typed), else the column's own schema without a catalog property, or when the
    catalog's `sql-datatype` is not the column's (it changed since discovery, or another tap
    wrote the catalog: LOG_BASED then checks the change narrows nothing). Otherwise a catalog
    type they do not fit (a string for an integer column, an integer for a numeric) is a
    ConfigError before any message: the SCHEMA would announce it and the records break it."""
    live = json_schema(column)
    if not declared:
        return live
    typed = catalog_typed(live, declared)
    if typed is not None:
        return typed
    was = entry.metadata(("properties", column.name)).get("sql-datatype")
    if was and was != column.sql_datatype:
        return live
    raise ConfigError(
        f"stream {entry.tap_stream_id!r}, column {column.name!r}: the catalog types it "
        f"{dumps(declared).decode()}, but tap-postgres sends the {column.sql_datatype} "
        f"column's values as {dumps(live).decode()}: give the column that type in the "
        "catalog again (as --discover writes it), or convert it after the tap (a mapper, "
        "or the target)"
    )


def resolve(entry: StreamEntry, table: Table) -> StreamPlan:
    """Selected columns and schema of a stream, from its catalog entry and the live table."""
    return resolve_stream(
        StreamPlan,
        entry,
        table,
        supported=is_supported,
        column_schema=functools.partial(column_schema, entry),
        log=LOG,
        check_log_based=_check_log_based,
    )


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
    def read(only: set[tuple[str, str]]) -> dict[tuple[str, str], Table]:
        with translated(ctx.cfg, "reading the tables of the catalog"):
            return {(t.schema, t.name): t for t in read_tables(ctx.conn, ctx.cfg, only=only)}

    return plan_streams(catalog, table_of=table_of, read_tables=read, resolve=resolve, log=LOG)
