"""LOG_BASED: an initial copy of each table from the replication slot's consistent point, then
the changes pgoutput streams from the slot, until the WAL position current when the sync started
(or `max_run_seconds`, or never with `continuous`).

Positions: a stream's bookmark `lsn` is the end of the last transaction whose changes it has
written (PipelineWise's key). A transaction reaches a stream only when it ends past that
stream's `lsn`, so a table copied later (from its own temporary slot's snapshot) joins the others
without a replay from LSN 0. STATE is written only at transaction boundaries.

Acknowledgement: the server may recycle WAL up to the slot's flush position, so the tap confirms
only what a saved state covers: the incoming state's lowest `lsn` at start and, during a long
run, the lowest `lsn` of the state file the runner rewrites after each commit (`ack_state_file`).
Never what it has merely read.
"""

from __future__ import annotations

import logging
import os
import select
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tapwell.sdk.progress import write_metric
from tapwell.singer.errors import SyncError
from tapwell.singer.wire import loads

from . import pgoutput as po
from .changes import UNCHANGED_LIST, RelationPlan, apply_relation, ensure_unchanged_property
from .connection import connect, quote, server_version, translated
from .discovery import TypeResolver
from .nulled import Tally
from .records import RecordWriter
from .replication import (
    SlotInfo,
    check_slot,
    current_lsn,
    ensure_publication,
    replica_identity_problems,
    server_problems,
    slot_info,
    slot_lag,
)
from .sync_common import (
    DELETED_AT,
    SRC,
    StreamPlan,
    SyncContext,
    activate_version,
    bookmark_param,
    write_schema,
)
from .sync_full import sync_full_table

LOG = logging.getLogger("tap-postgres")
STATE_SECONDS = 1.0  # at most one STATE a second while changes flow (and every state_every rows)
IDLE_STATE_SECONDS = 10.0
ACK_POLL_SECONDS = 2.0
SAVED_STATE_ENV = "TAPWELL_SAVED_STATE"  # set by the tapwell runner (runner/attempt.py)


def _lsn(ctx: SyncContext, sp: StreamPlan) -> int | None:
    value = ctx.bookmark(sp.tap_stream_id, "lsn")
    return int(value) if value is not None else None


def preflight(ctx: SyncContext, plans: list[StreamPlan]) -> None:
    """The server checks of `--doctor`, run before any LOG_BASED message; creates the
    publication when it may."""
    problems = server_problems(ctx.conn, ctx.cfg)
    if problems:  # a server setting (exit 1) or the user's privilege (exit 2)
        raise SyncError(problems[0]) if "ALTER SYSTEM" in problems[0] else _config(problems[0])
    for sql in ensure_publication(
        ctx.conn, ctx.cfg, [(sp.table.schema, sp.table.name) for sp in plans]
    ):
        LOG.info("ran %s", sql)
    for line in replica_identity_problems(
        ctx.conn,
        ctx.cfg,
        [(sp.table.schema, sp.table.name, bool(sp.table.primary_key)) for sp in plans],
    ):
        LOG.warning("%s", line)


def _config(text: str) -> Exception:
    from tapwell.singer.errors import ConfigError

    return ConfigError(text)


def prepare(ctx: SyncContext, plans: list[StreamPlan]) -> SlotInfo | None:
    """Everything that can stop a LOG_BASED sync, before its first message: the preflight and
    the slot against the state. Returns the slot (None: the sync creates it)."""
    preflight(ctx, plans)
    slot = slot_info(ctx.conn, ctx.cfg)
    check_slot(slot, ctx.cfg, _state_lsn(ctx, plans))
    return slot


def _state_lsn(ctx: SyncContext, plans: list[StreamPlan]) -> int | None:
    """The lowest position of the incoming state: what the destination has committed."""
    return min((v for sp in plans if (v := _lsn(ctx, sp)) is not None), default=None)


def sync_logical(ctx: SyncContext, plans: list[StreamPlan], slot: SlotInfo | None) -> None:
    cfg = ctx.cfg
    state_lsn = _state_lsn(ctx, plans)
    _lag_metric(ctx)
    from .walstream import WalStream

    repl = WalStream(cfg)
    try:
        new = [sp for sp in plans if _lsn(ctx, sp) is None]
        for sp in plans:
            if sp not in new:  # the copied ones get theirs with their copy
                write_schema(ctx, sp)
        if slot is None:
            point, snapshot = repl.create_slot(cfg.replication_slot)
            LOG.info("created replication slot %s at %s", cfg.replication_slot, po.lsn_text(point))
            _copy(ctx, new, point, snapshot)
        elif new:
            _backfill(ctx, new)
        for sp in plans:  # an initial copy cut short by a kill: the rest from a fresh snapshot
            if not ctx.bookmark(sp.tap_stream_id, "initial_full_table_complete"):
                sync_full_table(ctx, sp)
        ctx.state = {**ctx.state, "currently_syncing": None}
        ctx.emit_state()
        streamer = Streamer(ctx, plans, repl, state_lsn)
        try:
            streamer.run()
        finally:
            streamer.close()
    finally:
        repl.close()
    _lag_metric(ctx)


def _copy(ctx: SyncContext, plans: list[StreamPlan], point: int, snapshot: str | None) -> None:
    """Copy each table in the slot's exported snapshot; its changes then start after `point`."""
    for sp in plans:  # a whole copy: nothing of an earlier FULL_TABLE run's progress is reused
        ctx.set_bookmark(sp.tap_stream_id, "lsn", point)
        for key in ("initial_full_table_complete", "max_pk_values", "last_pk_fetched"):
            ctx.clear_bookmark(sp.tap_stream_id, key)
    for sp in plans:
        ctx.state = {**ctx.state, "currently_syncing": sp.tap_stream_id}
        write_schema(ctx, sp)
        sync_full_table(ctx, sp, snapshot=snapshot)


def _backfill(ctx: SyncContext, plans: list[StreamPlan]) -> None:
    """Tables added to a running set: copied from a temporary slot's snapshot, so their changes
    start at that slot's consistent point while the others keep their positions."""
    from .walstream import WalStream

    cfg = ctx.cfg
    side = WalStream(cfg)
    try:
        point, snapshot = side.create_slot(
            f"{cfg.replication_slot}_tmp{os.getpid()}", temporary=True
        )
        LOG.info("copying %d new table(s) as of %s", len(plans), po.lsn_text(point))
        _copy(ctx, plans, point, snapshot)
    finally:
        side.close()  # drops the temporary slot


def _lag_metric(ctx: SyncContext) -> None:
    lag = slot_lag(ctx.conn, ctx.cfg)
    if lag is not None:
        write_metric("gauge", "replication_slot_lag_bytes", lag, {"slot": ctx.cfg.replication_slot})


@dataclass
class Streamer:
    """One pass over the slot: decode, write records, STATE at transaction boundaries."""

    ctx: SyncContext
    plans: list[StreamPlan]
    cur: Any  # the WalStream
    acked: int | None  # the flush position confirmed to the server
    by_name: dict[tuple[str, str], StreamPlan] = field(default_factory=dict)
    relations: dict[int, RelationPlan | None] = field(default_factory=dict)
    writers: dict[str, RecordWriter] = field(default_factory=dict)
    types: TypeResolver | None = None
    begin: po.Begin | None = None
    position: int = 0  # end of the last transaction read whole
    rows_since_state: int = 0
    last_state: float = 0.0
    ack_mtime: float = 0.0
    reader: Any = None  # an autocommit connection for values read back by key
    nulled: Tally = field(default_factory=Tally)  # values sent as null, told at the end

    def run(self) -> None:
        ctx, cfg = self.ctx, self.ctx.cfg
        self.by_name = {(sp.table.schema, sp.table.name): sp for sp in self.plans}
        with translated(cfg, "reading pg_type"), ctx.conn.cursor() as c:
            self.types = TypeResolver(c)
        ctx.conn.rollback()
        start = min(int(ctx.bookmark(sp.tap_stream_id, "lsn")) for sp in self.plans)
        self.position = start
        until = None if cfg.continuous else current_lsn(ctx.conn)
        deadline = time.monotonic() + cfg.max_run_seconds if cfg.max_run_seconds else None
        options = {"proto_version": "1", "publication_names": quote(cfg.publication)}
        self.cur.start_replication(cfg.replication_slot, start, options)
        self._feedback()
        self.last_state = time.monotonic()
        last_reply = 0.0
        with translated(cfg, "streaming changes"):
            while True:
                msg = self.cur.read_message()
                if msg is not None:
                    self.handle(self._decode(msg))
                    if self.begin is None and until is not None and self.position >= until:
                        break
                    if deadline is not None and self.begin is None and time.monotonic() >= deadline:
                        break
                    continue
                if self.begin is None:
                    seen = max(self.position, self.cur.wal_end or 0)
                    if until is not None and seen >= until:
                        self.position = seen
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    self._idle(seen)
                now = time.monotonic()
                self._poll_ack()
                if now - last_reply >= 1.0:
                    last_reply = now
                    self._feedback(reply=True)
                select.select([self.cur], [], [], 1.0)
        self._state(self.position, force=True)
        self.nulled.report()

    # ----------------------------------------------------------------------------- messages

    def _decode(self, msg: Any) -> po.Message:
        try:
            return po.decode(msg.payload)
        except po.DecodeError as exc:
            raise SyncError(
                f"a pgoutput message at {po.lsn_text(msg.data_start)} cannot be decoded ({exc}); "
                "the stream stops here, nothing past the last STATE was confirmed"
            ) from None

    def handle(self, msg: po.Message) -> None:
        if isinstance(msg, po.Begin):
            self.begin = msg
        elif isinstance(msg, po.Commit):
            self.begin = None
            self.position = max(self.position, msg.end_lsn)
            if (
                self.rows_since_state >= self.ctx.cfg.state_every
                or time.monotonic() - self.last_state >= STATE_SECONDS
            ):
                self._state(self.position)
        elif isinstance(msg, po.Relation):
            self._relation(msg)
        elif isinstance(msg, (po.Insert, po.Update, po.Delete)):
            self._change(msg)
        elif isinstance(msg, po.Truncate):
            for oid in msg.relations:
                rel = self.relations.get(oid)
                if rel is not None and self._wanted(rel.sp):
                    self._truncate(rel.sp)

    def _wanted(self, sp: StreamPlan) -> bool:
        """Whether the open transaction is past the stream's position (else its copy has it)."""
        assert self.begin is not None
        return self.begin.final_lsn >= int(self.ctx.bookmark(sp.tap_stream_id, "lsn"))

    def _relation(self, msg: po.Relation) -> None:
        sp = self.by_name.get((msg.namespace, msg.name))
        if sp is None:
            self.relations[msg.oid] = None
            return
        selected = {c.name for c in sp.columns}
        plan, changed = apply_relation(sp, msg, self._resolve, selected, self.nulled)
        self.relations[msg.oid] = plan
        if changed:
            write_schema(self.ctx, sp)

    def _resolve(self, oid: int, typmod: int) -> Any:
        assert self.types is not None
        if oid not in self.types.rows:  # a type created since the sync started
            with self.ctx.conn.cursor() as c:
                self.types = TypeResolver(c)
            self.ctx.conn.rollback()
        return self.types.resolve(oid, typmod, self.types.rows[oid][1])

    def _writer(self, sp: StreamPlan) -> RecordWriter:
        version = self.ctx.bookmark(sp.tap_stream_id, "version")
        w = self.writers.get(sp.tap_stream_id)
        if w is None or w.version != version:
            w = RecordWriter(self.ctx.out, sp.stream, version, datetime.now(UTC))
            self.writers[sp.tap_stream_id] = w
        return w

    def _change(self, msg: po.Insert | po.Update | po.Delete) -> None:
        rel = self.relations.get(msg.relation)
        if rel is None or not self._wanted(rel.sp):
            return
        assert self.begin is not None
        try:
            if isinstance(msg, po.Delete):
                record = rel.key_record(msg.old, msg.old_is_key)
                record[DELETED_AT] = self.begin.commit_time.isoformat()
            else:
                if isinstance(msg, po.Update):
                    record = rel.record(msg.new, msg.old, msg.old_is_key)
                else:
                    record = rel.record(msg.new)
        except (ValueError, AssertionError, IndexError) as exc:
            raise SyncError(
                f"stream {rel.sp.tap_stream_id!r}: a changed row's value cannot be read "
                f"({type(exc).__name__}: {exc}) in the transaction of {po.lsn_text(self.begin.final_lsn)}"
            ) from None
        if not isinstance(msg, po.Delete):
            missing = [n for n in rel.absent if n not in record] + record.pop(UNCHANGED_LIST, [])
            if missing:
                self._fill(rel.sp, record, missing)
        self._writer(rel.sp).write_record(record)
        self.rows_since_state += 1
        self.ctx.progress.add(rel.sp.stream)

    def _fill(self, sp: StreamPlan, record: dict[str, Any], missing: list[str]) -> None:
        """Values the change does not carry (unchanged TOASTed values without an old row, and
        generated columns, which pgoutput leaves out): read back by key, as committed now. A
        later change of the same row follows in the stream, so the destination ends exact.
        A table without a key cannot be read back: the record lists them in `_sdc_unchanged`."""
        keys = sp.key_properties
        if not keys or any(k not in record for k in keys):
            record[UNCHANGED_LIST] = missing
            if ensure_unchanged_property(sp):
                write_schema(self.ctx, sp)
            return
        cols = [sp.column(n) for n in missing]
        key_sql = " AND ".join(f"{SRC}.{quote(k)} = {sp.cast(k)}" for k in keys)
        query = sp.record_sql(server_version(self.ctx.conn), [], cols) + f" WHERE {key_sql}"
        if self.reader is None:
            self.reader = connect(self.ctx.cfg)
            self.reader.autocommit = True
        with (
            translated(self.ctx.cfg, f"reading back values of {sp.tap_stream_id}"),
            self.reader.cursor() as c,
        ):
            c.execute(query, [bookmark_param(record[k]) for k in keys])
            row = c.fetchone()
        record.update(loads(row[0]) if row else dict.fromkeys(missing))

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _truncate(self, sp: StreamPlan) -> None:
        """TRUNCATE: a new, empty table version; the target retires every older row."""
        version = max(
            int(time.time() * 1000), int(self.ctx.bookmark(sp.tap_stream_id, "version") or 0) + 1
        )
        self.ctx.set_bookmark(sp.tap_stream_id, "version", version)
        activate_version(self.ctx, sp, version, empty=True)

    # ----------------------------------------------------------------------------- state and acks

    def _state(self, position: int, force: bool = False) -> None:
        ctx = self.ctx
        for sp in self.plans:
            if position > int(ctx.bookmark(sp.tap_stream_id, "lsn")):
                ctx.set_bookmark(sp.tap_stream_id, "lsn", position)
        ctx.emit_state()
        self.rows_since_state = 0
        self.last_state = time.monotonic()

    def _idle(self, seen: int) -> None:
        """No transaction open and nothing to read. Records written since the last STATE get
        theirs now (caught up: no reason to wait); a quiet slot's saved position follows the
        server's every IDLE_STATE_SECONDS, so it advances once the runner has saved it."""
        if self.rows_since_state:
            self._state(self.position)
        elif seen > self.position and time.monotonic() - self.last_state >= IDLE_STATE_SECONDS:
            self.position = seen
            self._state(seen)

    def _feedback(self, reply: bool = False) -> None:
        """Confirm `acked` (what a saved state covers), and ask the server for its WAL end."""
        self.cur.send_feedback(flush_lsn=self.acked, reply=reply)

    def _poll_ack(self) -> None:
        """Confirm what the runner's saved state covers (`ack_state_file`), never more."""
        path = self.ctx.cfg.ack_state_file or os.environ.get(SAVED_STATE_ENV)
        if not path or time.monotonic() - self.ack_mtime < ACK_POLL_SECONDS:
            return
        self.ack_mtime = time.monotonic()
        try:
            with open(path, "rb") as f:
                saved = loads(f.read())
        except (OSError, ValueError):
            return
        if isinstance(saved, dict) and saved.get("type") == "STATE":
            saved = saved.get("value")
        marks = (saved or {}).get("bookmarks") or {} if isinstance(saved, dict) else {}
        lsns = [(marks.get(sp.tap_stream_id) or {}).get("lsn") for sp in self.plans]
        if any(not isinstance(v, int) for v in lsns):
            return
        low = min(int(v) for v in lsns if isinstance(v, int))
        if self.acked is None or low > self.acked:
            self.acked = low
            self._feedback()
