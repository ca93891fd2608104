"""INCREMENTAL: rows whose replication key is >= the bookmark, in replication-key order.

`>=` re-sends the rows that share the bookmarked value (never missing one written later with
the same value); targets upsert them on the key. A STATE is written every `state_every` rows
(the value of the last row written) and at the end, in singer-io's shape:
`{"replication_key": "updated_at", "replication_key_value": "...", "version": ...}`. A new table
version is announced (ACTIVATE_VERSION) and bookmarked right after its first records, so a run
that finds no rows starts no version.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from .connection import PARAM, execute, quote, translated
from .discovery import unindexed_key_warning
from .records import RecordWriter
from .sync_common import (
    StreamPlan,
    SyncContext,
    activate_version,
    to_json_value,
    to_sql_param,
)

LOG = logging.getLogger("tap-mysql")


def sync_incremental(ctx: SyncContext, sp: StreamPlan) -> None:
    import MySQLdb.cursors

    sid, rkey = sp.tap_stream_id, sp.replication_key
    assert rkey is not None
    if ctx.bookmark(sid, "replication_key") not in (None, rkey):
        ctx.clear_bookmark(sid, "replication_key_value")  # a new key: start over
    start = ctx.bookmark(sid, "replication_key_value")
    if start is None and ctx.config.start_date and sp.column(rkey).kind in ("datetime", "date"):
        start = ctx.config.start_date
    version = ctx.bookmark(sid, "version")
    new_version = version is None  # announced (and bookmarked) with its first records
    if new_version:
        version = int(time.time() * 1000)
    ctx.set_bookmark(sid, "replication_key", rkey)
    ctx.emit_state()
    if not sp.column(rkey).key and not sp.table.is_view:
        LOG.warning("%s", unindexed_key_warning(sid, sp.table.database, sp.table.name, rkey))

    sql = f"SELECT {sp.select_list()} FROM {sp.from_sql}"
    params: list[Any] = []
    if start is not None:
        sql += f" WHERE {quote(rkey)} >= {PARAM}"
        params.append(to_sql_param(sp.column(rkey), start))
    sql += f" ORDER BY {quote(rkey)}"

    names = sp.names
    key_at = names.index(rkey)
    writer = RecordWriter(ctx.out, sp.stream, names, sp.plan(), version, datetime.now(UTC))
    progress, batch, every = ctx.progress, ctx.batch_rows, ctx.state_every
    since_state = 0
    last_value: Any = None
    cur = ctx.conn.cursor(MySQLdb.cursors.SSCursor)
    with translated(ctx.config, f"reading {sid}"):
        execute(cur, sql, params)
        progress.add(sp.stream, 0)
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                break
            writer.write_rows(rows)
            if new_version:
                new_version = False
                activate_version(ctx, sp, version)
                ctx.set_bookmark(sid, "version", version)
            progress.add(sp.stream, len(rows))
            since_state += len(rows)
            value = rows[-1][key_at]
            if value is not None:
                last_value = value
            if since_state >= every and last_value is not None:
                since_state = 0
                ctx.set_bookmark(sid, "replication_key_value", to_json_value(last_value))
                ctx.emit_state()
        cur.close()
    progress.done(sp.stream)
    if last_value is not None:
        ctx.set_bookmark(sid, "replication_key_value", to_json_value(last_value))
    ctx.emit_state()
