"""Values sent as null because JSON cannot hold them (NaN, ±Infinity, dates outside 0001..9999,
24:00:00; README) are told: one stderr line per stream and column with the count, at the end of
the stream's sync, on every path (RECORD lines, the csv and jsonl BATCH lanes, INCREMENTAL, the
WAL); nothing for a table without them, and the values still null. Before, they became null
without a word."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_logical import source_database, throwaway_server
from helpers.pg_server import ThrowawayPostgres
from helpers.pg_tap import discover, messages, records, run_tap, select, sql
from tapwell.taps.postgres.nulled import Tally, count_sql
from tapwell.taps.postgres.types import Column, PgType, text_converter

FLOAT = PgType("float8", "double precision", "b")
ROWS = (
    "(1, 'NaN', 'Infinity', 'infinity', '-infinity', '24:00:00', '{NaN,1,-Infinity}', 'a'), "
    "(2, 'Infinity', '-Infinity', '2020-01-01', NULL, '10:00', '{{1,NaN},{2,3}}', ''), "
    "(3, 1.5, NULL, '5874897-12-31', '2024-01-31 10:00:00.000001+00', NULL, NULL, NULL), "
    "(4, '-Infinity', 1, NULL, '0044-03-15 BC', NULL, '{}', 'x')"
)
EXPECTED = [
    "tap-postgres: stream src.t column x: 3 values NaN/Infinity sent as null (JSON has no such number)",
    "tap-postgres: stream src.t column f: 2 values NaN/Infinity sent as null (JSON has no such number)",
    "tap-postgres: stream src.t column d: 2 values infinity/-infinity or outside years 1..9999 "
    "sent as null (no target date type holds them)",
    "tap-postgres: stream src.t column ts: 2 values infinity/-infinity or outside years 1..9999 "
    "sent as null (no target date type holds them)",
    "tap-postgres: stream src.t column tm: 1 value 24:00:00 sent as null (format time has no such time)",
    "tap-postgres: stream src.t column fa: 3 array elements NaN/Infinity sent as null "
    "(JSON has no such number)",
]
VALUES = {
    1: [None, None, None, None, None, [None, 1, None], "a"],
    2: [None, None, "2020-01-01", None, "10:00:00", [[1, None], [2, 3]], ""],
    3: [1.5, None, None, "2024-01-31T10:00:00.000001+00:00", None, None, None],
    4: [None, 1, None, None, None, [], "x"],
}
NAMES = ["x", "f", "d", "ts", "tm", "fa", "ok"]


def _lane(tmp: Path, cfg: dict[str, Any], fmt: str) -> tuple[dict[str, Any], Path]:
    spool = tmp / "spool"
    spool.mkdir()
    bc = {"encoding": {"format": fmt}, "storage": {"root": f"file://{spool}"}, "batch_size": 2}
    return {**cfg, "batch_config": bc}, spool


def told(stderr: bytes) -> list[str]:
    return [s for s in stderr.decode().splitlines() if "sent as null" in s]


def test_wal_converter_counts_what_it_sends_as_null() -> None:
    tally = Tally()
    conv = text_converter(FLOAT, tally.counter("public.t", Column("f", FLOAT)))
    assert [conv(v) for v in ("NaN", "1.5", "-Infinity")][0::2] == [None, None]
    arr_type = PgType("_float8", "double precision[]", "b", element=FLOAT)
    arr = text_converter(arr_type, tally.counter("public.t", Column("a", arr_type)))
    got = arr("{{NaN,1},{Infinity,NULL}}")
    assert [got[0][0], *got[1]] == [None, None, None]  # 2 sent as null; a NULL is no NaN
    assert tally.counter("public.t", Column("s", PgType("text", "text", "b"))) is None
    assert tally.counts == {
        ("public.t", "f", "float", False): 2,
        ("public.t", "a", "float", True): 2,
    }


def test_no_count_query_for_a_table_whose_types_hold_no_such_value() -> None:
    """Its cost is zero there: no query at all (money, composites, text never go null so)."""
    plain = [
        Column(n, PgType(t, t, k))
        for n, t, k in [
            ("i", "int8", "b"),
            ("m", "money", "b"),
            ("c", "pair", "c"),
            ("s", "text", "b"),
        ]
    ]
    assert count_sql(plain, "public.t", "s", 160000) is None
    one = count_sql([*plain, Column("f", FLOAT)], "public.t", "s", 160000)
    assert one == (
        "SELECT count(*) FILTER (WHERE NOT (s.\"f\" NOT IN ('NaN', 'Infinity', '-Infinity'))) "
        "FROM public.t AS s"
    )


def _table(cfg: dict[str, Any]) -> None:
    sql(
        cfg,
        "CREATE TABLE src.t (id int PRIMARY KEY, x numeric, f float8, d date, ts timestamptz, "
        "tm time, fa float4[], ok text)",
        f"INSERT INTO src.t VALUES {ROWS}",
        "CREATE TABLE src.plain (id int PRIMARY KEY, n numeric(5,2), s text)",
        "INSERT INTO src.plain VALUES (1, 1.50, 'x'), (2, NULL, NULL)",
    )


@pytest.fixture
def src(pg_db: dict[str, Any]) -> dict[str, Any]:
    sql(pg_db, "CREATE SCHEMA src")
    _table(pg_db)
    return {**pg_db, "filter_schemas": "src"}


@pytest.mark.services
@pytest.mark.parametrize("lane", ["record", "incremental", "csv", "jsonl"])
def test_each_snapshot_path_tells_the_counts(
    src: dict[str, Any], tmp_path: Path, lane: str
) -> None:
    cfg, spool = (src, None) if lane in ("record", "incremental") else _lane(tmp_path, src, lane)
    method, key = ("INCREMENTAL", "id") if lane == "incremental" else ("FULL_TABLE", None)
    cat = select(discover(tmp_path, src), "t", "plain", method=method, key=key)
    proc = run_tap(tmp_path, cfg, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    assert told(proc.stderr) == EXPECTED  # once per column, none for `plain`
    if spool is None:
        got = {r["id"]: [r[n] for n in NAMES] for r in records(messages(proc.stdout), "t")}
        assert got == VALUES


@pytest.mark.services
def test_a_resumed_run_counts_only_the_rows_it_reads(src: dict[str, Any], tmp_path: Path) -> None:
    cat = select(discover(tmp_path, src), "t")
    state = {
        "bookmarks": {
            "src-t": {"version": 1, "max_pk_values": {"id": 4}, "last_pk_fetched": {"id": 2}}
        }
    }
    proc = run_tap(tmp_path, src, catalog=cat, state=state)
    assert proc.returncode == 0, proc.stderr.decode()
    assert told(proc.stderr) == [
        "tap-postgres: stream src.t column x: 1 value NaN/Infinity sent as null (JSON has no such number)",
        "tap-postgres: stream src.t column d: 1 value infinity/-infinity or outside years 1..9999 "
        "sent as null (no target date type holds them)",
        "tap-postgres: stream src.t column ts: 1 value infinity/-infinity or outside years 1..9999 "
        "sent as null (no target date type holds them)",
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[ThrowawayPostgres]:
    yield from throwaway_server()


@pytest.mark.services
def test_the_wal_tells_the_counts(server: ThrowawayPostgres, tmp_path: Path) -> None:
    with source_database(server, "nulled_wal") as cfg:
        _table(cfg)
        sql(cfg, "DELETE FROM src.t")
        cat = select(discover(tmp_path, cfg), "t", "plain", method="LOG_BASED")
        first = run_tap(tmp_path, cfg, catalog=cat, timeout=120)
        assert first.returncode == 0, first.stderr.decode()
        assert told(first.stderr) == []  # the initial copy of an empty table: nothing to tell
        state = messages(first.stdout)[-1]["value"]
        sql(cfg, f"INSERT INTO src.t VALUES {ROWS}", "INSERT INTO src.plain VALUES (3, 2, 'y')")
        proc = run_tap(tmp_path, cfg, catalog=cat, state=state, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()
        assert told(proc.stderr) == EXPECTED
        got = {r["id"]: [r[n] for n in NAMES] for r in records(messages(proc.stdout), "t")}
        assert got == VALUES
