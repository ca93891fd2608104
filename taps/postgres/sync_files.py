"""FULL_TABLE (and the initial load of LOG_BASED) through the fast lane: rows go straight into
BATCH files (tapwell.sdk.tap_batch) instead of RECORD lines, for tables with a key.

One query reads the rest of the table in key order inside the sync's snapshot (after
`last_pk_fetched`, up to `max_pk_values`), and its rows are cut into files of `batch_size` as
they arrive: a full file is closed, its BATCH written, then a STATE whose `last_pk_fetched` is
the key of the file's last row, read back from that row. The state never covers a row that is
not in an announced file, and a resumed run starts right after it. Keys whose record text might
not read back as the same key (numbers that may be NaN, dates and times, which the record may
write as null) are read one key range per file instead: the end of a range is the key of its
last row (`OFFSET batch_size - 1` on the key order), found first.

csv: `COPY (SELECT ...) TO STDOUT (FORMAT csv)` written by psycopg2 into the files as the server
sends it, one row per message (no Python per value). Each field is the text of the column's JSON
value in the RECORD lane (`to_json(<the record's expression>) #>> '{}'`: strings as themselves,
numbers with every digit, timestamps in ISO 8601 with offset, JSON documents as their text), so a
target parses each column as it parses the RECORD's; NULL is COPY's unquoted empty field and ''
its quoted `""`. jsonl: the record JSON texts the RECORD lane writes, one per line.
"""

from __future__ import annotations

import csv
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from tapwell.sdk.tap_batch import BatchFile, batch_message
from tapwell.singer.schema import property_types
from tapwell.singer.wire import loads

from .connection import quote, server_version, translated
from .sync_common import SRC, StreamPlan, SyncContext, bookmark_param
from .types import has_raw_json, select_expression

LOG = logging.getLogger("tap-postgres")
# Key kinds whose record text casts back to the same key: the one-query lane's bookmark
_TEXT_KEYS = {"int", "string", "uuid", "enum"}


def _file_name(stream: str, version: int, seq: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", stream)
    return f"{safe}-{version}-{time.time_ns()}-{seq:06d}"


def _copy_csv(ctx: SyncContext, query: str, params: Any, out: Any) -> int:
    """The rows of `query` written to `out` as the server's COPY csv sends them; how many."""
    with ctx.conn.cursor() as cur:
        sql = cur.mogrify(query, params).decode()
        cur.copy_expert(f"COPY ({sql}) TO STDOUT (FORMAT csv)", out)
        return max(cur.rowcount, 0)


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
    for texts in _json_texts(ctx, sp, query, params, raw):
        file.write_lines("".join(t + "\n" for t in texts).encode(), len(texts))


def _json_texts(
    ctx: SyncContext, sp: StreamPlan, query: str, params: list[Any], raw: bool
) -> Iterator[list[str]]:
    """The query's record JSON texts, `batch_rows` at a time, each on one line (a named cursor)."""
    with ctx.conn.cursor(name=f"tw_files_{sp.tap_stream_id[:40]}") as cur:
        cur.itersize = ctx.cfg.batch_rows
        cur.execute(query, params)
        while rows := cur.fetchmany(ctx.cfg.batch_rows):
            texts = [r[0] for r in rows]
            if raw:  # a `json` value's own line breaks (blanks between tokens)
                texts = [t.replace("\n", " ").replace("\r", " ") for t in texts]
            yield texts


def _announce(
    ctx: SyncContext, sp: StreamPlan, file: BatchFile, version: int, key: dict[str, Any]
) -> None:
    """A written file's BATCH message (of the table `version`), then the STATE of its last key."""
    ctx.progress.add(sp.stream, file.rows)
    cfg = ctx.cfg.batch_config
    assert cfg is not None
    msg = batch_message(sp.stream, cfg, [file.close()])
    msg["version"] = version  # tapwell's: the table version the rows carry
    ctx.writer.write_dict(msg)
    ctx.set_bookmark(sp.tap_stream_id, "last_pk_fetched", key)
    ctx.emit_state()


def stream_files(
    ctx: SyncContext,
    sp: StreamPlan,
    max_pk: dict[str, Any],
    last_pk: dict[str, Any] | None,
    version: int,
) -> int:
    """Write the rows after `last_pk` up to `max_pk` into BATCH files of `version`; returns how
    many rows."""
    cfg = ctx.cfg.batch_config
    assert cfg is not None
    LOG.info("%s: the fast lane, %s BATCH files of %d rows", sp.stream, cfg.format, cfg.batch_size)
    ctx.progress.add(sp.stream, 0)
    with translated(ctx.cfg, f"reading {sp.tap_stream_id}"):
        selected = {c.name for c in sp.columns}
        if all(k in selected and sp.column(k).kind in _TEXT_KEYS for k in sp.key_properties):
            written = _one_query(ctx, sp, max_pk, last_pk, version)
        else:
            written = _ranges(ctx, sp, max_pk, last_pk, version)
    ctx.progress.done(sp.stream)
    return written


class _Files:
    """Rows in, cut into BATCH files of `batch_size`: a full file is announced (BATCH), then the
    STATE with its last row's key (`key_of`)."""

    def __init__(
        self,
        ctx: SyncContext,
        sp: StreamPlan,
        version: int,
        key_of: Callable[[bytes], dict[str, Any]],
    ) -> None:
        cfg = ctx.cfg.batch_config
        assert cfg is not None
        self.ctx, self.sp, self.cfg, self.version, self.key_of = ctx, sp, cfg, version, key_of
        self.storage = cfg.storage()
        self.names = [c.name for c in sp.columns]
        self.file: BatchFile | None = None
        self.last = b""  # the latest row
        self.seq = self.written = 0
        self.left = 0  # rows the open file still takes
        self.put: Callable[[bytes], Any] = self._open_and_write

    def _open(self) -> BatchFile:
        self.storage.wait_below(self.cfg.max_pending_files)
        self.seq += 1
        name = _file_name(self.sp.stream, self.version, self.seq)
        self.file = BatchFile(self.cfg, self.storage, name, self.names)
        self.left = self.cfg.batch_size
        self.put = self.file.f.write
        return self.file

    def _open_and_write(self, row: bytes) -> Any:
        return self._open().f.write(row)

    def write(self, row: bytes) -> None:
        """One csv row: the file object of psycopg2's COPY TO, which hands over each of the
        server's rows (one CopyData message) in one call."""
        self.put(row)
        self.last = row
        self.left -= 1
        if not self.left:
            self.close(row, self.cfg.batch_size)

    def lines(self, texts: list[bytes]) -> None:
        """jsonl lines (each ending in a newline), any number."""
        while texts:
            file = self.file or self._open()
            take, texts = texts[: self.left], texts[self.left :]
            file.write_lines(b"".join(take), 0)
            self.left -= len(take)
            self.last = take[-1]
            if not self.left:
                self.close(take[-1], self.cfg.batch_size)

    def close(self, last: bytes, rows: int) -> None:
        """Announce the open file (`rows` rows, the last `last`) and bookmark its last key."""
        file = self.file
        assert file is not None
        file.rows = rows
        self.written += rows
        _announce(self.ctx, self.sp, file, self.version, self.key_of(last))
        self.file = None
        self.put = self._open_and_write

    def finish(self) -> int:
        """The last file (fewer rows), if any; how many rows were written."""
        if self.file is not None:
            self.close(self.last, self.cfg.batch_size - self.left)
        return self.written


def _one_query(
    ctx: SyncContext,
    sp: StreamPlan,
    max_pk: dict[str, Any],
    last_pk: dict[str, Any] | None,
    version: int,
) -> int:
    """The rest of the table in one query, cut into files as the rows arrive."""
    cfg = ctx.cfg.batch_config
    assert cfg is not None
    where, params = _range(sp, last_pk, max_pk)
    query = _rows_sql(ctx, sp, cfg.format) + where + _order(sp)
    if cfg.format == "csv":
        files = _Files(ctx, sp, version, _csv_key(sp))
        _copy_csv(ctx, query, params, files)
        return files.finish()
    files = _Files(ctx, sp, version, _json_key(sp))
    raw = has_raw_json(sp.columns)
    for texts in _json_texts(ctx, sp, query, params, raw):
        files.lines([(t + "\n").encode() for t in texts])
    return files.finish()


def _csv_key(sp: StreamPlan) -> Callable[[bytes], dict[str, Any]]:
    """A csv row's key (the bookmark's JSON values: integers as numbers, the rest as text)."""
    at = [
        (k, [c.name for c in sp.columns].index(k), sp.column(k).kind == "int")
        for k in sp.key_properties
    ]

    def key(row: bytes) -> dict[str, Any]:
        fields = next(csv.reader([row.decode("utf-8")]))
        return {k: int(fields[i]) if num else fields[i] for k, i, num in at}

    return key


def _json_key(sp: StreamPlan) -> Callable[[bytes], dict[str, Any]]:
    keys = sp.key_properties

    def key(line: bytes) -> dict[str, Any]:
        record = loads(line)
        return {k: record[k] for k in keys}

    return key


def _ranges(
    ctx: SyncContext,
    sp: StreamPlan,
    max_pk: dict[str, Any],
    last_pk: dict[str, Any] | None,
    version: int,
) -> int:
    """One key range per file (keys the record may not give back exactly)."""
    cfg = ctx.cfg.batch_config
    assert cfg is not None
    storage = cfg.storage()
    base = _rows_sql(ctx, sp, cfg.format)
    raw_json = has_raw_json(sp.columns)
    names = [c.name for c in sp.columns]
    written = seq = 0
    low = last_pk
    while low != max_pk:
        high = _range_end(ctx, sp, low, max_pk, cfg.batch_size)
        where, params = _range(sp, low, high)
        storage.wait_below(cfg.max_pending_files)
        seq += 1
        file = BatchFile(cfg, storage, _file_name(sp.stream, version, seq), names)
        if cfg.format == "csv":
            file.rows += _copy_csv(ctx, base + where + _order(sp), params, file.f)
        else:
            _jsonl(ctx, sp, file, base + where + _order(sp), params, raw_json)
        written += file.rows
        _announce(ctx, sp, file, version, high)
        low = high
    return written
