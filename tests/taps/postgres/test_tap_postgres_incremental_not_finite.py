"""INCREMENTAL on a key holding a value the record gives as null (timestamptz 'infinity', numeric
'NaN', float 'Infinity', date 'infinity', time '24:00:00'): the bookmark stays at the last value
a later row can pass. Before, the bookmark became "infinity" (or "NaN", or "24:00:00"), sorted
after every real value, so every row written after it was never synced again (exit 0, no word)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_tap import discover, messages, records, run_tap, select, sql, states

pytestmark = pytest.mark.services

CASES = {
    "timestamptz": ("'2024-01-01 00:00:00+00'", "'infinity'", "'2025-01-01 00:00:00+00'"),
    "date": ("'2024-01-01'", "'infinity'", "'2025-01-01'"),
    "numeric": ("1.5", "'NaN'", "2.5"),
    "float8": ("1.5", "'Infinity'", "2.5"),
    "time": ("'10:00:00'", "'24:00:00'", "'11:00:00'"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_new_row_after_a_non_finite_key_is_synced(
    pg_db: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    first, odd, later = CASES[kind]
    sql(
        pg_db,
        "CREATE SCHEMA src",
        f"CREATE TABLE src.t (id int PRIMARY KEY, k {kind})",
        f"INSERT INTO src.t VALUES (1, {first}), (2, {odd}), (3, NULL)",
    )
    src = {**pg_db, "filter_schemas": "src"}
    cat = select(discover(tmp_path, src), "t", method="INCREMENTAL", key="k")
    proc = run_tap(tmp_path, src, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    assert sorted(r["id"] for r in records(msgs)) == [1, 2, 3]
    state = states(msgs)[-1]
    sql(pg_db, f"INSERT INTO src.t VALUES (4, {later})")
    again = run_tap(tmp_path, src, catalog=cat, state=state)
    assert again.returncode == 0, again.stderr.decode()
    got = sorted(r["id"] for r in records(messages(again.stdout)))
    assert 4 in got and 1 in got  # the bookmark stayed at row 1's value (>=: row 1 again)


@pytest.mark.parametrize(
    ("kind", "value"),
    [("timestamptz", "infinity"), ("numeric", "NaN"), ("date", "infinity"), ("time", "24:00:00")],
)
def test_a_state_bookmarked_past_every_row_is_refused(
    pg_db: dict[str, Any], tmp_path: Path, kind: str, value: str
) -> None:
    """A state saved by the old tap (bookmark "infinity") would sync nothing new forever: one
    line naming the bookmark and the fix, exit 2, nothing on stdout."""
    sql(
        pg_db,
        "CREATE SCHEMA src",
        f"CREATE TABLE src.t (id int PRIMARY KEY, k {kind})",
        "INSERT INTO src.t VALUES (1, NULL)",
    )
    src = {**pg_db, "filter_schemas": "src"}
    cat = select(discover(tmp_path, src), "t", method="INCREMENTAL", key="k")
    mark = {"replication_key": "k", "replication_key_value": value}
    proc = run_tap(tmp_path, src, catalog=cat, state={"bookmarks": {"src-t": mark}})
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert f'state: bookmarks.src-t.replication_key_value is "{value}", a value no later row' in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
