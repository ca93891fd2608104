"""A stream switched between `nested: json` and `nested: tables` and back, upserting keys the
table holds: the other mode's columns are kept, no longer filled, and a row loaded since holds
NULL there in both targets. target-postgres kept the stale flattened values (`addr__city`) after a
switch back to `json` (its ON CONFLICT updates only the columns it loads) where target-duckdb
left NULL: a value the source no longer sends there was shown as current. A property a re-sent
SCHEMA dropped keeps its stored value in both (no switch: the source stopped sending it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import duckdb_target as duck
from helpers import pg_target as pg

pytestmark = pytest.mark.services

NEST = {
    "id": {"type": "integer"},
    "addr": {"type": ["null", "object"], "properties": {"city": {"type": ["null", "string"]}}},
    "note": {"type": ["null", "string"]},
}
LESS = {k: v for k, v in NEST.items() if k != "note"}
# (mode, properties, records): each run upserts key 1 and adds a key
RUNS = [
    (
        "json",
        NEST,
        [{"id": 1, "addr": {"city": "A"}, "note": "n1"}, {"id": 2, "addr": {"city": "B"}}],
    ),
    (
        "tables",
        NEST,
        [{"id": 1, "addr": {"city": "A2"}, "note": "n1b"}, {"id": 3, "addr": {"city": "C"}}],
    ),
    ("json", LESS, [{"id": 1, "addr": {"city": "A3"}}, {"id": 3, "addr": None}]),
    ("tables", LESS, [{"id": 1, "addr": {"city": "A4"}}, {"id": 4, "addr": {"city": "D"}}]),
]
# after each run: id -> (addr as JSON, addr__city, note)
WANT = [
    {1: ({"city": "A"}, None, "n1"), 2: ({"city": "B"}, None, None)},
    {1: (None, "A2", "n1b"), 2: ({"city": "B"}, None, None), 3: (None, "C", None)},
    {1: ({"city": "A3"}, None, "n1b"), 2: ({"city": "B"}, None, None), 3: (None, None, None)},
    {
        1: (None, "A4", "n1b"),
        2: ({"city": "B"}, None, None),
        3: (None, None, None),
        4: (None, "D", None),
    },
]


def _messages(props: dict[str, Any], records: list[dict[str, Any]], n: int) -> bytes:
    return duck.lines(
        duck.schema("t", props, ["id"]),
        *(duck.record("t", r) for r in records),
        duck.state({"n": n}),
    )


def _rows(cols: list[str], rows: list[Any]) -> dict[int, tuple[Any, ...]]:
    out = {}
    for row in rows:
        got = dict(zip(cols, row, strict=True))
        addr = got.get("addr")
        addr = json.loads(addr) if isinstance(addr, str) else addr
        out[got["id"]] = (addr, got.get("addr__city"), got.get("note"))
    return out


def test_both_targets_leave_the_other_modes_columns_null_in_rows_loaded_since(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    for n, ((mode, props, records), want) in enumerate(zip(RUNS, WANT, strict=True), 1):
        text = _messages(props, records, n)
        done = pg.run_target({**pg_db, "nested": mode}, text.decode(), tmp_path)
        assert done.returncode == 0, done.stderr
        cols = [
            c
            for (c,) in pg.query(
                pg_db,
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 't' ORDER BY ordinal_position",
            )
        ]
        by_pg = _rows(cols, pg.query(pg_db, "SELECT * FROM t ORDER BY id"))
        ran = duck.run_target(bin_path, tmp_path, text, db, nested=mode)
        assert ran.returncode == 0, ran.stderr.decode()
        cols = [
            c
            for (c,) in duck.query(
                db,
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 't' ORDER BY ordinal_position",
            )
        ]
        by_duck = _rows(cols, duck.query(db, "SELECT * FROM t ORDER BY id"))
        assert by_pg == want, f"target-postgres after run {n} ({mode})"
        assert by_duck == want, f"target-duckdb after run {n} ({mode})"
