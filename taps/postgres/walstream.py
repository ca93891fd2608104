"""The replication connection of LOG_BASED: slot creation, START_REPLICATION and the CopyBoth
stream of XLogData and keepalive messages, spoken over libpq through psycopg 3's `pq` module.

Why not psycopg2's LogicalReplicationConnection: on a keepalive it moves the flush position it
reports to the keepalive's WAL end by itself (when everything it knows of was confirmed, which
is always true before the first change arrives), and every later feedback carries that position:
the server then holds the slot confirmed past a state nobody saved, and a run killed before its
first STATE finds the slot past its state (a resync). Here a feedback message carries only what
the caller confirmed (`send_feedback`): the flush position of the saved state, never more.

https://www.postgresql.org/docs/current/protocol-replication.html
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import make_conninfo

from .config import PgConfig
from .connection import OPTIONS, literal, map_error, quote
from .pgoutput import lsn_text, parse_lsn

STATUS_SECONDS = 10.0  # a feedback at least this often while changes flow (wal_sender_timeout)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
_XLOG = struct.Struct("!QQq")  # after 'w': dataStart, walEnd, sendTime
_KEEPALIVE = struct.Struct("!QqB")  # after 'k': walEnd, sendTime, reply requested
_FEEDBACK = struct.Struct("!cQQQqB")  # 'r', write, flush, apply, clock, reply requested


class ReplicationError(Exception):
    """A libpq or server error on the replication connection, shaped as connection.map_error
    reads psycopg2's (`pgcode`, `pgerror`)."""

    def __init__(self, text: str, pgcode: str | None = None, *, lost: bool = False) -> None:
        super().__init__(text)
        self.pgcode = pgcode
        self.pgerror = text
        self.connection_lost = lost  # no connection, or it went away: retriable


@dataclass(frozen=True)
class WalMessage:
    """One XLogData message: a pgoutput message and its WAL positions."""

    data_start: int
    wal_end: int
    payload: bytes


class WalStream:
    """A walsender connection (`replication=database`) to the configured database."""

    def __init__(self, cfg: PgConfig) -> None:
        self.cfg = cfg
        self.wal_end = 0  # the server's WAL end, from its latest message
        self.flushed = 0  # the flush position every feedback reports (send_feedback)
        self.last_feedback = 0.0
        info = make_conninfo(**self.cfg.dsn_args(), options=OPTIONS, replication="database")
        self.conn = pq.PGconn.connect(info.encode())
        if self.conn.status != pq.ConnStatus.OK:
            text = self.conn.get_error_message()
            self.conn.finish()
            raise self._lost("opening a replication connection", text)

    def fileno(self) -> int:
        return self.conn.socket

    def close(self) -> None:
        self.conn.finish()

    def _lost(self, doing: str, text: str) -> Exception:
        return map_error(ReplicationError(text, lost=True), self.cfg, doing)

    def _result_error(self, doing: str, res: Any) -> Exception:
        """A failed command's error (its SQLSTATE says what to do next)."""
        if res is None:
            return self._lost(doing, self.conn.get_error_message())
        code = res.error_field(pq.DiagnosticField.SQLSTATE)
        text = res.get_error_message() or f"unexpected result {res.status}"
        return map_error(ReplicationError(text, code.decode() if code else None), self.cfg, doing)

    def execute(self, command: str, doing: str) -> list[tuple[str | None, ...]]:
        """A replication command's rows, as text."""
        try:
            res = self.conn.exec_(command.encode())
        except psycopg.Error as exc:
            raise self._lost(doing, str(exc)) from None
        if res.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            raise self._result_error(doing, res)
        return [
            tuple(
                None if (v := res.get_value(r, c)) is None else v.decode()
                for c in range(res.nfields)
            )
            for r in range(res.ntuples)
        ]

    def create_slot(self, name: str, *, temporary: bool = False) -> tuple[int, str]:
        """A pgoutput slot: its consistent point and the snapshot it exports (valid until this
        connection runs its next command)."""
        temp = " TEMPORARY" if temporary else ""
        rows = self.execute(
            f"CREATE_REPLICATION_SLOT {quote(name)}{temp} LOGICAL pgoutput EXPORT_SNAPSHOT",
            "creating the replication slot",
        )
        _, point, snapshot, _ = rows[0]
        return parse_lsn(point or "0/0"), snapshot or ""

    def start_replication(self, slot: str, start_lsn: int, options: dict[str, str]) -> None:
        opts = ", ".join(f"{quote(k)} {literal(v)}" for k, v in options.items())
        command = f"START_REPLICATION SLOT {quote(slot)} LOGICAL {lsn_text(start_lsn)} ({opts})"
        try:
            self.conn.send_query(command.encode())
            res = self.conn.get_result()
        except psycopg.Error as exc:
            raise self._lost("starting replication", str(exc)) from None
        if res is None or res.status != pq.ExecStatus.COPY_BOTH:
            raise self._result_error("starting replication", res)
        self.send_feedback()

    def read_message(self) -> WalMessage | None:
        """The next XLogData message, or None when none is ready (wait on fileno()). Keepalives
        are answered here (with the confirmed position only), and a feedback goes out every
        STATUS_SECONDS, so a busy stream keeps the server's timeout at bay."""
        if time.monotonic() - self.last_feedback >= STATUS_SECONDS:
            self.send_feedback()
        consumed = False
        while True:
            try:
                n, data = self.conn.get_copy_data(1)
                if n == 0:
                    if consumed:
                        return None
                    self.conn.consume_input()
                    consumed = True
                    continue
            except psycopg.Error as exc:
                raise self._lost("streaming changes", str(exc)) from None
            if n == -1:
                raise self._ended()
            kind = data[0]
            if kind == 0x77:  # 'w'
                start, end, _ = _XLOG.unpack_from(data, 1)
                self.wal_end = end
                return WalMessage(start, end, bytes(data[25:]))
            if kind == 0x6B:  # 'k'
                end, _, reply = _KEEPALIVE.unpack_from(data, 1)
                self.wal_end = max(self.wal_end, end)
                if reply:
                    self.send_feedback()
                continue
            raise map_error(
                ReplicationError(f"unknown replication message {chr(kind)!r}"),
                self.cfg,
                "streaming changes",
            )

    def _ended(self) -> Exception:
        """The server ended the stream: its error (a restart, a dropped slot), or a lost
        connection."""
        try:
            res = self.conn.get_result()
        except psycopg.Error as exc:
            return self._lost("streaming changes", str(exc))
        if res is not None and res.status == pq.ExecStatus.FATAL_ERROR:
            return self._result_error("streaming changes", res)
        return self._lost("streaming changes", "server closed the connection")

    def send_feedback(self, flush_lsn: int | None = None, reply: bool = False) -> None:
        """A Standby Status Update reporting `flush_lsn` (kept for the next ones; it only moves
        forward) as written and flushed: what the saved state covers, nothing read since."""
        if flush_lsn is not None and flush_lsn > self.flushed:
            self.flushed = flush_lsn
        clock = int(time.time() * 1_000_000) - PG_EPOCH_US
        msg = _FEEDBACK.pack(b"r", self.flushed, self.flushed, 0, clock, 1 if reply else 0)
        try:
            self.conn.put_copy_data(msg)
            self.conn.flush()
        except psycopg.Error as exc:
            raise self._lost("confirming a position", str(exc)) from None
        self.last_feedback = time.monotonic()
