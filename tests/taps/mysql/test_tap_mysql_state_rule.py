"""tap-mysql reads a date-time or date from the state or `start_date` by the record check's rule
(tapwell.singer.schema.parse_datetime / parse_date), not by Python's fromisoformat, which also
reads `+0530`, `T00`, `20240108T040506`, `2024-W02-1`: such a value was compared with the column
as if it were a date-time; now it is the usual one line naming the key and the fix, exit 2,
nothing on stdout. The forms the tap writes itself resume as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql

pytestmark = pytest.mark.services

OFF_RULE = ["2024-01-02T10:00:00+0530", "2024-01-02T10", "20240102T100000", "2024-W01-2"]


def _catalog(mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, key: str) -> Any:
    sql(
        mysql_db,
        "CREATE TABLE orders (id INT PRIMARY KEY, day DATE, updated_at DATETIME(6))",
        "INSERT INTO orders VALUES (1, '2024-01-01', '2024-01-01 10:00:00'),"
        " (2, '2024-01-02', '2024-01-02 10:00:00')",
    )
    return select(discover(bin_path, tmp_path, mysql_db), "orders", "INCREMENTAL", key)


def _one_line(proc: Any) -> str:
    err = proc.stderr.decode()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _from_bookmark(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, key: str, value: str
) -> tuple[str, Any]:
    """(the stream's id, the tap's run) resuming from a bookmark of `key` at `value`."""
    cat = _catalog(mysql_db, bin_path, tmp_path, key)
    sid = cat["streams"][0]["tap_stream_id"]
    book = {"replication_key": key, "replication_key_value": value}
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state={"bookmarks": {sid: book}})
    return sid, proc


@pytest.mark.parametrize(
    ("key", "value"), [("updated_at", v) for v in OFF_RULE] + [("day", v) for v in OFF_RULE]
)
def test_a_bookmark_off_the_rule_is_refused(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, key: str, value: str
) -> None:
    sid, proc = _from_bookmark(mysql_db, bin_path, tmp_path, key, value)
    assert proc.returncode == 2, proc.stderr.decode()
    assert proc.stdout == b""
    what = "date-time" if key == "updated_at" else "date"
    assert _one_line(proc).startswith(
        f'tap-mysql: error: state: bookmarks.{sid}.replication_key_value is "{value}", not a {what}'
    )


@pytest.mark.parametrize("value", OFF_RULE)
def test_a_start_date_off_the_rule_is_a_config_error(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, value: str
) -> None:
    cat = _catalog(mysql_db, bin_path, tmp_path, "updated_at")
    proc = run_tap(bin_path, tmp_path, {**mysql_db, "start_date": value}, catalog=cat)
    assert proc.returncode == 2 and proc.stdout == b""
    assert _one_line(proc).startswith(f'tap-mysql: error: config key start_date: "{value}" is not')


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("updated_at", "2024-01-02T10:00:00+00:00"),
        ("updated_at", "2024-01-02 10:00:00"),
        ("updated_at", "2024-01-02T15:30:00+05:30"),
        ("updated_at", "2024-01-02T10:00:00.000000Z"),
        ("updated_at", "2024-01-02"),
        ("day", "2024-01-02"),
        ("day", "2024-01-02T00:00:00+00:00"),
    ],
)
def test_the_forms_of_the_rule_resume_as_before(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, key: str, value: str
) -> None:
    _, proc = _from_bookmark(mysql_db, bin_path, tmp_path, key, value)
    assert proc.returncode == 0, proc.stderr.decode()
    assert [r["id"] for r in records(messages(proc.stdout))] == [2]
