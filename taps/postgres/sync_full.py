"""FULL_TABLE: the whole table in primary-key order, one consistent snapshot, through a
server-side cursor (bounded memory), resumable after the last committed row.

Bookmarks (singer-io's and tap-mysql's shape): `version` (the table version the records carry),
`max_pk_values` (the key of the last row when the sync started: the sync ends there) and
`last_pk_fetched` (the key of the last row written before the latest STATE). A run that finds
both resumes after `last_pk_fetched` with the same version; the version is activated once all
rows are written (an empty table's ACTIVATE_VERSION says `"empty": true`). A table without a key
is read whole in one snapshot and starts over after a kill.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import loads

from .connection import quote, server_version, translated
from .nulled import count_snapshot
from .records import RecordWriter
from .sync_common import SRC, StreamPlan, SyncContext, activate_version, bookmark_param
from .types import has_raw_json


def key_condition(sp: StreamPlan, op: str) -> str:
    cols = ", ".join(f"{SRC}.{quote(k)}" for k in sp.key_properties)
    marks = ", ".join(sp.cast(k) for k in sp.key_properties)
    return f"({cols}) {op} ({marks})"


def key_params(sp: StreamPlan, values: dict[str, Any]) -> list[Any]:
    try:
        return [bookmark_param(values[k]) for k in sp.key_properties]
    except KeyError as exc:
        raise ConfigError(
            f"stream {sp.tap_stream_id!r}: the bookmark has no value for key column {exc}; "
            "remove the stream's bookmark to start over"
        ) from None


def begin_snapshot(ctx: SyncContext, snapshot: str | None = None) -> None:
    """A new REPEATABLE READ transaction (the connection's level, see connection.connect), read
    only: every query of the table sees one snapshot (the replication slot's exported one, for a
    LOG_BASED initial copy)."""
    conn = ctx.conn
    conn.rollback()
    with translated(ctx.cfg, "starting a consistent snapshot"), conn.cursor() as cur:
        if snapshot:
            cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
        cur.execute("SET TRANSACTION READ ONLY")


def _max_pk(ctx: SyncContext, sp: StreamPlan) -> dict[str, Any] | None:
    keys = sp.key_properties
    cols = ", ".join(f"to_json({SRC}.{quote(k)})::text" for k in keys)
    order = ", ".join(f"{SRC}.{quote(k)} DESC" for k in keys)
    with (
        translated(ctx.cfg, f"reading the last key of {sp.tap_stream_id}"),
        ctx.conn.cursor() as cur,
    ):
        cur.execute(f"SELECT {cols} FROM {sp.from_sql} AS {SRC} ORDER BY {order} LIMIT 1")
        row = cur.fetchone()
    if row is None:
        return None
    return {k: loads(v) for k, v in zip(keys, row, strict=True)}


def sync_full_table(
    ctx: SyncContext, sp: StreamPlan, *, snapshot: str | None = None, activate: bool = True
) -> None:
    """Write every row of the table (or the rest of it, when resuming) and activate the version.

    `snapshot` is the replication slot's exported snapshot for a LOG_BASED initial load."""
    sid = sp.tap_stream_id
    version = ctx.bookmark(sid, "version")
    max_pk = ctx.bookmark(sid, "max_pk_values")
    last_pk = ctx.bookmark(sid, "last_pk_fetched")
    resuming = version is not None and max_pk is not None and bool(sp.key_properties)
    if not resuming:
        version = int(time.time() * 1000)
        last_pk = None
        ctx.set_bookmark(sid, "version", version)  # announced only after its records
    keys = sp.key_properties
    begin_snapshot(ctx, snapshot)
    if keys and not resuming:
        max_pk = _max_pk(ctx, sp)
        if max_pk is not None:
            ctx.set_bookmark(sid, "max_pk_values", max_pk)
    ctx.emit_state()

    written = 0
    if not keys or max_pk is not None:
        where, params = [], []  # the rows this run reads (the fast lane's too)
        if keys:
            where.append(key_condition(sp, "<="))
            params += key_params(sp, max_pk or {})
            if last_pk is not None:
                where.append(key_condition(sp, ">"))
                params += key_params(sp, last_pk)
        where_sql = " WHERE " + " AND ".join(where) if where else ""
        if keys and max_pk is not None and ctx.cfg.batch_config is not None:
            from .sync_files import stream_files  # the fast lane (BATCH files)

            written = stream_files(ctx, sp, max_pk, last_pk, version)
        else:
            sql = sp.record_sql(server_version(ctx.conn), keys) + where_sql
            if keys:
                sql += " ORDER BY " + ", ".join(f"{SRC}.{quote(k)}" for k in keys)
            written = stream_rows(ctx, sp, sql, params, version, resume_keys=True)
        count_snapshot(ctx, sp, where_sql, params)
    ctx.conn.rollback()  # ends the read-only snapshot

    if activate:
        activate_version(ctx, sp, version, empty=not resuming and written == 0)
    ctx.clear_bookmark(sid, "max_pk_values")
    ctx.clear_bookmark(sid, "last_pk_fetched")
    ctx.set_bookmark(sid, "initial_full_table_complete", True)
    ctx.emit_state()


def stream_rows(
    ctx: SyncContext,
    sp: StreamPlan,
    sql: str,
    params: list[Any],
    version: int | None,
    *,
    resume_keys: bool = False,
    replication_key: str | None = None,
    on_first: Any = None,
) -> int:
    """Write the records `sql` selects (record JSON, then the bookmark columns) through a named
    server-side cursor, `batch_rows` at a time; every `state_every` rows, bookmark the last row
    (its key as `last_pk_fetched`, or its `replication_key_value`) and write a STATE."""
    sid = sp.tap_stream_id
    writer = RecordWriter(
        ctx.out, sp.stream, version, datetime.now(UTC), raw_json=has_raw_json(sp.columns)
    )
    progress, batch, every = ctx.progress, ctx.cfg.batch_rows, ctx.cfg.state_every
    since_state = written = 0
    last: tuple[Any, ...] | None = None
    last_keyed: tuple[Any, ...] | None = None
    with translated(ctx.cfg, f"reading {sid}"):
        cur = ctx.conn.cursor(name=f"tw_{sid[:40]}", withhold=False)
        cur.itersize = batch
        cur.execute(sql, params)
        progress.add(sp.stream, 0)
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                break
            writer.write_json([r[0] for r in rows])
            if written == 0 and on_first is not None:
                on_first()
            written += len(rows)
            progress.add(sp.stream, len(rows))
            since_state += len(rows)
            last = rows[-1]
            if replication_key:  # NULL keys sort last: bookmark the last value that is not
                last = next((r for r in reversed(rows) if r[1] is not None), last_keyed)
                last_keyed = last
            if since_state >= every:
                since_state = 0
                if last is not None:
                    _bookmark_row(ctx, sp, last, resume_keys, replication_key)
                ctx.emit_state()
        cur.close()
    if last is not None and replication_key:
        _bookmark_row(ctx, sp, last, resume_keys, replication_key)
    progress.done(sp.stream)
    return written


def _bookmark_row(
    ctx: SyncContext, sp: StreamPlan, row: tuple[Any, ...], resume_keys: bool, rkey: str | None
) -> None:
    sid = sp.tap_stream_id
    if resume_keys and sp.key_properties:
        values = {k: loads(v) for k, v in zip(sp.key_properties, row[1:], strict=True)}
        ctx.set_bookmark(sid, "last_pk_fetched", values)
    elif rkey is not None and row[1] is not None:
        ctx.set_bookmark(sid, "replication_key_value", loads(row[1]))
