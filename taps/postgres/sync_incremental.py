"""INCREMENTAL: rows whose replication key is >= the bookmark, in replication-key order, compared
as the column's own type (exact decimals, instants with microseconds).

`>=` re-sends the rows that share the bookmarked value (never missing one written later with
the same value); targets upsert them on the key. A STATE is written every `state_every` rows
and at the end, in singer-io's shape: `{"replication_key": "updated_at",
"replication_key_value": "...", "version": ...}`. A new table version is announced
(ACTIVATE_VERSION) and bookmarked right after its first records.
"""

from __future__ import annotations

import time

from .connection import quote, server_version
from .nulled import count_snapshot
from .sync_common import SRC, StreamPlan, SyncContext, activate_version, bookmark_param
from .sync_full import begin_snapshot, stream_rows


def sync_incremental(ctx: SyncContext, sp: StreamPlan) -> None:
    sid, rkey = sp.tap_stream_id, sp.replication_key
    assert rkey is not None
    if ctx.bookmark(sid, "replication_key") not in (None, rkey):
        ctx.clear_bookmark(sid, "replication_key_value")  # a new key: start over
    start = ctx.bookmark(sid, "replication_key_value")
    if start is None and ctx.cfg.start_date and sp.column(rkey).kind in (
        "date", "timestamp", "timestamptz",
    ):  # fmt: skip
        start = ctx.cfg.start_date
    version = ctx.bookmark(sid, "version")
    new_version = version is None
    if version is None:
        version = int(time.time() * 1000)
    ctx.set_bookmark(sid, "replication_key", rkey)
    ctx.emit_state()

    begin_snapshot(ctx)
    sql = sp.record_sql(server_version(ctx.conn), [rkey], held_only=True)
    params, where = [], ""
    if start is not None:
        where = f" WHERE {SRC}.{quote(rkey)} >= {sp.cast(rkey)}"
        params.append(bookmark_param(start))
    sql += where + f" ORDER BY {SRC}.{quote(rkey)}"

    def first() -> None:
        if new_version:
            activate_version(ctx, sp, version)
            ctx.set_bookmark(sid, "version", version)

    stream_rows(ctx, sp, sql, params, version, replication_key=rkey, on_first=first)
    count_snapshot(ctx, sp, where, params)
    ctx.conn.rollback()
    ctx.emit_state()
