"""FULL_TABLE: the whole table in primary-key order, from a server-side cursor inside a
consistent snapshot, resumable after the last committed row.

Bookmarks (singer-io's shape): `version` (the table version the records carry),
`max_pk_values` (the key of the last row when the sync started: the sync ends there) and
`last_pk_fetched` (the key of the last row written before the latest STATE). A run that finds
both resumes after `last_pk_fetched` with the same version; the table is activated once all rows
are written (never before its records: an empty table's ACTIVATE_VERSION says `"empty": true`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tapwell.singer.errors import ConfigError

from .connection import PARAM, execute, quote, translated
from .records import RecordWriter
from .sync_common import (
    StreamPlan,
    SyncContext,
    activate_version,
    to_json_value,
    to_sql_param,
)


def _key_condition(keys: list[str], op: str) -> str:
    cols = ", ".join(quote(k) for k in keys)
    marks = ", ".join([PARAM] * len(keys))
    return f"({cols}) {op} ({marks})" if len(keys) > 1 else f"{cols} {op} {PARAM}"


def _params(sp: StreamPlan, values: dict[str, Any]) -> list[Any]:
    try:
        return [to_sql_param(sp.column(k), values[k]) for k in sp.key_properties]
    except KeyError as exc:
        raise ConfigError(
            f"stream {sp.tap_stream_id!r}: the bookmark has no value for key column {exc}; "
            "remove the stream's bookmark to start over"
        ) from None


def start_snapshot(ctx: SyncContext) -> None:
    cur = ctx.conn.cursor()
    with translated(ctx.config, "starting a consistent snapshot"):
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
    cur.close()


def end_snapshot(ctx: SyncContext) -> None:
    with translated(ctx.config, "ending the snapshot"):
        ctx.conn.commit()


def _max_pk(ctx: SyncContext, sp: StreamPlan) -> dict[str, Any] | None:
    cols = ", ".join(quote(k) for k in sp.key_properties)
    order = ", ".join(f"{quote(k)} DESC" for k in sp.key_properties)
    cur = ctx.conn.cursor()
    with translated(ctx.config, f"reading the last key of {sp.tap_stream_id}"):
        cur.execute(f"SELECT {cols} FROM {sp.from_sql} ORDER BY {order} LIMIT 1")
        row = cur.fetchone()
    cur.close()
    if row is None:
        return None
    return {k: to_json_value(v) for k, v in zip(sp.key_properties, row, strict=True)}


def sync_full_table(ctx: SyncContext, sp: StreamPlan, *, activate: bool = True) -> None:
    """Write every row of the table (or the rest of it, when resuming) and activate the version.

    `activate` is false for the initial snapshot of a LOG_BASED stream on the second pass
    (its version was activated when it was first taken)."""
    sid = sp.tap_stream_id
    version = ctx.bookmark(sid, "version")
    max_pk = ctx.bookmark(sid, "max_pk_values")
    last_pk = ctx.bookmark(sid, "last_pk_fetched")
    resuming = version is not None and max_pk is not None
    if not resuming:
        version = int(time.time() * 1000)
        last_pk = None
        ctx.set_bookmark(sid, "version", version)  # announced only after its records
    keys = sp.key_properties
    start_snapshot(ctx)
    if keys and not resuming:
        max_pk = _max_pk(ctx, sp)
        if max_pk is not None:
            ctx.set_bookmark(sid, "max_pk_values", max_pk)
    ctx.emit_state()

    where: list[str] = []
    params: list[Any] = []
    if keys and max_pk is not None:
        where.append(_key_condition(keys, "<="))
        params += _params(sp, max_pk)
        if last_pk is not None:
            where.append(_key_condition(keys, ">"))
            params += _params(sp, last_pk)
    sql = f"SELECT {sp.select_list()} FROM {sp.from_sql}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if keys:
        sql += " ORDER BY " + ", ".join(quote(k) for k in keys)
    if keys and max_pk is None:
        sql = ""  # the table was empty when the sync started
    written = _stream_rows(ctx, sp, sql, params, version) if sql else 0
    end_snapshot(ctx)

    if activate:
        # Not resuming and nothing written: the table was empty in the snapshot.
        activate_version(ctx, sp, version, empty=not resuming and written == 0)
    ctx.clear_bookmark(sid, "max_pk_values")
    ctx.clear_bookmark(sid, "last_pk_fetched")
    ctx.set_bookmark(sid, "initial_full_table_complete", True)
    ctx.emit_state()


def _stream_rows(
    ctx: SyncContext, sp: StreamPlan, sql: str, params: list[Any], version: int
) -> int:
    """Write the rows `sql` selects as records of `version`; returns how many."""
    import MySQLdb.cursors

    if ctx.config.batch_config is not None:
        from .sync_files import stream_files

        return stream_files(ctx, sp, sql, params, version)
    sid = sp.tap_stream_id
    names = sp.names
    key_pos = [names.index(k) for k in sp.key_properties]
    writer = RecordWriter(ctx.out, sp.stream, names, sp.plan(), version, datetime.now(UTC))
    cur = ctx.conn.cursor(MySQLdb.cursors.SSCursor)
    progress, batch, every = ctx.progress, ctx.batch_rows, ctx.state_every
    since_state = written = 0
    with translated(ctx.config, f"reading {sid}"):
        execute(cur, sql, params)
        progress.add(sp.stream, 0)
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                break
            writer.write_rows(rows)
            written += len(rows)
            progress.add(sp.stream, len(rows))
            since_state += len(rows)
            if key_pos and since_state >= every:
                since_state = 0
                last = rows[-1]
                ctx.set_bookmark(
                    sid,
                    "last_pk_fetched",
                    {
                        k: to_json_value(last[i])
                        for k, i in zip(sp.key_properties, key_pos, strict=True)
                    },
                )
                ctx.emit_state()
        cur.close()
    progress.done(sp.stream)
    return written
