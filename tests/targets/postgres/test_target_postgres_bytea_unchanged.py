"""target-postgres with what only tap-postgres sends: bytea (hex text marked
`contentEncoding: x-bytea-hex`) loaded into a bytea column byte for byte, and LOG_BASED records
listing `_sdc_unchanged` columns, whose stored values are kept (README: unchanged TOASTed values).

The tap runs against the shared server for FULL_TABLE, and against a throwaway wal_level=logical
cluster for a real TOAST update (the shared server is never reconfigured)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from helpers.pg_server import ThrowawayPostgres
from helpers.pg_tap import discover, messages, records, run_pipe, select, sql
from helpers.pg_target import column_types, query, record, run_target, schema, state

pytestmark = pytest.mark.services

BYTES = [
    b"",
    b"\x00",
    b"\xff",
    bytes(range(256)) * 1200,  # 300 KB, every byte value, TOASTed at the source
    None,
    b"\\x00 'q' \t\n\r\\",  # text that looks like escapes
    os.urandom(5000),
]


def insert_bytes(cfg: dict[str, Any], table: str, values: list[bytes | None]) -> None:
    conn = psycopg2.connect(**{k: cfg[k] for k in ("host", "port", "user", "dbname")})
    with conn, conn.cursor() as cur:
        for i, value in enumerate(values, 1):
            blob = None if value is None else psycopg2.Binary(value)
            cur.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, blob))
    conn.close()


def bytes_of(cfg: dict[str, Any], table: str) -> list[tuple[int, bytes | None]]:
    conn = psycopg2.connect(**{k: cfg[k] for k in ("host", "port", "user", "dbname")})
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, b FROM {table} ORDER BY id")
        rows = [(i, None if b is None else bytes(b)) for i, b in cur.fetchall()]
    conn.close()
    return rows


def test_bytea_round_trip_byte_for_byte(pg_db: dict[str, Any], tmp_path: Path) -> None:
    sql(pg_db, "CREATE SCHEMA src", "CREATE TABLE src.blobs (id int PRIMARY KEY, b bytea)")
    insert_bytes(pg_db, "src.blobs", BYTES)
    src = {**pg_db, "filter_schemas": "src"}
    cat = select(discover(tmp_path, src), "blobs")
    dst = {**pg_db, "default_target_schema": "dst"}
    for _ in range(2):  # the second run merges every key through the staging table
        tap, done = run_pipe(tmp_path, src, cat, "target-postgres", dst)
        assert done.returncode == 0, done.stderr.decode()
    (entry,) = [m for m in messages(tap.stdout) if m["type"] == "SCHEMA"]
    assert entry["schema"]["properties"]["b"]["contentEncoding"] == "x-bytea-hex"
    assert column_types(pg_db, "blobs", "dst")["b"] == "bytea"
    expected = bytes_of(pg_db, "src.blobs")
    assert [b for _, b in expected] == BYTES
    assert bytes_of(pg_db, "dst.blobs") == expected


def test_bytea_refuses_text_that_is_not_hex(pg_db: dict[str, Any], tmp_path: Path) -> None:
    prop = {"type": ["null", "string"], "contentEncoding": "x-bytea-hex"}
    good = run_target(
        pg_db,
        [schema("b", {"id": {"type": "integer"}, "b": prop}, ["id"]), record("b", {"id": 1, "b": "\\x00ff"})],
        tmp_path,
    )  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert bytes(query(pg_db, "SELECT b FROM b")[0][0]) == b"\x00\xff"
    for bad in ("abc", "\\x0g"):
        done = run_target(
            pg_db,
            [schema("b", {"id": {"type": "integer"}, "b": prop}, ["id"]), record("b", {"id": 2, "b": bad})],
            tmp_path,
        )  # fmt: skip
        err = done.stderr.strip().splitlines()
        assert done.returncode != 0 and len(err) == 1 and "Traceback" not in done.stderr, (
            done.stderr
        )
        assert "line 2" in err[0] and "'b'" in err[0], err[0]
    assert query(pg_db, "SELECT count(*) FROM b") == [(1,)]


# ----------------------------------------------------------------------------- _sdc_unchanged

UNCHANGED = {"type": ["null", "array"], "items": {"type": "string"}}
PROPS = {
    "id": {"type": "integer"},
    "v": {"type": ["null", "string"]},
    "big": {"type": ["null", "string"]},
    "doc": {"type": ["null", "object"]},
    "_sdc_unchanged": UNCHANGED,
}


def rows_of(cfg: dict[str, Any], table: str) -> dict[int, tuple[Any, ...]]:
    got = query(cfg, f"SELECT id, v, big, doc::text FROM {table} ORDER BY id")
    return {r[0]: (r[1], r[2], None if r[3] is None else json.loads(r[3])) for r in got}


def test_unchanged_columns_keep_their_stored_values(pg_db: dict[str, Any], tmp_path: Path) -> None:
    big = "x" * 9000 + " 😀 \\ \t"
    first = [
        schema("t", PROPS, ["id"]),
        record("t", {"id": 1, "v": "a", "big": big, "doc": {"n": 1}}),
        record("t", {"id": 2, "v": "a", "big": big + "2", "doc": {"n": 2}}),
        record("t", {"id": 3, "v": "a", "big": "", "doc": None}),
        state({"n": 1}),
    ]
    done = run_target(pg_db, first, tmp_path)
    assert done.returncode == 0, done.stderr
    second = [
        schema("t", PROPS, ["id"]),
        # a later batch: the stored values of the listed columns stay
        record("t", {"id": 1, "v": "b", "doc": {"n": 11}, "_sdc_unchanged": ["big"]}),
        record("t", {"id": 2, "v": "b", "_sdc_unchanged": ["big", "doc"]}),
        # '' is a value, not an unchanged one: an empty list changes nothing
        record("t", {"id": 3, "v": "b", "big": "", "doc": {"a": 1}, "_sdc_unchanged": []}),
        # a key inserted in this batch and changed again in it: the earlier record's value
        record("t", {"id": 4, "v": "a", "big": "four", "doc": {"n": 4}}),
        record("t", {"id": 4, "v": "b", "doc": {"n": 44}, "_sdc_unchanged": ["big"]}),
        record("t", {"id": 4, "v": "c", "_sdc_unchanged": ["big", "doc"]}),
        # a key the table does not hold: nothing stored to keep, the listed column is NULL
        record("t", {"id": 5, "v": "new", "doc": {"n": 5}, "_sdc_unchanged": ["big"]}),
        state({"n": 2}),
    ]
    done = run_target(pg_db, second, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "_sdc_unchanged" not in column_types(pg_db, "t")
    assert rows_of(pg_db, "t") == {
        1: ("b", big, {"n": 11}),  # a property left out and not listed is null, as always
        2: ("b", big + "2", {"n": 2}),
        3: ("b", "", {"a": 1}),
        4: ("c", "four", {"n": 44}),
        5: ("new", None, {"n": 5}),
    }
    # replayed (a retry after a kill): the same rows
    done = run_target(pg_db, second, tmp_path)
    assert done.returncode == 0, done.stderr
    assert rows_of(pg_db, "t")[1] == ("b", big, {"n": 11}) and rows_of(pg_db, "t")[5][1] is None


def test_unchanged_one_key_several_times_in_a_batch(pg_db: dict[str, Any], tmp_path: Path) -> None:
    msgs = [
        schema("u", PROPS, ["id"]),
        record("u", {"id": 1, "v": "a", "big": "B", "doc": {"n": 1}}),
        state({"n": 1}),
        record("u", {"id": 1, "v": "b", "_sdc_unchanged": ["big"]}),
        record("u", {"id": 1, "v": "c", "doc": {"n": 3}, "_sdc_unchanged": ["big"]}),
        record("u", {"id": 1, "v": "d", "big": "D", "_sdc_unchanged": ["doc"]}),
        state({"n": 2}),
    ]
    done = run_target(pg_db, msgs, tmp_path)
    assert done.returncode == 0, done.stderr
    assert rows_of(pg_db, "u") == {1: ("d", "D", {"n": 3})}


def test_fold_unchanged_on_buffered_dicts() -> None:
    """The in-batch fold on records buffered as dicts (no row encoder), as on COPY lines."""
    from tapwell.targets.postgres.dedupe import fold_unchanged

    rows = [
        {"id": 1, "v": "a", "big": "B", "doc": {"n": 1}},
        {"id": 2, "v": "x", "_sdc_unchanged": ["big"]},
        {"id": 1, "v": "b", "_sdc_unchanged": ["big", "doc"]},
        {"id": 2, "v": "y", "_sdc_unchanged": ["big"]},
    ]
    out = fold_unchanged(rows, [1, 2, 1, 2], ["bigint"], list(PROPS), "_sdc_unchanged", True)
    assert out[2] == {"id": 1, "v": "b", "big": "B", "doc": {"n": 1}, "_sdc_unchanged": None}
    assert out[3] == {"id": 2, "v": "y", "big": None, "_sdc_unchanged": ["big"]}
    lines = ["1\ta\tB\t{}\t\\N", '1\tb\t\\N\t\\N\t["big"]']
    out = fold_unchanged(lines, [1, 1], ["bigint"], list(PROPS), "_sdc_unchanged", False)
    assert out[1] == "1\tb\tB\t\\N\t\\N"


# ----------------------------------------------------------------------------- a real TOAST update

LOGICAL = {"wal_level": "logical", "max_replication_slots": "4", "max_wal_senders": "4"}


@pytest.fixture(scope="module")
def server() -> Iterator[ThrowawayPostgres]:
    if ThrowawayPostgres.missing():
        pytest.skip(str(ThrowawayPostgres.missing()))
    s = ThrowawayPostgres(settings=LOGICAL)
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def src(server: ThrowawayPostgres) -> dict[str, Any]:
    """A database of its own on the throwaway logical server (stopped, whole, at the end)."""
    admin = psycopg2.connect(**server.config)
    admin.autocommit = True
    admin.cursor().execute('CREATE DATABASE "pgload_toast"')
    admin.close()
    cfg = {**server.config, "dbname": "pgload_toast", "filter_schemas": "src"}
    sql(cfg, "CREATE SCHEMA src")
    return cfg


def test_a_real_toast_update_through_tap_postgres(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """A table without a primary key (its replica identity a unique index) cannot be read back
    by key, so tap-postgres lists the unchanged TOASTed column in `_sdc_unchanged`; its stream
    has no key, so target-postgres appends the change: the earlier row keeps its value, the
    appended one has NULL there (nothing stored to take it from), and no `_sdc_unchanged`
    column. bytea and a big bytea travel through the WAL too."""
    big = "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400))"
    sql(
        src,
        "CREATE TABLE src.tk (id int NOT NULL, v text, big text, b bytea)",
        "CREATE UNIQUE INDEX tk_id ON src.tk (id)",
        "ALTER TABLE src.tk REPLICA IDENTITY USING INDEX tk_id",
    )
    cat = select(discover(tmp_path, src), "tk", method="LOG_BASED")
    dst = {**pg_db, "default_target_schema": "dst"}
    tap, done = run_pipe(tmp_path, src, cat, "target-postgres", dst)  # the slot, the copy
    assert done.returncode == 0, done.stderr.decode()
    saved = json.loads(done.stdout.splitlines()[-1])
    sql(src, f"INSERT INTO src.tk VALUES (1, 'a', {big}, '\\x00ff'::bytea)")
    tap, done = run_pipe(tmp_path, src, cat, "target-postgres", dst, saved)
    assert done.returncode == 0, done.stderr.decode()
    saved = json.loads(done.stdout.splitlines()[-1])
    sql(src, "UPDATE src.tk SET v = 'b'")
    tap, done = run_pipe(tmp_path, src, cat, "target-postgres", dst, saved)
    assert done.returncode == 0, done.stderr.decode()
    assert "has no key to keep their stored values by" in done.stderr.decode()
    (change,) = records(messages(tap.stdout), "tk")
    assert change["_sdc_unchanged"] == ["big"] and "big" not in change  # what the tap sent
    ((stored,),) = sql(src, "SELECT big FROM src.tk")
    assert len(stored) == 12800
    got = query(pg_db, "SELECT id, v, big, b FROM dst.tk ORDER BY v")
    assert [(i, v, s, bytes(b)) for i, v, s, b in got] == [
        (1, "a", stored, b"\x00\xff"),
        (1, "b", None, b"\x00\xff"),
    ]
    assert "_sdc_unchanged" not in column_types(pg_db, "tk", "dst")
    assert column_types(pg_db, "tk", "dst")["b"] == "bytea"
