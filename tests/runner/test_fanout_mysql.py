"""Fan-out as issue 16 asks it tested: tap-mysql into target-postgres and target-duckdb at once,
target-duckdb killed with SIGKILL mid-run, then a rerun; both destinations must then equal the
source row by row (decimals, '' and NULL, emoji, microsecond timestamps)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import duckdb
from helpers.mysql_tap import sql
from helpers.pg_target import query
from helpers.runner_project import BIN, KILLER_TARGET, Proj

ROWS = 3000


def source_rows(n: int) -> list[tuple[Any, ...]]:
    notes = ["", "😀 émoji", None, "plain"]
    return [
        (
            i,
            f"user{i}@example.com",
            Decimal(f"{i}12345678901234567.{i % 10}123456789"),
            notes[i % 4],
            dt.datetime(2024, 1, 1, 12, 0, 0, i % 1000000, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
        )
        for i in range(1, n + 1)
    ]


def load_source(mysql_db: dict[str, Any]) -> None:
    sql(
        mysql_db,
        "CREATE TABLE orders (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, "
        "amount DECIMAL(38,10) NOT NULL, note VARCHAR(50) NULL, created_at DATETIME(6) NOT NULL)",
    )
    values = ", ".join(
        f"({i}, '{e}', {a}, {'NULL' if n is None else repr(n)}, '{c:%Y-%m-%d %H:%M:%S.%f}')"
        for i, e, a, n, c in source_rows(ROWS)
    )
    sql(mysql_db, f"INSERT INTO orders VALUES {values}")


def project(proj: Proj, mysql_db: dict[str, Any], pg_db: dict[str, Any]) -> None:
    duck = {
        "path": str(proj.root / "out.duckdb"),
        "default_target_schema": "main",
        "batch_size_rows": 200,
    }
    proj.write(
        {
            "integrations": {
                "orders": {
                    "tap": {
                        "name": "tap-mysql",
                        "config": {**mysql_db, "state_every": 100, "batch_rows": 100},
                    },
                    "targets": [
                        {
                            "name": "target-postgres",
                            "config": {
                                **pg_db,
                                "default_target_schema": "public",
                                "batch_size_rows": 200,
                            },
                        },
                        {
                            "name": "duckdb",
                            "command": KILLER_TARGET,
                            "config": {
                                "real": str(BIN / "target-duckdb"),
                                "real_config": duck,
                                "counter": str(proj.root / "killer.txt"),
                                "fail_times": 1,
                                "kill_after": 1500,
                                "commits": 2,  # a state at the start, then a batch
                            },
                        },
                    ],
                    "select": ["*orders"],
                    "streams": {
                        "*orders": {"replication_method": "INCREMENTAL", "replication_key": "id"}
                    },
                    "retry": {"attempts": 1},
                }
            }
        }
    )


def normal(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [
        (
            int(i),
            e,
            Decimal(str(a)),
            n,
            c.astimezone(dt.UTC) if c.tzinfo else c.replace(tzinfo=dt.UTC),
        )
        for i, e, a, n, c in rows
    ]


def pg_rows(pg_db: dict[str, Any]) -> list[tuple[Any, ...]]:
    return query(pg_db, "SELECT id, email, amount, note, created_at FROM public.orders ORDER BY id")


def duck_rows(proj: Proj) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(proj.root / "out.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(
            "SELECT id, email, amount, note, created_at FROM main.orders ORDER BY id"
        ).fetchall()
    finally:
        con.close()


def test_mysql_into_postgres_and_duckdb_with_duckdb_killed_then_rerun(proj, mysql_db, pg_db):
    load_source(mysql_db)
    project(proj, mysql_db, pg_db)
    found = proj.cli("discover", "orders")
    assert found.returncode == 0, found.stderr
    first = proj.cli("run", "orders", "--quiet")
    assert first.returncode != 0
    assert "killing the target" in first.stderr or "duckdb" in first.stderr
    states = json.loads(proj.cli("state", "show", "orders").stdout)
    assert set(states) == {"target-postgres", "duckdb"}
    # the killed target committed part of the table; the integration resumes from its state
    assert states["duckdb"] is not None and 0 < len(duck_rows(proj)) < ROWS
    resume = json.loads((proj.root / "state" / "orders.json").read_text())
    assert resume == states["duckdb"] != states["target-postgres"]
    (bookmark,) = resume["bookmarks"].values()
    assert 0 < bookmark["replication_key_value"] < ROWS  # the rerun resumes, it does not start over
    second = proj.cli("run", "orders", "--quiet")
    assert second.returncode == 0, second.stderr
    expected = normal(source_rows(ROWS))
    assert normal(pg_rows(pg_db)) == expected
    assert normal(duck_rows(proj)) == expected
    states = json.loads(proj.cli("state", "show", "orders").stdout)
    assert states["target-postgres"] == states["duckdb"]
