"""COPY while the batch is still being read: rows reach PostgreSQL as they are encoded.

psycopg2's `copy_expert` pulls the whole COPY at load time and waits for the server, so the
server's COPY work (about half of what the target costs) never ran beside the reading of a
batch. A worker thread for it cost more in GIL hand-offs than it saved (see the README). Here
the main thread pushes each thousand encoded rows itself through libpq (`PQputCopyData` on
psycopg2's own connection, `connection.pgconn_ptr`), so PostgreSQL parses and inserts them
on the other core while the next rows are read; nothing waits but the end of the COPY.

The streamed COPY is only ever a head start: it runs inside a savepoint, and when anything is
off (a duplicate key inside the batch, a value refused, the version changing, any server error)
it is rolled back and the batch is loaded the ordinary way, which reports errors exactly as it
always did. psycopg2 is idle whenever libpq is used here, and the connection is back in a
state it knows (idle in the transaction) before psycopg2 runs anything again.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

PGRES_COMMAND_OK = 1
PGRES_COPY_IN = 4

_lib: Any = None


def libpq() -> Any:
    """The libpq psycopg2 itself is linked with (its PGconn must come from the same library), or
    None: only when the process maps show exactly one libpq loaded (Linux); never a libpq found
    elsewhere, which could be another build than psycopg2's."""
    global _lib
    if _lib is None:
        import psycopg2  # noqa: F401 - loads its libpq

        paths = set()
        try:
            with open("/proc/self/maps") as maps:
                for line in maps:
                    fields = line.split(None, 5)
                    if len(fields) == 6 and "/libpq" in fields[5]:
                        paths.add(fields[5].strip())
        except OSError:
            pass
        if len(paths) != 1:
            _lib = False
            return None
        path = paths.pop()
        lib = ctypes.CDLL(path)
        vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        for name, args, res in (
            ("PQexec", [vp, cp], vp),
            ("PQresultStatus", [vp], i),
            ("PQclear", [vp], None),
            ("PQputCopyData", [vp, cp, i], i),
            ("PQputCopyEnd", [vp, cp], i),
            ("PQgetResult", [vp], vp),
            ("PQisnonblocking", [vp], i),
        ):
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, res
        _lib = lib
    return _lib or None


class StreamedCopy:
    """One COPY ... FROM STDIN open on the connection, fed rows of COPY text as they come."""

    def __init__(self, conn: Any, sql: str, batch: Any, suffix: str, version: int | None) -> None:
        self.lib = libpq()
        self.pg = ctypes.c_void_p(conn.pgconn_ptr)
        self.batch = batch
        self.version = version
        self.sep = suffix + "\n"
        self.sent = 0  # rows of batch.records sent so far
        self.failed = False
        lib = self.lib
        if lib.PQisnonblocking(self.pg):
            raise RuntimeError("connection is non-blocking")
        res = lib.PQexec(self.pg, sql.encode("utf-8"))
        status = lib.PQresultStatus(res) if res else -1
        lib.PQclear(res)
        if status != PGRES_COPY_IN:
            self._drain()
            self.failed = True
            self.open = False
        else:
            self.open = True

    def send(self, rows: Sequence[str | None]) -> None:
        """Send rows[self.sent:] (none refused); a closed COPY stops the stream."""
        if self.failed:
            return
        chunk = rows[self.sent :]
        if not chunk:
            return
        sep = self.sep
        try:
            data = (sep.join(chunk) + sep).encode("utf-8")  # type: ignore[arg-type]
        except UnicodeEncodeError:
            self.failed = True
            return
        if self.lib.PQputCopyData(self.pg, data, len(data)) != 1:
            self.failed = True
            return
        self.sent = len(rows)

    def finish(self) -> bool:
        """End the COPY; True when the server took every row."""
        if not self.open:
            return False
        self.open = False
        if self.lib.PQputCopyEnd(self.pg, None if not self.failed else b"abandoned") != 1:
            self.failed = True
        ok = self._drain()
        return ok and not self.failed

    def abort(self) -> None:
        self.failed = True
        self.finish()

    def _drain(self) -> bool:
        """Read every result of the COPY (until libpq has none), so the connection is idle."""
        ok = True
        lib = self.lib
        while True:
            res = lib.PQgetResult(self.pg)
            if not res:
                return ok
            if lib.PQresultStatus(res) != PGRES_COMMAND_OK:
                ok = False
            lib.PQclear(res)


class Streamer:
    """Decides when a batch can be streamed (the load it would get is a single COPY: an upsert
    while every key is new, or an append) and settles the stream when the batch is loaded.
    At most one stream is open, on the loader's connection, inside a transaction of its own
    that the batch's load then continues and commits."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.active: StreamedCopy | None = None
        self.broken = libpq() is None  # no libpq to call: never stream

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
            if batch.refused or batch.version != s.version:
                s.failed = True  # settled (rolled back) at load
                return
            s.send(batch.records)
        except Exception:  # never let the head start fail a run: the ordinary load reports
            self.broken = True
            self.abandon()

    def _start(self, batch: Any) -> StreamedCopy | None:
        import psycopg2.extensions
        from psycopg2 import sql

        from . import ddl

        loader = self.loader
        encoder = batch.encoder
        table = loader.tables.get(batch.spec.name)
        if encoder is None or batch.refused or table is None:
            return None
        if [c for _, c, _ in encoder.layout] != list(table.props.values()):
            return None
        keys = table.key_props if table.how.upsert else []
        if "_sdc_deleted_at" in table.props and table.how.hard_delete:
            return None
        if table.how.load_method == "overwrite" and table.stream not in loader.overwritten:
            return None
        if keys and not (table.direct and sorted(table.keys) == table.pk):
            return None
        if batch.version is not None and "_sdc_table_version" not in table.columns:
            return None
        conn = loader.conn
        if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            return None
        constants = loader._constants(table, batch)
        columns = loader._copy_columns(table, constants)
        suffix = "".join("\t" + constants[c] for p, c, _ in columns if p is None)
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            table.target, ddl.idents(c for _, c, _ in columns)
        )
        with conn.cursor() as cur:
            cur.execute("SAVEPOINT tapwell_stream")
        try:
            s = StreamedCopy(conn, copy.as_string(conn), batch, suffix, batch.version)
        except BaseException:
            conn.rollback()  # nothing was sent: only the savepoint is undone
            raise
        if s.failed:
            conn.rollback()
            self.broken = True  # a COPY that does not even start: leave it to the ordinary load
            return None
        self.active = s
        return s

    def settle(self, cur: Any, batches: list[Any]) -> Any:
        """At load: end the stream. Returns the batch it loaded, or None (rolled back, so the
        batch is loaded the ordinary way, which reports any problem as it always has)."""
        from .dedupe import key_families, last_of_each

        s, self.active = self.active, None
        if s is None:
            return None
        batch = s.batch
        ok = (
            not s.failed
            and any(b is batch for b in batches)
            and not batch.refused
            and batch.version == s.version
        )
        table = self.loader.tables.get(batch.spec.name)
        keys = table.key_props if table is not None and table.how.upsert else []
        if ok and keys:
            ok = isinstance(last_of_each(batch.keys, key_families(table)), range)  # no key twice
        if ok:
            s.send(batch.records)
            ok = s.finish()
        else:
            s.abort()
        if ok:
            cur.execute("RELEASE SAVEPOINT tapwell_stream")
            return batch
        cur.execute("ROLLBACK TO SAVEPOINT tapwell_stream")
        cur.execute("RELEASE SAVEPOINT tapwell_stream")
        return None

    def abandon(self) -> None:
        """Before the connection is used for anything else: drop the stream and its transaction
        (nothing else is in it); the batch is loaded the ordinary way."""
        s, self.active = self.active, None
        if s is None:
            return
        try:
            s.abort()
            self.loader.conn.rollback()
        except Exception:
            self.broken = True
