"""tap-mysql LOG_BASED against the real MariaDB binlog (ROW, FULL): initial snapshot, then
inserts, updates, deletes, a column added mid-stream, an idle source, a purged binlog. The shared
MariaDB has no binlog, so each test gets a database on the session's throwaway ROW-binlog server
(`binlog_db`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import mariadb_server
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql, states

pytestmark = pytest.mark.services
binlog_db = mariadb_server.binlog_db  # the fixture: a database on the ROW-binlog server


def _snapshot(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any], str]:
    sql(
        binlog_db,
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(30,10), big BIGINT UNSIGNED,"
        " kind ENUM('a','b'), tags SET('x','y','z'), seen DATETIME(6), f FLOAT, flag TINYINT(1), dur TIME(3), bin VARBINARY(4), g POINT, j JSON)",
        "INSERT INTO items VALUES (1, 'one', 1.5, 1, 'a', 'x', '2024-01-01 00:00:00', 1.1, 1, '01:02:03.5', NULL, NULL, NULL),"
        " (2, 'two', 2.5, 2, 'b', 'y,z', NULL, NULL, 0, NULL, NULL, NULL, NULL)",
    )
    cat = select(discover(bin_path, tmp_path, binlog_db), "items", "LOG_BASED")
    config = {**binlog_db, "server_id": 424242}
    proc = run_tap(bin_path, tmp_path, config, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    assert sorted(r["id"] for r in records(msgs)) == [1, 2]
    schema = next(m for m in msgs if m["type"] == "SCHEMA")
    assert "_sdc_deleted_at" in schema["schema"]["properties"]
    return config, cat, states(msgs)[-1]


def test_log_based_insert_update_delete_and_new_column(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    config, cat, state = _snapshot(binlog_db, bin_path, tmp_path)
    sid = f"{binlog_db['database']}-items"
    bm = state["bookmarks"][sid]
    assert bm["log_file"] and bm["log_pos"] > 0 and bm["initial_full_table_complete"] is True
    version = bm["version"]

    sql(
        binlog_db,
        "INSERT INTO items VALUES (3, 'three', 12345678901234567890.0123456789, 18446744073709551615, 'b', 'x,z',"
        " '2024-02-03 04:05:06.123456', 0.1, 1, '-838:59:59.000', X'00FF', ST_GeomFromText('POINT(3 4)'),"
        " '{\"n\": 1.000000000000000000001}')",
        "UPDATE items SET name = 'ONE' WHERE id = 1",
        "DELETE FROM items WHERE id = 2",
        "ALTER TABLE items ADD COLUMN extra VARCHAR(10)",
        "INSERT INTO items (id, name, extra) VALUES (4, 'four', 'new col')",
    )
    proc = run_tap(bin_path, tmp_path, config, catalog=cat, state=state)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    recs = records(msgs)
    assert [r["id"] for r in recs] == [3, 1, 2, 4]
    ins, upd, dele, new = recs
    assert ins["name"] == "three" and ins["price"] == Decimal("12345678901234567890.0123456789")
    assert ins["big"] == 18446744073709551615 and ins["kind"] == "b" and ins["tags"] == "x,z"
    assert (
        ins["seen"] == "2024-02-03T04:05:06.123456+00:00"
        and str(ins["f"]) == "0.1"
        and ins["flag"] is True
    )
    assert ins["dur"] == "-838:59:59.000" and ins["_sdc_deleted_at"] is None
    assert ins["bin"] == "AP8=" and ins["g"] == "POINT(3 4)"
    assert ins["j"] == {"n": Decimal("1.000000000000000000001")}
    assert upd["name"] == "ONE" and upd["_sdc_deleted_at"] is None
    assert (
        dele["name"] == "two"
        and dele["_sdc_deleted_at"] is not None
        and dele["_sdc_deleted_at"].endswith("+00:00")
    )
    assert new["extra"] == "new col"
    assert all(m["version"] == version for m in msgs if m["type"] == "RECORD")
    # the new column's SCHEMA comes before the first record that has it, and after the others
    kinds = [(m["type"], m.get("record", {}).get("id")) for m in msgs]
    new_schema_at = next(
        i
        for i, m in enumerate(msgs)
        if m["type"] == "SCHEMA" and "extra" in m["schema"]["properties"]
    )
    assert kinds.index(("RECORD", 2)) < new_schema_at < kinds.index(("RECORD", 4))
    after = states(msgs)[-1]["bookmarks"][sid]
    assert (after["log_file"], after["log_pos"]) > (bm["log_file"], bm["log_pos"])

    # idle source: nothing changes in this table, but the binlog moves on; so does the bookmark
    sql(binlog_db, "CREATE TABLE other (id INT PRIMARY KEY)", "INSERT INTO other VALUES (1)")
    idle = run_tap(bin_path, tmp_path, config, catalog=cat, state=states(msgs)[-1])
    assert idle.returncode == 0, idle.stderr.decode()
    idle_msgs = messages(idle.stdout)
    assert records(idle_msgs) == []
    moved = states(idle_msgs)[-1]["bookmarks"][sid]
    assert (moved["log_file"], moved["log_pos"]) > (after["log_file"], after["log_pos"])


def test_purged_binlog_is_a_clear_error(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    config, cat, state = _snapshot(binlog_db, bin_path, tmp_path)
    sid = f"{binlog_db['database']}-items"
    state["bookmarks"][sid]["log_file"] = "mysql-bin.999998"
    proc = run_tap(bin_path, tmp_path, config, catalog=cat, state=state)
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert "the bookmarked binlog file mysql-bin.999998 is no longer on the server" in err
    assert "Traceback" not in err


def test_pipelinewise_state_shape_resumes_binlog(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """A PipelineWise/singer-io bookmark (log_file, log_pos, version only) goes straight to the binlog."""
    config, cat, state = _snapshot(binlog_db, bin_path, tmp_path)
    sid = f"{binlog_db['database']}-items"
    bm = state["bookmarks"][sid]
    pw_state = {
        "currently_syncing": None,
        "bookmarks": {
            sid: {"log_file": bm["log_file"], "log_pos": bm["log_pos"], "version": bm["version"]}
        },
    }
    sql(binlog_db, "UPDATE items SET name = 'changed' WHERE id = 2")
    proc = run_tap(bin_path, tmp_path, config, catalog=cat, state=pw_state)
    assert proc.returncode == 0, proc.stderr.decode()
    assert [(r["id"], r["name"]) for r in records(messages(proc.stdout))] == [(2, "changed")]


def test_mariadb_gtid(binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> None:
    """use_gtid on MariaDB: the snapshot bookmarks the GTID position, the binlog pass starts
    from it and moves it to the last committed transaction."""
    config, cat, state = _snapshot(binlog_db, bin_path, tmp_path)
    sid = f"{binlog_db['database']}-items"
    gtid_before = state["bookmarks"][sid]["gtid"]
    # a GTID-only bookmark, as a GTID-based run may keep
    only_gtid = {
        "bookmarks": {sid: {"gtid": gtid_before, "version": state["bookmarks"][sid]["version"]}}
    }
    sql(binlog_db, "INSERT INTO items (id, name) VALUES (9, 'gtid')")
    gtid_after = sql(binlog_db, "SELECT @@gtid_binlog_pos")[0][0]
    config = {**config, "use_gtid": True, "engine": "mariadb"}
    proc = run_tap(bin_path, tmp_path, config, catalog=cat, state=only_gtid)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    assert [(r["id"], r["name"]) for r in records(msgs)] == [(9, "gtid")]
    final = states(msgs)[-1]["bookmarks"][sid]
    assert final["gtid"] != gtid_before
    domain, server, seq = final["gtid"].split("-")
    ours = next(g for g in gtid_after.split(",") if g.startswith(f"{domain}-"))
    assert int(seq) >= int(ours.split("-")[2])  # at or past the insert
    assert "BINLOG_ROW_METADATA" not in proc.stderr.decode()


_ZERO_AND_TIME_ROWS = (
    "INSERT INTO zt VALUES"
    " (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '-00:00:01.25', '-838:59:58.999999', '-00:00:00.5', '-12:34:56.789'),"
    " (2, '2022-11-00', '2022-11-05 10:00:00.5', NULL, '01:02:03.45', '-00:00:00.000001', '-00:00:05', '00:00:00.001'),"
    " (3, '2022-11-05', '2022-11-00 10:00:00', '2024-01-02 03:04:05', NULL, '838:59:59', '-00:00:59.9', '-00:00:00.999')"
)


def _zero_time_table(binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> dict[str, Any]:
    sql(
        binlog_db,
        "CREATE TABLE zt (id INT PRIMARY KEY, d DATE, dt DATETIME(1), ts TIMESTAMP NULL,"
        " t2 TIME(2), t6 TIME(6), t1 TIME(1), t3 TIME(3))",
    )
    return discover(bin_path, tmp_path, binlog_db)


@pytest.mark.parametrize("mode", ["null", "error"])
def test_binlog_zero_dates_and_negative_times_match_the_snapshot(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path, mode: str
) -> None:
    """Rows read from the binlog equal the same rows read by a snapshot: zero and invalid dates
    (DATE, DATETIME, TIMESTAMP) become null and are counted in the warning, or stop the run with
    zero_dates "error"; negative TIME values with fractional seconds keep their value."""
    catalog = _zero_time_table(binlog_db, bin_path, tmp_path)
    config = {**binlog_db, "server_id": 434343, "zero_dates": mode}
    log_cat = select(catalog, "zt", "LOG_BASED")
    first = run_tap(bin_path, tmp_path, config, catalog=log_cat)
    assert first.returncode == 0, first.stderr.decode()
    sql(binlog_db, "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'", _ZERO_AND_TIME_ROWS)

    proc = run_tap(
        bin_path, tmp_path, config, catalog=log_cat, state=states(messages(first.stdout))[-1]
    )
    err = proc.stderr.decode()
    if mode == "error":
        assert proc.returncode == 1
        assert err.strip().splitlines()[-1] == (
            f"tap-mysql: error: stream '{binlog_db['database']}-zt': column 'd' has a zero or invalid "
            'date in the binlog; set zero_dates to "null" to load it as null'
        )
        assert "Traceback" not in err
        return
    assert proc.returncode == 0, err
    from_binlog = records(messages(proc.stdout))
    for r in from_binlog:
        assert r.pop("_sdc_deleted_at") is None

    full = run_tap(bin_path, tmp_path, config, catalog=select(catalog, "zt"))
    assert full.returncode == 0, full.stderr.decode()
    from_snapshot = records(messages(full.stdout))
    assert from_binlog == from_snapshot
    assert [(r["d"], r["dt"], r["ts"]) for r in from_binlog] == [
        (None, None, None),
        (None, "2022-11-05T10:00:00.500000+00:00", None),
        ("2022-11-05", None, "2024-01-02T03:04:05+00:00"),
    ]
    assert [(r["t2"], r["t6"], r["t1"], r["t3"]) for r in from_binlog] == [
        ("-00:00:01.25", "-838:59:58.999999", "-00:00:00.5", "-12:34:56.789"),
        ("01:02:03.45", "-00:00:00.000001", "-00:00:05.0", "00:00:00.001"),
        (None, "838:59:59.000000", "-00:00:59.9", "-00:00:00.999"),
    ]
    # d, dt, ts of row 1, d of row 2, dt of row 3: five, in both paths
    assert f"stream {binlog_db['database']}-zt: 5 zero or invalid dates became null" in err
    assert "5 zero or invalid dates became null" in full.stderr.decode()


@pytest.mark.parametrize(
    ("added", "detail"),
    [
        # the old events' VARCHAR would land in the new INT column: the types tell
        ("x INT AFTER id", "column 2 of the event is VARCHAR, the table's is 'x' int(11)"),
        # same types everywhere: the catalog (discovered before) tells which columns they had
        (
            "x VARCHAR(10) AFTER a",
            "the event has the 3 columns of the catalog (id, a, b), the table's first 3 are id, a, x",
        ),
        # FIRST shifts every column
        ("x VARCHAR(10) FIRST", "column 1 of the event is LONG, the table's is 'x' varchar(10)"),
    ],
)
def test_column_added_in_the_middle_with_older_events_unread_is_refused(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path, added: str, detail: str
) -> None:
    """Older binlog events are mapped by position; after `ADD COLUMN ... AFTER`/`FIRST` they
    would load values under the wrong names, so the run stops and asks for a resync."""
    sql(binlog_db, "CREATE TABLE m (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10))")
    cat = select(discover(bin_path, tmp_path, binlog_db), "m", "LOG_BASED")
    config = {**binlog_db, "server_id": 454545}
    first = run_tap(bin_path, tmp_path, config, catalog=cat)
    assert first.returncode == 0, first.stderr.decode()
    sql(
        binlog_db,
        "INSERT INTO m VALUES (1, 'a1', 'b1')",
        f"ALTER TABLE m ADD COLUMN {added}",
        "INSERT INTO m (id, a, b, x) VALUES (2, 'a2', 'b2', 7)",
    )
    proc = run_tap(
        bin_path, tmp_path, config, catalog=cat, state=states(messages(first.stdout))[-1]
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    sid = f"{binlog_db['database']}-m"
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"tap-mysql: error: stream '{sid}': a binlog event at ")
    assert f"does not match the table's columns as they are now ({detail}): " in line
    assert line.endswith(
        "a column was added or changed in the middle of the table while older binlog events were "
        f"unread. Resync the table: remove the stream's bookmark (bookmarks.{sid} in the state) "
        "to take a new initial snapshot"
    )
    assert records(messages(proc.stdout)) == []  # nothing was loaded under wrong names
    assert "Traceback" not in err
