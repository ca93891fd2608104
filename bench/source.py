"""The source side: MariaDB on 127.0.0.1:3306. Fills a benchmark table server-side (INSERT ...
SELECT over MariaDB's sequence engine, in chunks) and computes the checksum every run is
compared against."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import MySQLdb

from bench.checksum import Checksum
from bench.variants import Variant, create_table_sql, insert_chunk_sql, table_comment

CHUNK = 100_000


@dataclass(frozen=True)
class MySQLSource:
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    database: str = "tapwell_bench"

    def connect(self, database: bool = True) -> Any:
        conn = MySQLdb.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            passwd=self.password,
            db=self.database if database else "",
            charset="utf8mb4",
            autocommit=True,
        )
        conn.cursor().execute("SET time_zone = '+00:00'")
        return conn

    def drop(self) -> None:
        conn = self.connect(database=False)
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{self.database}`")
        conn.close()


def ensure_table(
    src: MySQLSource, variant: Variant, rows: int, say: Callable[[str], None]
) -> float:
    """Make `variant`'s table hold exactly `rows` generated rows; reuse it when it already does.
    Returns the seconds spent generating (0 when reused)."""
    admin = src.connect(database=False)
    admin.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{src.database}` CHARACTER SET utf8mb4")
    admin.close()
    conn = src.connect()
    cur = conn.cursor()
    cur.execute(
        "SELECT table_comment FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        (src.database, variant.table),
    )
    found = cur.fetchone()
    if found and found[0] == table_comment(variant, rows):
        conn.close()
        return 0.0
    say(f"bench: generating {rows:,} rows into {src.database}.{variant.table} (server-side)")
    start = time.monotonic()
    cur.execute(f"DROP TABLE IF EXISTS `{variant.table}`")
    cur.execute(
        create_table_sql(variant, rows).replace(
            f"COMMENT='{table_comment(variant, rows)}'", "COMMENT='incomplete'"
        )
    )
    cur.execute("SET SESSION sql_log_bin = 0")  # the full-table bench never reads the binlog
    cur.execute("SET SESSION unique_checks = 0")
    for first in range(1, rows + 1, CHUNK):
        last = min(first + CHUNK - 1, rows)
        cur.execute("BEGIN")
        cur.execute(insert_chunk_sql(variant, first, last))
        cur.execute("COMMIT")
    cur.execute(f"ALTER TABLE `{variant.table}` COMMENT = %s", (table_comment(variant, rows),))
    cur.execute(f"ANALYZE TABLE `{variant.table}`")
    cur.fetchall()
    conn.close()
    return time.monotonic() - start


def source_checksum(src: MySQLSource, variant: Variant) -> Checksum:
    conn = src.connect()
    cur = conn.cursor()
    t = f"`{variant.table}`"
    note = "SUM(`note` IS NULL)" if variant.has("note") else "NULL"
    cur.execute(f"SELECT COUNT(*), SUM(`amount`), {note}, MAX(`updated_at`) FROM {t}")
    count, amount, nulls, updated = cur.fetchone()
    conn.close()
    return Checksum.of(count, amount, nulls, updated)
