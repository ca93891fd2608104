"""tap-mysql and the state it is given (issue 20, items 1 and 9): a state it cannot resume from
is one line naming the bad key and the fix, exit 2, before ANY message is written (a new table
version announced before a crash once made target-postgres delete a whole table); and no new
table version is ever announced before it has records (or, for a really empty FULL_TABLE table,
without `"empty": true`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql, states

pytestmark = pytest.mark.services


def _table(mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> dict[str, Any]:
    sql(
        mysql_db,
        "CREATE TABLE orders (id INT PRIMARY KEY, day DATE, updated_at DATETIME(6),"
        " amount DECIMAL(10,2), n BIGINT)",
        "INSERT INTO orders VALUES (1, '2024-01-01', '2024-01-01 10:00:00', 1.50, 7),"
        " (2, '2024-01-02', '2024-01-02 10:00:00', 2.50, 8)",
    )
    return discover(bin_path, tmp_path, mysql_db)


def _one_line(proc: Any) -> str:
    err = proc.stderr.decode()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bookmarks_as_a_list_writes_nothing_and_exits_2(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """The probe's case: `{"bookmarks": []}` on an INCREMENTAL stream. Before the fix the tap
    announced a new table version, then crashed on the bookmark."""
    cat = select(_table(mysql_db, bin_path, tmp_path), "orders", "INCREMENTAL", "updated_at")
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state={"bookmarks": []})
    assert proc.returncode == 2
    assert proc.stdout == b""  # no SCHEMA, no ACTIVATE_VERSION, nothing
    line = _one_line(proc)
    assert line.startswith("tap-mysql: error: ") and "bookmarks" in line


@pytest.mark.parametrize(
    ("method", "rkey", "bookmark", "expected"),
    [
        ("INCREMENTAL", "updated_at", "a string", 'bookmarks.{sid} is "a string", not an object'),
        ("FULL_TABLE", None, [1, 2], "bookmarks.{sid} is [1,2], not an object"),
        (
            "INCREMENTAL",
            "updated_at",
            {"replication_key": "updated_at", "replication_key_value": "yesterday"},
            'bookmarks.{sid}.replication_key_value is "yesterday", not a date-time (RFC 3339, '
            "e.g. 2024-01-31T12:00:00+00:00) for replication key 'updated_at'",
        ),
        (
            "INCREMENTAL",
            "day",
            {"replication_key": "day", "replication_key_value": "2024-13-45"},
            'bookmarks.{sid}.replication_key_value is "2024-13-45", not a date (RFC 3339, '
            "e.g. 2024-01-31) for replication key 'day'",
        ),
        (
            "INCREMENTAL",
            "n",
            {"replication_key": "n", "replication_key_value": "seven"},
            "bookmarks.{sid}.replication_key_value is \"seven\", not a whole number for replication key 'n'",
        ),
        (
            "INCREMENTAL",
            "amount",
            {"replication_key": "amount", "replication_key_value": {"x": 1}},
            "bookmarks.{sid}.replication_key_value is {\"x\":1}, not a number for replication key 'amount'",
        ),
        (
            "INCREMENTAL",
            "updated_at",
            {"version": "1700000000000"},
            'bookmarks.{sid}.version is "1700000000000", not a table version (a whole number, '
            "e.g. 1700000000000)",
        ),
        (
            "FULL_TABLE",
            None,
            {"version": True},
            "bookmarks.{sid}.version is true, not a table version",
        ),
        (
            "FULL_TABLE",
            None,
            {"version": 1, "max_pk_values": {"id": "three"}, "last_pk_fetched": {"id": 1}},
            'bookmarks.{sid}.max_pk_values is {"id":"three"}, not a whole number for primary-key column \'id\'',
        ),
        (
            "FULL_TABLE",
            None,
            {"version": 1, "max_pk_values": {"id": 3}, "last_pk_fetched": {"other": 1}},
            "bookmarks.{sid}.last_pk_fetched is {\"other\":1}, missing primary-key column 'id'",
        ),
        (
            "FULL_TABLE",
            None,
            {"version": 1, "max_pk_values": [3]},
            "bookmarks.{sid}.max_pk_values is [3], not an object of primary-key values",
        ),
        (
            "LOG_BASED",
            None,
            {"log_file": "mysql-bin.000001", "log_pos": "4"},
            'bookmarks.{sid}.log_pos is "4", not a binlog position (a whole number, e.g. 4)',
        ),
        (
            "LOG_BASED",
            None,
            {"log_file": 1, "log_pos": 4},
            "bookmarks.{sid}.log_file is 1, not a string",
        ),
    ],
)
def test_a_bookmark_tap_mysql_cannot_use_is_one_line_before_any_message(
    mysql_db: dict[str, Any],
    bin_path: Path,
    tmp_path: Path,
    method: str,
    rkey: str | None,
    bookmark: Any,
    expected: str,
) -> None:
    catalog = _table(mysql_db, bin_path, tmp_path)
    sid = f"{mysql_db['database']}-orders"
    cat = select(catalog, "orders", method, rkey)
    state = {"currently_syncing": None, "bookmarks": {sid: bookmark}}
    for _ in range(2):  # a user runs it again: the same line, still nothing written
        proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state=state)
        assert proc.returncode == 2, proc.stderr.decode()
        assert proc.stdout == b""
        line = _one_line(proc)
        assert line.startswith("tap-mysql: error: state: " + expected.replace("{sid}", sid)), line
        assert line.endswith(
            f"correct it, or remove bookmarks.{sid} from the state to sync the stream from the start"
        ), line


def test_a_bad_start_date_is_a_config_error(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    cat = select(_table(mysql_db, bin_path, tmp_path), "orders", "INCREMENTAL", "updated_at")
    proc = run_tap(bin_path, tmp_path, {**mysql_db, "start_date": "last week"}, catalog=cat)
    assert proc.returncode == 2 and proc.stdout == b""
    assert _one_line(proc) == (
        'tap-mysql: error: config key start_date: "last week" is not a date or date-time '
        "(RFC 3339, e.g. 2024-01-31 or 2024-01-31T00:00:00+00:00)"
    )


def test_a_bookmark_of_an_unselected_stream_is_left_alone(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    cat = select(_table(mysql_db, bin_path, tmp_path), "orders")
    state = {"bookmarks": {"elsewhere-other": {"version": "not ours to judge"}}}
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state=state)
    assert proc.returncode == 0, proc.stderr.decode()
    final = states(messages(proc.stdout))[-1]
    assert final["bookmarks"]["elsewhere-other"] == {"version": "not ours to judge"}


# ----------------------------------------------------------------------------- versions


def _kinds(msgs: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in msgs]


def test_full_table_announces_its_version_after_the_records(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    cat = select(_table(mysql_db, bin_path, tmp_path), "orders")
    state = None
    for _ in range(2):  # first run and a second full sync with the saved state
        proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state=state)
        assert proc.returncode == 0, proc.stderr.decode()
        msgs = messages(proc.stdout)
        kinds = _kinds(msgs)
        assert kinds.count("ACTIVATE_VERSION") == 1
        activate = msgs[kinds.index("ACTIVATE_VERSION")]
        assert kinds.index("ACTIVATE_VERSION") > max(
            i for i, k in enumerate(kinds) if k == "RECORD"
        )
        assert "empty" not in activate
        assert {m["version"] for m in msgs if m["type"] == "RECORD"} == {activate["version"]}
        state = states(msgs)[-1]


@pytest.mark.parametrize("keyed", [True, False])
def test_an_empty_full_table_says_empty(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, keyed: bool
) -> None:
    """A really empty table (keyed or keyless) is activated with `"empty": true`, so a target
    may empty its copy; it is the only ACTIVATE_VERSION."""
    key = " PRIMARY KEY" if keyed else ""
    sql(mysql_db, f"CREATE TABLE nothing (id INT{key}, v TEXT)")
    cat = select(discover(bin_path, tmp_path, mysql_db), "nothing")
    state = None
    for _ in range(2):
        proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state=state)
        assert proc.returncode == 0, proc.stderr.decode()
        msgs = messages(proc.stdout)
        activations = [m for m in msgs if m["type"] == "ACTIVATE_VERSION"]
        assert records(msgs) == []
        assert len(activations) == 1 and activations[0]["empty"] is True
        state = states(msgs)[-1]


def test_incremental_announces_a_new_version_only_with_records(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """An INCREMENTAL stream with nothing to send starts no version (no ACTIVATE_VERSION, no
    version in the state); the run that finds rows announces it right after the first ones,
    before any STATE that carries it; later runs keep it and never announce it again."""
    sql(mysql_db, "CREATE TABLE ev (id INT PRIMARY KEY, updated_at DATETIME(6))")
    cat = select(discover(bin_path, tmp_path, mysql_db), "ev", "INCREMENTAL", "updated_at")
    sid = f"{mysql_db['database']}-ev"

    empty = run_tap(bin_path, tmp_path, mysql_db, catalog=cat)
    assert empty.returncode == 0, empty.stderr.decode()
    msgs = messages(empty.stdout)
    assert "ACTIVATE_VERSION" not in _kinds(msgs)
    state = states(msgs)[-1]
    assert "version" not in state["bookmarks"][sid]

    sql(mysql_db, "INSERT INTO ev VALUES (1, '2024-01-01 00:00:00'), (2, '2024-01-02 00:00:00')")
    first = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state=state)
    assert first.returncode == 0, first.stderr.decode()
    msgs = messages(first.stdout)
    kinds = _kinds(msgs)
    at = kinds.index("ACTIVATE_VERSION")
    assert kinds.count("ACTIVATE_VERSION") == 1
    assert kinds.index("RECORD") < at
    version = msgs[at]["version"]
    for m in msgs[:at]:
        if m["type"] == "STATE":
            assert "version" not in m["value"]["bookmarks"].get(sid, {})
    assert states(msgs)[-1]["bookmarks"][sid]["version"] == version

    again = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state=states(msgs)[-1])
    assert again.returncode == 0, again.stderr.decode()
    msgs = messages(again.stdout)
    assert "ACTIVATE_VERSION" not in _kinds(msgs)
    assert {m["version"] for m in msgs if m["type"] == "RECORD"} == {version}
