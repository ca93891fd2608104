"""tap-mysql with `%` in table and column names: MySQLdb %-formats a query whenever parameters
are passed (an empty list too), so a `%` inside a quoted identifier must reach it doubled. Every
replication path that sends a SELECT with parameters is read row by row against a twin table
with plain names holding the same rows: FULL_TABLE (from the start and resumed from a bookmark),
INCREMENTAL (from the start and from a bookmark), and the fast lane's csv and jsonl files."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql, states
from tapwell.singer.wire import loads

pytestmark = pytest.mark.services

# the odd names and their plain twins, in column order
COLUMNS = [
    ("100%", "id", "INT PRIMARY KEY"),
    ("a%sb", "a", "VARCHAR(40)"),
    ("q\"'``%d", "q", "TEXT"),  # `` is one backtick in the DDL
    ("ñ%é", "u", "VARCHAR(20) CHARACTER SET utf8mb4"),
    ("up%d at", "up", "DATETIME(6)"),
]
ROWS = [
    "(1, '%s', '100%', 'émoji 😀', '2024-01-01 00:00:00.000001')",
    "(2, '', '%%', '', '2024-01-02 00:00:00')",
    "(3, NULL, 'a%sb', 'ñ', '2024-01-03 12:34:56.5')",
]
TABLES = ["we%ird", "a%sb 100%"]


def _ddl(table: str, odd: bool) -> list[str]:
    name = "`" + table + "`"
    cols = ", ".join(f"`{c[0] if odd else c[1]}` {c[2]}" for c in COLUMNS)
    return [f"CREATE TABLE {name} ({cols})", f"INSERT INTO {name} VALUES " + ", ".join(ROWS)]


def _values(recs: list[dict[str, Any]]) -> list[list[Any]]:
    return [list(r.values()) for r in recs]


@pytest.fixture
def tables(mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> dict[str, Any]:
    """Both odd tables and the plain twin, discovered once."""
    for t in TABLES:
        sql(mysql_db, *_ddl(t, odd=True))
    sql(mysql_db, *_ddl("plain", odd=False))
    return discover(bin_path, tmp_path, mysql_db)


def _run(
    bin_path: Path,
    tmp: Path,
    cfg: dict[str, Any],
    cat: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    proc = run_tap(bin_path, tmp, cfg, catalog=cat, state=state)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return messages(proc.stdout)


def _plain(bin_path: Path, tmp: Path, db: dict[str, Any], tables: dict[str, Any]) -> list[Any]:
    return _values(records(_run(bin_path, tmp, db, select(tables, "plain"))))


@pytest.mark.parametrize("table", TABLES)
def test_full_table_reads_every_row(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, tables: dict[str, Any], table: str
) -> None:
    want = _plain(bin_path, tmp_path, mysql_db, tables)
    msgs = _run(bin_path, tmp_path, mysql_db, select(tables, table))
    got = records(msgs)
    assert list(got[0]) == [c[0].replace("``", "`") for c in COLUMNS]
    assert _values(got) == want
    assert got[0]["a%sb"] == "%s" and got[1]["q\"'`%d"] == "%%" and got[0]["ñ%é"] == "émoji 😀"
    # resumed after the first row: the WHERE on the key carries parameters
    sid = f"{mysql_db['database']}-{table}"
    mark = {"version": 1, "max_pk_values": {"100%": 3}, "last_pk_fetched": {"100%": 1}}
    again = _run(
        bin_path, tmp_path, mysql_db, select(tables, table), state={"bookmarks": {sid: mark}}
    )
    assert _values(records(again)) == want[1:]


@pytest.mark.parametrize("table", TABLES)
def test_incremental_reads_every_row_and_resumes(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, tables: dict[str, Any], table: str
) -> None:
    want = _plain(bin_path, tmp_path, mysql_db, tables)
    cat = select(tables, table, "INCREMENTAL", "up%d at")
    msgs = _run(bin_path, tmp_path, mysql_db, cat)
    assert _values(records(msgs)) == want
    sid = f"{mysql_db['database']}-{table}"
    mark = states(msgs)[-1]["bookmarks"][sid]
    assert mark["replication_key"] == "up%d at"
    mid = {**mark, "replication_key_value": records(msgs)[1]["up%d at"]}
    again = _run(bin_path, tmp_path, mysql_db, cat, state={"bookmarks": {sid: mid}})
    assert _values(records(again)) == want[1:]  # from the second row on (>=)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("table", TABLES)
def test_fast_lane_files_hold_every_row(
    mysql_db: dict[str, Any],
    bin_path: Path,
    tmp_path: Path,
    tables: dict[str, Any],
    table: str,
    fmt: str,
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    bc = {"encoding": {"format": fmt}, "storage": {"root": f"file://{spool}"}, "batch_size": 10}
    cfg = {**mysql_db, "batch_config": bc}
    want = _run(bin_path, tmp_path, cfg, select(tables, "plain"))
    got = _run(bin_path, tmp_path, cfg, select(tables, table))

    def rows(msgs: list[dict[str, Any]]) -> list[list[Any]]:
        (batch,) = [m for m in msgs if m["type"] == "BATCH"]
        raw = Path(batch["manifest"][0].removeprefix("file://")).read_text(encoding="utf-8")
        if fmt == "jsonl":
            return [list(loads(line).values()) for line in raw.splitlines()]
        return list(csv.reader(io.StringIO(raw, newline="")))[1:]  # the header names differ

    assert rows(got) == rows(want)
    assert len(rows(got)) == 3
