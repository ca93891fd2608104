"""FULL_TABLE (and the initial load of LOG_BASED) through the fast lane: rows go straight into
BATCH files (tapwell.sdk.tap_batch) instead of RECORD lines, for tables with a key.

The table is read in key ranges of `batch_size` rows inside the sync's snapshot: the end of a
range is the key of its last row (`OFFSET batch_size - 1` on the key order), found first; then
the range's rows go into one file, and the file's BATCH is followed by a STATE whose
`last_pk_fetched` is that key. The state never covers a row that is not in an announced file, and
a resumed run starts right after it.

csv: `COPY (SELECT ...) TO STDOUT (FORMAT csv)` written by psycopg2 into the file as the server
sends it (no Python per row or value). Each field is the text of the column's JSON value in the
RECORD lane (`to_json(<the record's expression>) #>> '{}'`: strings as themselves, numbers with
every digit, timestamps in ISO 8601 with offset, JSON documents as their text), so a target parses
each column as it parses the RECORD's; NULL is COPY's unquoted empty field and '' its quoted `""`.
jsonl: the record JSON texts the RECORD lane writes, one per line.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from tapwell.sdk.tap_batch import BatchFile, batch_message
from tapwell.singer.schema import property_types
from tapwell.singer.wire import loads

from .connection import quote, server_version, translated
from .sync_common import SRC, StreamPlan, SyncContext, bookmark_param
from .types import has_raw_json, select_expression

LOG = logging.getLogger("tap-postgres")


def _file_name(stream: str, version: int, seq: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", stream)
    return f"{safe}-{version}-{time.time_ns()}-{seq:06d}"


def _range(
    sp: StreamPlan, low: dict[str, Any] | None, high: dict[str, Any]
) -> tuple[str, list[Any]]:
    """WHERE (after `low`, up to `high`) and its params: the key compared as a row, each value
    cast to its column's type (as sync_full's resume condition)."""
    cols = ", ".join(f"{SRC}.{quote(k)}" for k in sp.key_properties)
    marks = ", ".join(sp.cast(k) for k in sp.key_properties)
    where, params = [f"({cols}) <= ({marks})"], _params(sp, high)
    if low is not None:
        where.append(f"({cols}) > ({marks})")
        params += _params(sp, low)
    return " WHERE " + " AND ".join(where), params


def _params(sp: StreamPlan, values: dict[str, Any]) -> list[Any]:
    return [bookmark_param(values[k]) for k in sp.key_properties]


def _order(sp: StreamPlan) -> str:
    return " ORDER BY " + ", ".join(f"{SRC}.{quote(k)}" for k in sp.key_properties)


def _range_end(
    ctx: SyncContext, sp: StreamPlan, low: dict[str, Any] | None, high: dict[str, Any], n: int
) -> dict[str, Any]:
    """The key of the n-th row after `low` (at most `high`): the end of the next file's range."""
    where, params = _range(sp, low, high)
    cols = ", ".join(f"to_json({SRC}.{quote(k)})::text" for k in sp.key_properties)
    query = f"SELECT {cols} FROM {sp.from_sql} AS {SRC}{where}{_order(sp)} OFFSET %s LIMIT 1"
    with ctx.conn.cursor() as cur:
        cur.execute(query, [*params, n - 1])
        row = cur.fetchone()
    if row is None:
        return high
    return {k: loads(v) for k, v in zip(sp.key_properties, row, strict=True)}


def _rows_sql(ctx: SyncContext, sp: StreamPlan, fmt: str) -> str:
    version = server_version(ctx.conn)
    if fmt == "jsonl":
        return sp.record_sql(version, [])
    props = sp.schema.get("properties") or {}
    fields = ", ".join(
        f"{_field(select_expression(c, SRC, quote, version), props.get(c.name) or {})}"
        f" AS {quote(c.name)}"
        for c in sp.columns
    )
    return f"SELECT {fields} FROM {sp.from_sql} AS {SRC}"


def _field(expr: str, prop: dict[str, Any]) -> str:
    """A column's csv text: a scalar's text as the RECORD's JSON value would give it (a string
    unquoted), a document's JSON text where the target keeps JSON (its schema admits objects or
    arrays), a JSON null as NULL in both, as on the RECORD lane."""
    kinds = set(property_types(prop))
    if not kinds or kinds & {"object", "array"}:
        return f"NULLIF(to_json({expr})::text, 'null')"
    return f"to_json({expr}) #>> '{{}}'"


def _jsonl(
    ctx: SyncContext, sp: StreamPlan, file: BatchFile, query: str, params: list[Any], raw: bool
) -> None:
    """The range's record JSON texts into `file`, `batch_rows` at a time (a named cursor)."""
    with ctx.conn.cursor(name=f"tw_files_{sp.tap_stream_id[:40]}") as cur:
        cur.itersize = ctx.cfg.batch_rows
        cur.execute(query, params)
        while rows := cur.fetchmany(ctx.cfg.batch_rows):
            texts = [r[0] for r in rows]
            if raw:  # a `json` value's own line breaks (blanks between tokens)
                texts = [t.replace("\n", " ").replace("\r", " ") for t in texts]
            file.write_lines("".join(t + "\n" for t in texts).encode(), len(texts))


def stream_files(
    ctx: SyncContext,
    sp: StreamPlan,
    max_pk: dict[str, Any],
    last_pk: dict[str, Any] | None,
    version: int,
) -> int:
    """Write the rows after `last_pk` up to `max_pk` into BATCH files of `version`, one key range
    per file; returns how many rows."""
    cfg = ctx.cfg.batch_config
    assert cfg is not None
    storage = cfg.storage()
    LOG.info("%s: the fast lane, %s BATCH files of %d rows", sp.stream, cfg.format, cfg.batch_size)
    base = _rows_sql(ctx, sp, cfg.format)
    raw_json = has_raw_json(sp.columns)
    names = [c.name for c in sp.columns]
    written = seq = 0
    low = last_pk
    ctx.progress.add(sp.stream, 0)
    with translated(ctx.cfg, f"reading {sp.tap_stream_id}"):
        while low != max_pk:
            high = _range_end(ctx, sp, low, max_pk, cfg.batch_size)
            where, params = _range(sp, low, high)
            storage.wait_below(cfg.max_pending_files)
            seq += 1
            file = BatchFile(cfg, storage, _file_name(sp.stream, version, seq), names)
            if cfg.format == "csv":
                with ctx.conn.cursor() as cur:
                    query = cur.mogrify(base + where + _order(sp), params).decode()
                    cur.copy_expert(f"COPY ({query}) TO STDOUT (FORMAT csv)", file.f)
                    file.rows += max(cur.rowcount, 0)
            else:
                _jsonl(ctx, sp, file, base + where + _order(sp), params, raw_json)
            written += file.rows
            ctx.progress.add(sp.stream, file.rows)
            msg = batch_message(sp.stream, cfg, [file.close()])
            msg["version"] = version  # tapwell's: the table version the rows carry
            ctx.writer.write_dict(msg)
            ctx.set_bookmark(sp.tap_stream_id, "last_pk_fetched", high)
            ctx.emit_state()
            low = high
    ctx.progress.done(sp.stream)
    return written
