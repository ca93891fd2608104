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
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from tapwell.sdk.tap_batch import BatchFile, batch_message

from .connection import execute, quote, server_info, translated
from .csv_select import csv_select_list
from .records import compile_row, dumps
from .sync_common import StreamPlan, SyncContext, to_json_value

LOG = logging.getLogger("tap-mysql")


def _file_name(stream: str, version: int, seq: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", stream)
    return f"{safe}-{version}-{time.time_ns()}-{seq:06d}"


def stream_files(
    ctx: SyncContext, sp: StreamPlan, sql: str, params: list[Any], version: int
) -> int:
    """Write the rows `sql` selects into BATCH files of `version`; returns how many.

    csv: the server renders each line (csv_select), the tap joins them. jsonl: each row as the
    RECORD lane's dict, encoded by the tap (singer-sdk's format)."""
    cfg = ctx.config.batch_config
    assert cfg is not None
    LOG.info("%s: the fast lane, %s BATCH files of %d rows", sp.stream, cfg.format, cfg.batch_size)
    if cfg.format == "csv":
        return _csv_files(ctx, sp, sql, params, version)
    to_dict = compile_row(sp.names, sp.plan())
    key_pos = [sp.names.index(k) for k in sp.key_properties]

    def write(file: BatchFile, rows: list[Any]) -> Any:
        file.write([to_dict(r) for r in rows], dumps)
        return [rows[-1][i] for i in key_pos]

    return _files(ctx, sp, sql, params, version, write)


def _csv_files(ctx: SyncContext, sp: StreamPlan, sql: str, params: list[Any], version: int) -> int:
    head = f"SELECT {sp.select_list()} FROM "
    if not sql.startswith(head):
        raise AssertionError("sync_full's SELECT changed shape")  # pragma: no cover
    mariadb = server_info(ctx.conn)["engine"] == "mariadb"
    select, checks_dates = csv_select_list(
        sp.columns, sp.schema["properties"], sp.key_properties, quote, mariadb, _charsets(ctx, sp)
    )
    sql = f"SELECT {select} FROM " + sql[len(head) :]
    first_key = 2 if checks_dates else 1
    zero = ctx.zero
    line = itemgetter(0)

    def write(file: BatchFile, rows: list[Any]) -> Any:
        if checks_dates:
            for r in rows:
                if r[1]:
                    for text in r[1].split(","):
                        zero.bad(text)
        file.write_lines(b"\n".join(map(line, rows)) + b"\n", len(rows))
        return rows[-1][first_key:]

    return _files(ctx, sp, sql, params, version, write)


def _charsets(ctx: SyncContext, sp: StreamPlan) -> dict[str, str | None]:
    """Column -> character set (None for non-text columns): the csv SELECT converts only the
    text that is not already utf8mb4's bytes."""
    cur = ctx.conn.cursor()
    with translated(ctx.config, f"reading the character sets of {sp.tap_stream_id}"):
        cur.execute(
            "SELECT column_name, character_set_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (sp.table.database, sp.table.name),
        )
        found = {str(n): (str(c) if c else None) for n, c in cur.fetchall()}
    cur.close()
    return found


def _files(
    ctx: SyncContext,
    sp: StreamPlan,
    sql: str,
    params: list[Any],
    version: int,
    write: Callable[[BatchFile, list[Any]], Any],
) -> int:
    """Fetch `sql` in chunks and `write` each into the current file (it returns the chunk's
    last key); a full file is announced, then the STATE after its last row."""
    import MySQLdb.cursors

    cfg = ctx.config.batch_config
    assert cfg is not None
    storage = cfg.storage()
    sid = sp.tap_stream_id
    cur = ctx.conn.cursor(MySQLdb.cursors.SSCursor)
    progress, fetch = ctx.progress, min(ctx.batch_rows, cfg.batch_size)
    written = seq = 0
    file: BatchFile | None = None
    last: Any = None
    with translated(ctx.config, f"reading {sid}"):
        execute(cur, sql, params)
        progress.add(sp.stream, 0)
        while True:
            want = fetch if file is None else min(fetch, cfg.batch_size - file.rows)
            rows = cur.fetchmany(want)
            if not rows:
                break
            if file is None:
                storage.wait_below(cfg.max_pending_files)
                seq += 1
                file = BatchFile(cfg, storage, _file_name(sp.stream, version, seq), sp.names)
            last = write(file, rows)
            written += len(rows)
            progress.add(sp.stream, len(rows))
            if file.rows >= cfg.batch_size:
                _announce(ctx, sp, file, version, last)
                file = None
        cur.close()
    if file is not None:
        _announce(ctx, sp, file, version, last)
    progress.done(sp.stream)
    return written


def _announce(
    ctx: SyncContext,
    sp: StreamPlan,
    file: BatchFile,
    version: int,
    last: Any,
) -> None:
    """Close the file, send its BATCH, then the STATE after its last row."""
    cfg = ctx.config.batch_config
    assert cfg is not None
    msg = batch_message(sp.stream, cfg, [file.close()])
    msg["version"] = version  # tapwell's: the table version the rows carry (SDK targets ignore it)
    ctx.writer.write_dict(msg)
    if sp.key_properties:
        ctx.set_bookmark(
            sp.tap_stream_id,
            "last_pk_fetched",
            {k: to_json_value(v) for k, v in zip(sp.key_properties, last, strict=True)},
        )
        ctx.emit_state()
