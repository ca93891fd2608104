"""Sync orchestration: resolve each selected stream against the live table, write its SCHEMA,
run its replication method, keep `currently_syncing`, and end with a final STATE.

FULL_TABLE and INCREMENTAL streams run first, each in turn (the interrupted one first when a
run resumes); LOG_BASED streams take their initial snapshot in that same turn and then share one
pass over the binlog.
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
from tapwell.singer.schema import property_types
from tapwell.singer.wire import MessageWriter, dumps

from .bookmarks import check_start_date, check_state
from .config import MySQLConfig
from .connection import translated
from .discovery import Table, read_tables
from .sync_common import StreamPlan, SyncContext, write_schema
from .types import (
    ZeroDates,
    draft7_number,
    driver_conversions,
    is_supported,
    json_schema,
)

LOG = logging.getLogger("tap-mysql")


# ----------------------------------------------------------------------------- plan


def _column_schema(stream: str, column: Any, declared: dict[str, Any] | None) -> dict[str, Any]:
    """The catalog's schema of a column (numbers in draft 7 form), else the live column's. A
    catalog type the column's values do not fit (a string for an INT column, an integer for a
    DECIMAL) is a ConfigError before any message: the SCHEMA would announce it and the records
    break it."""
    live = json_schema(column)
    if not declared:
        return live
    if not _fits(column, live, declared):
        raise ConfigError(
            f"stream {stream!r}, column {column.name!r}: the catalog types it "
            f"{dumps(declared).decode()}, but tap-mysql sends the {column.column_type} column's "
            f"values as {dumps(live).decode()}: give the column that type in the catalog again "
            "(as --discover writes it), or convert it after the tap (a mapper, or the target)"
        )
    return draft7_number(column, declared)


def _fits(column: Any, live: dict[str, Any], declared: dict[str, Any]) -> bool:
    """Whether every JSON type the live column's values take is one the catalog's property takes
    (an integer is a number). A TINYINT(1) or BIT(1) column is sent as the catalog says, a boolean
    or an integer (types.row_converter); a JSON document column's values are whatever it holds:
    a catalog may narrow it."""
    kinds = set(property_types(live)) - {"null"}
    allowed = set(property_types(declared))
    if "number" in allowed:
        allowed.add("integer")
    if column.kind == "bool" and allowed & {"boolean", "integer"}:
        return True
    return kinds >= {"object", "array"} or kinds <= allowed


def resolve(entry: StreamEntry, table: Table) -> StreamPlan:
    """Selected columns and schema of a stream, from its catalog entry and the live table."""
    return resolve_stream(
        StreamPlan,
        entry,
        table,
        supported=is_supported,
        column_schema=functools.partial(_column_schema, entry.tap_stream_id),
        log=LOG,
    )


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


def _table_of(e: StreamEntry) -> tuple[str, str]:
    """(database, table) of a catalog entry: its metadata, else singer-io's `db-table` id."""
    db = e.metadata().get("database-name") or e.raw.get("database_name")
    table = e.raw.get("table_name") or e.stream
    if not db:
        db, _, rest = e.tap_stream_id.partition("-")
        table = table or rest
    return str(db), str(table)


def _plans(ctx: SyncContext, catalog: Catalog) -> list[StreamPlan]:
    def read(only: set[tuple[str, str]]) -> dict[tuple[str, str], Table]:
        with translated(ctx.config, "reading the tables of the catalog"):
            return {(t.database, t.name): t for t in read_tables(ctx.conn, ctx.config, only=only)}

    return plan_streams(catalog, table_of=_table_of, read_tables=read, resolve=resolve, log=LOG)
