"""FULL_TABLE (and the initial load of LOG_BASED) through the fast lane: rows go straight into
BATCH files (tapwell.sdk.tap_batch) instead of RECORD lines.

Each file holds `batch_size` rows (the last one fewer) and is followed by its BATCH message and
then a STATE whose `last_pk_fetched` is the key of the file's last row: the state never covers a
row that is not in a file already announced, and a run resumed from it starts right after.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from tapwell.sdk.tap_batch import BatchFile, batch_message

from .connection import translated
from .records import compile_row, dumps
from .sync_common import StreamPlan, SyncContext, to_json_value

LOG = logging.getLogger("tap-mysql")


def _file_name(stream: str, version: int, seq: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", stream)
    return f"{safe}-{version}-{time.time_ns()}-{seq:06d}"


def stream_files(
    ctx: SyncContext, sp: StreamPlan, sql: str, params: list[Any], version: int
) -> int:
    """Write the rows `sql` selects into BATCH files of `version`; returns how many."""
    import MySQLdb.cursors

    cfg = ctx.config.batch_config
    assert cfg is not None
    storage = cfg.storage()
    LOG.info("%s: the fast lane, %s BATCH files of %d rows", sp.stream, cfg.format, cfg.batch_size)
    sid = sp.tap_stream_id
    names = sp.names
    key_pos = [names.index(k) for k in sp.key_properties]
    to_dict = compile_row(names, sp.plan())
    cur = ctx.conn.cursor(MySQLdb.cursors.SSCursor)
    progress, fetch = ctx.progress, min(ctx.batch_rows, cfg.batch_size)
    written = seq = 0
    file: BatchFile | None = None
    last: Any = None
    with translated(ctx.config, f"reading {sid}"):
        cur.execute(sql, params)
        progress.add(sp.stream, 0)
        while True:
            want = fetch if file is None else min(fetch, cfg.batch_size - file.rows)
            rows = cur.fetchmany(want)
            if not rows:
                break
            if file is None:
                storage.wait_below(cfg.max_pending_files)
                seq += 1
                file = BatchFile(cfg, storage, _file_name(sp.stream, version, seq), names)
            file.write([to_dict(r) for r in rows], dumps)
            last = rows[-1]
            written += len(rows)
            progress.add(sp.stream, len(rows))
            if file.rows >= cfg.batch_size:
                _announce(ctx, sp, file, version, key_pos, last)
                file = None
        cur.close()
    if file is not None:
        _announce(ctx, sp, file, version, key_pos, last)
    progress.done(sp.stream)
    return written


def _announce(
    ctx: SyncContext,
    sp: StreamPlan,
    file: BatchFile,
    version: int,
    key_pos: list[int],
    last: Any,
) -> None:
    """Close the file, send its BATCH, then the STATE after its last row."""
    cfg = ctx.config.batch_config
    assert cfg is not None
    msg = batch_message(sp.stream, cfg, [file.close()])
    msg["version"] = version  # tapwell's: the table version the rows carry (SDK targets ignore it)
    ctx.writer.write_dict(msg)
    if key_pos:
        ctx.set_bookmark(
            sp.tap_stream_id,
            "last_pk_fetched",
            {k: to_json_value(last[i]) for k, i in zip(sp.key_properties, key_pos, strict=True)},
        )
        ctx.emit_state()
