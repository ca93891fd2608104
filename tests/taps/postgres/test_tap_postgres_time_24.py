"""PostgreSQL's `time` takes '24:00:00' (the end of a day); a JSON Schema `format: time`, and
both targets' time columns, do not. Such a value becomes null as NaN and infinity do (README:
"NaN, ±Infinity and dates outside ..."), from the snapshot and from the WAL, scalar and array
element alike: before, the tap sent "24:00:00" and target-postgres and target-duckdb stopped the
load at that record (`'24:00:00' is not a valid time string`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_tap import discover, messages, records, run_pipe, run_tap, select, sql
from tapwell.taps.postgres.types import PgType, text_converter

TIME = PgType("time", "time without time zone", "b")


def test_wal_text_of_24_00_is_null() -> None:
    conv = text_converter(TIME)
    assert conv("24:00:00") is None
    assert conv("23:59:59.999999") == "23:59:59.999999"
    arr = text_converter(PgType("_time", "time[]", "b", element=TIME))
    assert arr("{24:00:00,NULL,00:00:00}") == [None, None, "00:00:00"]


@pytest.fixture
def src(pg_db: dict[str, Any]) -> dict[str, Any]:
    sql(
        pg_db,
        "CREATE SCHEMA src",
        "CREATE TABLE src.times (id int PRIMARY KEY, t time(6), ta time[])",
        "INSERT INTO src.times VALUES (1, '24:00:00', '{24:00:00,12:00:00,NULL}'), "
        "(2, '23:59:59.999999', '{00:00:00}'), (3, NULL, NULL)",
    )
    return {**pg_db, "filter_schemas": "src"}


@pytest.mark.services
def test_snapshot_24_00_is_null(src: dict[str, Any], tmp_path: Path) -> None:
    proc = run_tap(tmp_path, src, catalog=select(discover(tmp_path, src), "times"))
    assert proc.returncode == 0, proc.stderr.decode()
    got = {r["id"]: (r["t"], r["ta"]) for r in records(messages(proc.stdout))}
    assert got == {
        1: (None, [None, "12:00:00", None]),
        2: ("23:59:59.999999", ["00:00:00"]),
        3: (None, None),
    }


@pytest.mark.services
@pytest.mark.parametrize("target", ["target-postgres", "target-duckdb"])
def test_a_table_holding_24_00_loads(src: dict[str, Any], tmp_path: Path, target: str) -> None:
    cat = select(discover(tmp_path, src), "times")
    if target == "target-postgres":
        tcfg: dict[str, Any] = {**src, "default_target_schema": "dst"}
    else:
        tcfg = {"path": str(tmp_path / "out.duckdb")}
    _, done = run_pipe(tmp_path, src, cat, target, tcfg)
    assert done.returncode == 0, done.stderr.decode()
