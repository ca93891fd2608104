"""LOG_BASED: an initial snapshot, then inserts, updates and deletes from the binlog.

The binlog is read with mysql-replication from the bookmarked `log_file`/`log_pos` (or, with
`use_gtid` on MariaDB, from the bookmarked `gtid`), without blocking: a run ends when it has
caught up. Bookmarks move only at transaction boundaries (commit), so a resumed run never
starts inside a transaction; at the end of a pass they move to where reading stopped, so an
idle source still advances them. A delete is a RECORD of the row's last values with
`_sdc_deleted_at`. A column added upstream yields a new SCHEMA before the first record with it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from tapwell.singer.errors import ConfigError, SyncError

from .binlog_settings import binlog_problems, problems_text
from .binlog_values import ValueMapper, enum_values
from .connection import binlog_ssl, connect_args, default_server_id, server_info, translated
from .discovery import read_tables
from .records import RecordWriter
from .sync_common import DELETED_AT, StreamPlan, SyncContext, write_schema
from .sync_full import sync_full_table
from .types import Column, binlog_column_mismatch, json_schema

LOG = logging.getLogger("tap-mysql")
# mysql-replication warns about binlog_row_metadata on every run; names come from
# information_schema here (see _name_columns), so the warning is noise.
logging.getLogger("pymysqlreplication").setLevel(logging.ERROR)


# ----------------------------------------------------------------------------- positions


def _position_key(log_file: str, log_pos: int) -> tuple[int, str, int]:
    stem, _, suffix = log_file.rpartition(".")
    return (int(suffix) if suffix.isdigit() else 0, stem, int(log_pos))


def current_position(ctx: SyncContext) -> tuple[str, int, str | None]:
    """The server's binlog file and position now, and its GTID position on MariaDB."""
    cur = ctx.conn.cursor()
    with translated(ctx.config, "reading the binlog position"):
        try:
            cur.execute("SHOW MASTER STATUS")
        except Exception:  # MySQL 8.4 renamed it
            cur.execute("SHOW BINARY LOG STATUS")
        row = cur.fetchone()
        gtid = None
        if server_info(ctx.conn)["engine"] == "mariadb":
            cur.execute("SELECT @@gtid_current_pos")
            gtid = (cur.fetchone() or [None])[0] or None
    cur.close()
    if not row:
        raise ConfigError(
            "binary logging is off on the server (SHOW MASTER STATUS is empty); "
            "LOG_BASED needs log_bin=ON, binlog_format=ROW, binlog_row_image=FULL"
        )
    return str(row[0]), int(row[1]), gtid


def check_binlog_settings(ctx: SyncContext) -> None:
    """One clear error naming every setting that keeps the server from feeding LOG_BASED."""
    with translated(ctx.config, "checking the binlog settings"):
        problems = binlog_problems(ctx.conn)
    if problems:
        raise ConfigError(problems_text(problems))


def _check_not_purged(ctx: SyncContext, log_file: str) -> None:
    cur = ctx.conn.cursor()
    with translated(ctx.config, "listing the binlog files"):
        cur.execute("SHOW BINARY LOGS")
        files = [str(r[0]) for r in cur.fetchall()]
    cur.close()
    if log_file not in files:
        raise SyncError(
            f"the bookmarked binlog file {log_file} is no longer on the server (it was purged; the oldest is "
            f"{files[0] if files else 'none'}): remove the stream's bookmark to take a new initial snapshot, "
            "and keep binlogs longer (binlog_expire_logs_seconds)"
        )


# ----------------------------------------------------------------------------- initial snapshot


def needs_snapshot(ctx: SyncContext, sid: str) -> bool:
    has_position = ctx.bookmark(sid, "log_file") and ctx.bookmark(sid, "log_pos") is not None
    if ctx.config.use_gtid and ctx.bookmark(sid, "gtid"):
        has_position = True
    resuming = (
        ctx.bookmark(sid, "max_pk_values") is not None
        or ctx.bookmark(sid, "last_pk_fetched") is not None
    )
    return not has_position or resuming


def sync_initial(ctx: SyncContext, sp: StreamPlan) -> None:
    """The initial (or interrupted) snapshot of a LOG_BASED stream. The binlog position is taken
    before the snapshot starts, so the binlog pass replays anything that changed during it."""
    sid = sp.tap_stream_id
    if not needs_snapshot(ctx, sid):
        return
    check_binlog_settings(ctx)
    if not ctx.bookmark(sid, "log_file") and not ctx.bookmark(sid, "gtid"):
        log_file, log_pos, gtid = current_position(ctx)
        ctx.set_bookmark(sid, "log_file", log_file)
        ctx.set_bookmark(sid, "log_pos", log_pos)
        if gtid:
            ctx.set_bookmark(sid, "gtid", gtid)
        for key in ("version", "max_pk_values", "last_pk_fetched", "initial_full_table_complete"):
            ctx.clear_bookmark(sid, key)
    sync_full_table(ctx, sp)
    ctx.set_bookmark(sid, "initial_binlog_complete", True)
    ctx.emit_state()


# ----------------------------------------------------------------------------- the pass


class _Watched:
    """One LOG_BASED stream during the binlog pass."""

    def __init__(self, ctx: SyncContext, sp: StreamPlan) -> None:
        self.sp = sp
        self.sid = sp.tap_stream_id
        log_file = ctx.bookmark(self.sid, "log_file")
        # a GTID-only bookmark (no file/position) takes every event the server sends
        self.start: tuple[int, str, int] = (-1, "", 0)
        if log_file:
            self.start = _position_key(log_file, ctx.bookmark(self.sid, "log_pos") or 0)
        self.writer = RecordWriter(
            ctx.out, sp.stream, sp.names, (), ctx.bookmark(self.sid, "version"), datetime.now(UTC)
        )
        self.count = 0
        self.zero_dates = 0


# mysql-replication's reasons for a None that is not SQL NULL: a zero or invalid date
_ZERO_DATE_SOURCES = {"out of date range", "out of datetime range", "out of datetime2 range"}
# TIMESTAMP '0000-00-00 00:00:00' is stored as 0; the type's range starts one second later
_ZERO_TIMESTAMP = datetime(1970, 1, 1)


def sync_binlog(ctx: SyncContext, plans: list[StreamPlan]) -> None:
    """One non-blocking pass over the binlog for every LOG_BASED stream."""
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.event import MariadbGtidEvent, QueryEvent, XidEvent
    from pymysqlreplication.row_event import (
        DeleteRowsEvent,
        TableMapEvent,
        UpdateRowsEvent,
        WriteRowsEvent,
    )

    check_binlog_settings(ctx)
    watched = {(sp.table.database, sp.table.name): _Watched(ctx, sp) for sp in plans}
    first = min(watched.values(), key=lambda w: w.start)
    log_file = ctx.bookmark(first.sid, "log_file")
    log_pos = int(ctx.bookmark(first.sid, "log_pos") or 4)

    engine = ctx.config.engine or server_info(ctx.conn)["engine"]
    use_gtid = ctx.config.use_gtid
    gtid = ctx.bookmark(first.sid, "gtid") if use_gtid else None
    if use_gtid and engine != "mariadb":
        raise ConfigError(
            "use_gtid is supported for MariaDB only (engine: mariadb); remove it to use log_file/log_pos"
        )
    if not gtid:
        if not log_file:
            raise ConfigError(f"stream {first.sid!r}: the bookmark has neither log_file nor gtid")
        _check_not_purged(ctx, log_file)
    args = connect_args(ctx.config)
    settings = {
        "host": args["host"],
        "port": args["port"],
        "user": args["user"],
        "passwd": args["passwd"],
        "charset": "utf8mb4",
    }
    if ctx.config.ssl:
        settings["ssl"] = binlog_ssl(ctx.config)
    reader_args: dict[str, Any] = dict(
        connection_settings=settings,
        server_id=ctx.config.server_id or default_server_id(),
        blocking=False,
        only_events=[
            WriteRowsEvent,
            UpdateRowsEvent,
            DeleteRowsEvent,
            TableMapEvent,
            XidEvent,
            QueryEvent,
            MariadbGtidEvent,
        ],
        only_schemas=sorted({db for db, _ in watched}),
        only_tables=sorted({t for _, t in watched}),
        enable_logging=False,
    )
    if gtid:
        reader_args.update(auto_position=gtid, is_mariadb=True)
    else:
        reader_args.update(resume_stream=True, log_file=log_file, log_pos=log_pos)

    mapper = ValueMapper(ctx)
    columns: dict[tuple[str, str], list[Column]] = {
        k: list(w.sp.table.columns) for k, w in watched.items()
    }
    every = ctx.state_every
    pending = 0
    last_state = time.monotonic()
    current_gtid = gtid
    reader = BinLogStreamReader(**reader_args)
    try:
        with translated(ctx.config, "reading the binlog"):
            for ev in reader:
                if isinstance(ev, MariadbGtidEvent):
                    current_gtid = ev.gtid
                    continue
                if isinstance(ev, (XidEvent, QueryEvent)):
                    if isinstance(ev, QueryEvent) and str(ev.query).strip().upper() == "BEGIN":
                        continue
                    _advance(ctx, watched, reader.log_file, reader.log_pos, current_gtid)
                    if pending >= every or time.monotonic() - last_state > 30:
                        ctx.emit_state()
                        pending, last_state = 0, time.monotonic()
                    continue
                key = (ev.schema, ev.table)
                w = watched.get(key)
                if w is None:
                    continue
                if isinstance(ev, TableMapEvent):
                    _name_columns(ctx, ev, key, columns, w)
                    continue
                if _position_key(reader.log_file, ev.packet.log_pos) <= w.start:
                    continue  # this stream's bookmark is already past this event
                _check_layout(ev, columns[key], w, reader.log_file)
                pending += _emit(ev, w, columns[key], mapper, ctx)
        _advance(ctx, watched, reader.log_file, reader.log_pos, current_gtid)
    finally:
        reader.close()
    for w in watched.values():
        ctx.progress.done(w.sp.stream)
        if w.zero_dates:
            LOG.warning("stream %s: %d zero or invalid dates became null", w.sid, w.zero_dates)


def _advance(
    ctx: SyncContext, watched: dict[Any, _Watched], log_file: str, log_pos: int, gtid: str | None
) -> None:
    here = _position_key(log_file, log_pos)
    for w in watched.values():
        if here > w.start:
            ctx.set_bookmark(w.sid, "log_file", log_file)
            ctx.set_bookmark(w.sid, "log_pos", log_pos)
            if gtid:
                ctx.set_bookmark(w.sid, "gtid", gtid)


def _name_columns(
    ctx: SyncContext, ev: Any, key: tuple[str, str], columns: dict[Any, list[Column]], w: _Watched
) -> None:
    """Give the event's columns their names, signedness and ENUM/SET values from
    information_schema (the binlog carries them only with binlog_row_metadata=FULL); a table
    that grew columns is read again, and the stream gets a new SCHEMA."""
    n = len(ev.columns)
    if n > len(columns[key]):
        tables = read_tables(ctx.conn, ctx.config, only={key})
        if tables:
            columns[key] = tables[0].columns
    known = columns[key]
    for col_meta, col in zip(ev.columns, known, strict=False):
        col_meta.name = col.name
        col_meta.unsigned = col.unsigned
        if col.kind == "binary":
            # no Python codec is called "binary": mysql-replication then keeps the raw bytes
            col_meta.character_set_name = "binary"
        if col.data_type == "enum":
            col_meta.enum_values = [""] + enum_values(col.column_type)
        elif col.data_type == "set":
            col_meta.set_values = enum_values(col.column_type)
    if n > len(known):
        LOG.warning(
            "stream %s: a binlog event has %d columns, the table %d; the extra ones are skipped",
            w.sid,
            n,
            len(known),
        )
    sp = w.sp
    props = sp.schema["properties"]
    added = [c for c in known[:n] if c.name not in props and c.name != DELETED_AT]
    if added:
        for c in added:
            props[c.name] = json_schema(c)
            sp.columns.append(c)
        LOG.info("stream %s: new columns %s; writing a new SCHEMA", w.sid, [c.name for c in added])
        write_schema(ctx, sp)


def _check_layout(ev: Any, known: list[Column], w: _Watched, log_file: str) -> None:
    """Refuse a rows event whose columns are not the table's first columns as they are now.

    Binlog columns are matched to information_schema's by position (names are in the binlog
    only with binlog_row_metadata=FULL). An event written before a column was added with
    `AFTER x` (or FIRST), or changed in type, would load values under the wrong names; this
    is caught when the event's column types differ from the table's at the same position, or
    when the event has as many columns as the catalog (discovered before the change) but not
    the same ones as the table's first columns."""
    cols = ev.columns
    n = len(cols)
    problem = next(
        (
            p
            for i, (ec, c) in enumerate(zip(cols, known, strict=False))
            if (p := binlog_column_mismatch(i, ec, c))
        ),
        None,
    )
    if problem is None and n < len(known):
        current = {c.name for c in known}
        cataloged = [name for name in w.sp.entry.schema.get("properties") or {} if name in current]
        if len(cataloged) == n and set(cataloged) != {c.name for c in known[:n]}:
            problem = (
                f"the event has the {n} columns of the catalog ({', '.join(cataloged)}), "
                f"the table's first {n} are {', '.join(c.name for c in known[:n])}"
            )
    if problem:
        raise SyncError(
            f"stream {w.sid!r}: a binlog event at {log_file}:{ev.packet.log_pos} does not match the table's "
            f"columns as they are now ({problem}): a column was added or changed in the middle of "
            "the table while older binlog events were unread. Resync the table: remove the "
            f"stream's bookmark (bookmarks.{w.sid} in the state) to take a new initial snapshot"
        )


def _emit(ev: Any, w: _Watched, known: list[Column], mapper: ValueMapper, ctx: SyncContext) -> int:
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent

    sp = w.sp
    props = sp.schema["properties"]
    wanted = [(c, props[c.name]) for c in known if c.name in props]
    deleted_at = None
    if isinstance(ev, DeleteRowsEvent):
        deleted_at = datetime.fromtimestamp(ev.timestamp, UTC)
    n = 0
    update = isinstance(ev, UpdateRowsEvent)
    dates = [c for c, _ in wanted if c.kind == "datetime" or c.kind == "date"]
    for row in ev.rows:
        values = row["after_values"] if update else row["values"]
        if dates:
            _zero_dates(
                ctx, w, dates, values, row.get("after_none_sources" if update else "none_sources")
            )
        record = {
            c.name: mapper.value(c, prop, values[c.name]) for c, prop in wanted if c.name in values
        }
        record[DELETED_AT] = deleted_at
        w.writer.write_record(record)
        n += 1
    ctx.progress.add(sp.stream, n)
    return n


def _zero_dates(
    ctx: SyncContext,
    w: _Watched,
    dates: list[Column],
    values: dict[str, Any],
    none_sources: dict[str, str] | None,
) -> None:
    """Count (or refuse, with zero_dates "error") the zero and invalid dates of one binlog row,
    as the snapshot does; they become null. mysql-replication decodes them as None and says
    why in `none_sources`; a zero TIMESTAMP it decodes as the epoch."""
    sources = none_sources or {}
    for c in dates:
        if c.name not in values:
            continue
        v = values[c.name]
        if v is None:
            if sources.get(c.name) not in _ZERO_DATE_SOURCES:
                continue
        elif not (c.data_type == "timestamp" and v == _ZERO_TIMESTAMP):
            continue
        else:
            values[c.name] = None
        ctx.zero.bad_binlog(w.sid, c.name)
        w.zero_dates += 1
