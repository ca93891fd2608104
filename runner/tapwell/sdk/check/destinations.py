"""Where `--verify` reads a target's output back from, one small adapter per known target.

- `jsonl:DIR`: one file per stream, `<stream>.jsonl` (tapwell) or `<stream>-<time>.jsonl`
  (singer-io's target-jsonl); every record kept, in order.
- `duckdb:PATH[:SCHEMA]`: target-duckdb; a table per stream, named as the stream.
- `postgres:SCHEMA:DSN`: tapwell's target-postgres (DSN: a libpq URI or `key=value` string). It
  names tables and columns as its README says: stream `a-b` loads table `b`, and a name past 63
  bytes is shortened to its first bytes, `_` and 8 hex digits of its SHA-1.
"""

from __future__ import annotations

import glob
import hashlib
import os
from typing import Any, Protocol

from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import loads


class Destination(Protocol):
    mode: str  # "append" (every record kept) or "upsert" (one row per key, versions applied)

    def describe(self) -> str: ...

    def rows(self, stream: str) -> tuple[list[str], list[dict[str, Any]]] | None: ...

    def column(self, name: str) -> str: ...


class _SameNames:
    def column(self, name: str) -> str:
        """The destination's column for a property: the same name, unless the target renames."""
        return name


class JsonlDestination(_SameNames):
    mode = "append"

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def describe(self) -> str:
        return f"jsonl:{self.folder}"

    def rows(self, stream: str) -> tuple[list[str], list[dict[str, Any]]] | None:
        safe = stream.replace("/", "_")
        files = sorted(
            set(glob.glob(os.path.join(self.folder, glob.escape(safe) + ".jsonl")))
            | set(glob.glob(os.path.join(self.folder, glob.escape(safe) + "-*.jsonl")))
        )
        if not files:
            return None
        out: list[dict[str, Any]] = []
        for path in files:
            with open(path, "rb") as f:
                out.extend(loads(line) for line in f if line.strip())
        columns: list[str] = []
        for r in out:
            columns.extend(k for k in r if k not in columns)
        return columns, out


class DuckdbDestination(_SameNames):
    mode = "upsert"

    def __init__(self, path: str, schema: str = "main") -> None:
        self.path, self.schema = path, schema

    def describe(self) -> str:
        return f"duckdb:{self.path}:{self.schema}"

    def rows(self, stream: str) -> tuple[list[str], list[dict[str, Any]]] | None:
        import duckdb

        con = duckdb.connect(self.path, read_only=True)
        try:
            found = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [self.schema, stream],
            ).fetchone()
            if not found or not found[0]:
                return None
            row = con.execute("SELECT current_database()").fetchone()
            table = ".".join(
                '"' + str(n).replace('"', '""') + '"'
                for n in (row[0] if row else "", self.schema, stream)
            )
            cur = con.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cur.description]
            return columns, [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        finally:
            con.close()


class PostgresDestination:
    mode = "upsert"
    MAX_BYTES = 63

    def __init__(self, schema: str, dsn: str) -> None:
        self.schema, self.dsn = schema, dsn

    def describe(self) -> str:
        return f"postgres:{self.schema}"

    def column(self, name: str) -> str:
        raw = name.encode("utf-8")
        if len(raw) <= self.MAX_BYTES:
            return name
        suffix = "_" + hashlib.sha1(raw).hexdigest()[:8]
        return raw[: self.MAX_BYTES - len(suffix)].decode("utf-8", errors="ignore") + suffix

    def table(self, stream: str) -> str:
        return self.column(stream.split("-", 1)[1] if stream.count("-") == 1 else stream)

    def rows(self, stream: str) -> tuple[list[str], list[dict[str, Any]]] | None:
        import psycopg2
        from psycopg2 import sql

        try:
            con = psycopg2.connect(self.dsn)
        except psycopg2.Error as exc:
            raise ConfigError(f"--verify postgres: cannot connect: {str(exc).strip()}") from None
        try:
            with con.cursor() as cur:
                cur.execute(
                    sql.SQL("SELECT * FROM {}.{}").format(
                        sql.Identifier(self.schema), sql.Identifier(self.table(stream))
                    )
                )
                columns = [d[0] for d in cur.description or []]
                return columns, [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        except psycopg2.errors.UndefinedTable:
            return None
        finally:
            con.close()


def destination(spec: str) -> Destination:
    """`jsonl:DIR`, `duckdb:PATH[:SCHEMA]` or `postgres:SCHEMA:DSN`."""
    kind, _, rest = spec.partition(":")
    if kind == "jsonl" and rest:
        return JsonlDestination(rest)
    if kind == "duckdb" and rest:
        path, _, schema = rest.partition(":")
        return DuckdbDestination(path, schema or "main")
    if kind == "postgres" and ":" in rest:
        schema, _, dsn = rest.partition(":")
        return PostgresDestination(schema, dsn)
    raise ConfigError(
        f"--verify {spec!r}: expected jsonl:DIR, duckdb:PATH[:SCHEMA] or postgres:SCHEMA:DSN"
    )
