"""The destination side: PostgreSQL on 127.0.0.1:5432. One fresh database per tool and stage
(dropped and recreated before each), and the same checksum as the source, read from wherever
the tool put the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg2

from bench.checksum import Checksum
from bench.variants import Variant


@dataclass(frozen=True)
class PostgresDest:
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""

    def connect(self, dbname: str = "postgres") -> Any:
        conn = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname
        )
        conn.autocommit = True
        return conn

    def recreate(self, dbname: str) -> None:
        self.drop(dbname)
        conn = self.connect()
        conn.cursor().execute(f'CREATE DATABASE "{dbname}"')
        conn.close()

    def drop(self, dbname: str) -> None:
        conn = self.connect()
        cur = conn.cursor()
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.close()

    def config(self, dbname: str) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": dbname,
        }


def find_table(cur: Any, table: str) -> tuple[str, str] | None:
    """(schema, table) of the loaded table, in whatever schema the tool chose."""
    cur.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE lower(table_name) = lower(%s) AND table_schema NOT IN ('pg_catalog', 'information_schema') "
        "ORDER BY table_schema",
        (table,),
    )
    found = cur.fetchall()
    return (found[0][0], found[0][1]) if len(found) == 1 else None


def dest_checksum(dest: PostgresDest, dbname: str, variant: Variant) -> Checksum | str:
    """The destination's checksum, or why it cannot be computed (no table, several tables)."""
    conn = dest.connect(dbname)
    try:
        cur = conn.cursor()
        cur.execute("SET TIME ZONE 'UTC'")
        where = find_table(cur, variant.table)
        if where is None:
            return f"no single table named {variant.table} in database {dbname}"
        t = f'"{where[0]}"."{where[1]}"'
        note = 'COUNT(*) - COUNT("note")' if variant.has("note") else "NULL"
        cur.execute(f'SELECT COUNT(*), SUM("amount"::numeric), {note}, MAX("updated_at") FROM {t}')
        return Checksum.of(*cur.fetchone())
    finally:
        conn.close()
