"""COPY while the batch is still being read: rows reach PostgreSQL as they are encoded.

A COPY run at load time makes the server's COPY work (about half of what the target costs) wait
for the whole batch to be read. Here the COPY of a batch is opened with its first thousand rows
(psycopg's `cursor.copy()`), and the main thread writes each thousand encoded rows to it as they
are read (`copy.write`, which hands them to libpq and on to the server), so PostgreSQL parses and
inserts them on the other core while the next rows are read; nothing waits but the end of the
COPY. (A worker thread for the COPY cost more in GIL hand-offs than it saved: see the README.)

The streamed COPY is only ever a head start: it runs inside a savepoint, and when anything is
off (a duplicate key inside the batch, a value refused, the version changing, any server error)
it is rolled back and the batch is loaded the ordinary way, which reports errors exactly as it
always did. Each such fallback is said once per stream and reason (INFO). While the COPY is
open nothing else touches the connection: the loader ends it (`settle` or `abandon`) first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import psycopg.errors
from psycopg import sql

from . import ddl
from .dedupe import key_families, last_of_each
from .encode import copy_block

LOG = logging.getLogger("target-postgres")


class StreamedCopy:
    """One COPY ... FROM STDIN open on the connection, fed rows of COPY text as they come."""

    def __init__(
        self, conn: psycopg.Connection[Any], stmt: sql.Composed, batch: Any, suffix: str
    ) -> None:
        self.batch = batch
        self.version = batch.version
        self.sep = (suffix + "\n").encode("utf-8")
        self.sent = 0  # rows of batch.records sent so far
        self.failed = False
        self.why = ""  # what stopped the stream
        self.telling = False  # worth a log line: the run goes on, slower (not an error to come)
        self.cur = conn.cursor()
        self.open: AbstractContextManager[psycopg.Copy] | None = self.cur.copy(stmt)
        try:
            self.copy = self.open.__enter__()  # the COPY starts here; psycopg.Error if refused
        except BaseException:
            self.open = None
            self.cur.close()
            raise

    def send(self, rows: Sequence[str | None]) -> None:
        """Send rows[self.sent:] (none refused); a failed write stops the stream."""
        if self.failed:
            return
        chunk = rows[self.sent :]
        if not chunk:
            return
        try:
            data = copy_block(chunk, self.sep)  # type: ignore[arg-type]
        except UnicodeEncodeError:
            self.stop("a value is not valid UTF-8")
            return
        try:
            self.copy.write(data)
        except psycopg.Error as exc:
            self.stop(f"the server refused it: {type(exc).__name__}")
            return
        self.sent = len(rows)

    def stop(self, why: str, *, tell: bool = False) -> None:
        """Stop streaming; `tell` when the run goes on the slower path (not when the ordinary
        load is about to report an error: that one line is all the user should see)."""
        if not self.failed:
            self.why, self.telling = why, tell
        self.failed = True

    def finish(self) -> psycopg.Error | None:
        """End the COPY: None when the server took every row, else what it said (the COPY is
        then aborted when the stream had already failed)."""
        done, self.open = self.open, None
        if done is None:
            return None
        try:
            if self.failed:
                abandoned = RuntimeError(self.why or "abandoned")
                done.__exit__(RuntimeError, abandoned, None)  # COPY ended with an error
            else:
                done.__exit__(None, None, None)
        except psycopg.Error as exc:
            self.stop(f"the server refused it: {type(exc).__name__}")
            return exc
        finally:
            self.cur.close()
        return None

    def abort(self, why: str) -> None:
        self.stop(why)
        self.finish()


class Streamer:
    """Decides when a batch can be streamed (the load it would get is a single COPY: an upsert
    while every key is new, or an append) and settles the stream when the batch is loaded.
    At most one stream is open, on the loader's connection, inside a transaction of its own
    that the batch's load then continues and commits."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.active: StreamedCopy | None = None
        self.broken = False  # an unexpected failure: never stream again in this run
        self.said: set[tuple[str, str]] = set()

    def say(self, stream: str, why: str) -> None:
        """Log a fallback to the slower path once per stream and reason."""
        if (stream, why) not in self.said:
            self.said.add((stream, why))
            LOG.info("stream %r: %s", stream, why)

    def feed(self, batch: Any) -> None:
        """Called by the loop every thousand rows read: open the stream if the batch qualifies,
        then send what was read since the last call."""
        if self.broken:
            return
        s = self.active
        try:
            if s is None:
                s = self._start(batch)
                if s is None:
                    return
            elif s.batch is not batch:
                return
            if batch.refused:
                s.stop("a value was refused")
                return  # settled (rolled back) at load
            if batch.version != s.version:
                s.stop("a record changed its version", tell=True)
                return  # settled (rolled back) at load
            s.send(batch.records)
        except Exception as exc:  # never let the head start fail a run: the ordinary load reports
            self.broken = True
            self.say(batch.spec.name, f"batches are no longer streamed while read ({exc})")
            self.abandon()

    def _start(self, batch: Any) -> StreamedCopy | None:
        loader = self.loader
        encoder = batch.encoder
        table = loader.tables.get(batch.spec.name)
        if encoder is None or batch.refused or table is None or table.unchanged:
            return None  # (a stream with `_sdc_unchanged` is always staged: merge.py)
        if [c for _, c, _ in encoder.layout] != list(table.props.values()):
            return None
        keys = table.key_props if table.how.upsert else []
        if "_sdc_deleted_at" in table.props and table.how.hard_delete:
            return None
        if table.how.load_method == "overwrite" and table.stream not in loader.overwritten:
            return None
        if keys and not (table.direct and sorted(table.keys) == table.pk):
            return None  # it needs a staging table and a merge: nothing to stream into
        if batch.version is not None and "_sdc_table_version" not in table.columns:
            return None
        conn = loader.conn
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return None
        columns, suffix = loader.copy_layout(table, batch)
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            table.target, ddl.idents(c for _, c, _ in columns)
        )
        with conn.cursor() as cur:
            cur.execute("SAVEPOINT tapwell_stream")
        try:
            s = StreamedCopy(conn, copy, batch, suffix)
        except psycopg.Error as exc:
            conn.rollback()  # nothing was sent: only the savepoint is undone
            self.broken = True  # a COPY that does not even start: leave it to the ordinary load
            self.say(table.stream, f"batches are not streamed while read: {exc}")
            return None
        except BaseException:
            conn.rollback()
            raise
        self.active = s
        return s

    def settle(self, cur: Any, batches: list[Any]) -> Any:
        """At load: end the stream. Returns the batch it loaded, or None (rolled back, so the
        batch is loaded the ordinary way, which reports any problem as it always has)."""
        s, self.active = self.active, None
        if s is None:
            return None
        batch = s.batch
        try:
            table = self.loader.tables.get(batch.spec.name)
            keys = table.key_props if table is not None and table.how.upsert else []
            if not any(b is batch for b in batches):
                s.stop("the batch was cut")
            elif batch.refused:
                s.stop("a value was refused")
            elif batch.version != s.version:
                s.stop("a record changed its version", tell=True)
            elif keys and not isinstance(last_of_each(batch.keys, key_families(table)), range):
                s.stop("a key came twice in the batch", tell=True)
            s.send(batch.records)
        except BaseException:
            # the open COPY holds the connection's lock: end it before anyone rolls back, or
            # the rollback waits on that lock for ever (a load hung this way, not failed)
            s.abort("the load failed")
            raise
        refused = s.finish()
        if not s.failed:
            cur.execute("RELEASE SAVEPOINT tapwell_stream")
            return batch
        cur.execute("ROLLBACK TO SAVEPOINT tapwell_stream")
        cur.execute("RELEASE SAVEPOINT tapwell_stream")
        if isinstance(refused, psycopg.errors.UniqueViolation) and table is not None:
            self.loader.stage_from_now(table)  # and the batch goes straight to staging
        elif s.telling:
            self.say(batch.spec.name, f"a batch was loaded again the ordinary way ({s.why})")
        return None

    def abandon(self) -> str | None:
        """Before the connection is used for anything else: drop the stream and its transaction
        (nothing else is in it); the batch is loaded the ordinary way. Returns the stream whose
        batch it was (None: none was open), for the caller to say why once its work is done."""
        s, self.active = self.active, None
        if s is None:
            return None
        try:
            s.abort("the connection was needed for something else")
            self.loader.conn.rollback()
        except Exception:
            self.broken = True
        return str(s.batch.spec.name)

    def said_abandoned(self, stream: str | None, why: str) -> None:
        if stream is not None:
            self.say(stream, f"a batch was loaded again the ordinary way ({why})")
