"""LOG_BASED against a throwaway PostgreSQL 15 with wal_level=logical (its own port, socket and
data directory; the shared server is never reconfigured): the initial copy, inserts, updates,
deletes, TRUNCATE, added columns, a table added to a running set, TOASTed values, the slot never
confirmed past the destination's committed state, a resumed run after a kill, a server restart,
and `--doctor`. The destination is target-postgres on the shared server, compared row by row."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_arrays import ARRAYS_DDL, ARRAYS_EXPECTED, ARRAYS_ROWS, exact_record
from helpers.pg_logical import source_database, throwaway_server
from helpers.pg_server import ThrowawayPostgres
from helpers.pg_tap import (
    BIN,
    TYPES_DDL,
    TYPES_ROWS,
    destination_rows,
    discover,
    messages,
    records,
    run_tap,
    select,
    source_rows,
    source_types,
    sql,
    states,
    write_json,
)
from tapwell.singer.wire import loads

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def server() -> Iterator[ThrowawayPostgres]:
    yield from throwaway_server()


@pytest.fixture
def src(server: ThrowawayPostgres, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A fresh database on the logical server, with schema `src`; a tap config for it."""
    with source_database(server, "cdc_" + request.node.name.split("[")[0][-40:].lower()) as cfg:
        yield cfg


def cycle(
    tmp: Path,
    src: dict[str, Any],
    cat: dict[str, Any],
    dst: dict[str, Any],
    state: dict[str, Any] | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """tap-postgres | target-postgres once; the tap's messages and the state the target committed."""
    tap = run_tap(tmp, src, catalog=cat, state=state, timeout=120)
    assert tap.returncode == 0, tap.stderr.decode()
    target = subprocess.run(
        [str(BIN / "target-postgres"), "--config", str(write_json(tmp / "t.json", dst))],
        input=tap.stdout, capture_output=True, timeout=120,
    )  # fmt: skip
    assert target.returncode == 0, target.stderr.decode()
    saved = [loads(line) for line in target.stdout.splitlines() if line.strip()]
    return messages(tap.stdout), saved[-1] if saved else (state or {})


def confirmed(src: dict[str, Any]) -> int:
    from tapwell.taps.postgres.pgoutput import parse_lsn

    rows = sql(src, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots")
    return parse_lsn(rows[0][0])


def dst_config(pg_db: dict[str, Any]) -> dict[str, Any]:
    return {**pg_db, "default_target_schema": "dst", "hard_delete": True}


def assert_same(src: dict[str, Any], pg_db: dict[str, Any], table: str) -> None:
    expected = source_rows(src, table)
    got = destination_rows(pg_db, "dst", table, source_types(src, table))
    assert sorted(got) == sorted(expected)
    diffs = [
        (i, k, v, got[i].get(k))
        for i, row in expected.items()
        for k, v in row.items()
        if got[i].get(k) != v
    ]
    assert diffs == []


def test_initial_copy_then_changes_row_by_row(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    sql(src, TYPES_DDL, TYPES_ROWS)
    cat = select(discover(tmp_path, src), "all_types", method="LOG_BASED")
    dst = dst_config(pg_db)
    msgs, state = cycle(tmp_path, src, cat, dst, None)
    assert len(records(msgs)) == 3 and state["bookmarks"]["src-all_types"]["lsn"] > 0
    assert_same(src, pg_db, "all_types")
    sql(
        src,
        "INSERT INTO src.all_types SELECT id + 10, si, i, bi, n12, n, big, r, d, m, b, t, vc, c, ci, u, "
        "dt, tm, ttz, ts, tstz, iv, j, jb, by, ai, at, a2, e, dprice, ir, ip, mac, bits, vbits, x, h, pt, pg "
        "FROM src.all_types",
        "UPDATE src.all_types SET t = 'changed ✓', n = n + 1 WHERE id = 1",
        "DELETE FROM src.all_types WHERE id = 2",
    )
    before = confirmed(src)
    msgs, state2 = cycle(tmp_path, src, cat, dst, state)
    # the slot was confirmed only up to the state this run started from, never past it
    assert confirmed(src) <= state["bookmarks"]["src-all_types"]["lsn"] and confirmed(src) >= before
    assert state2["bookmarks"]["src-all_types"]["lsn"] > state["bookmarks"]["src-all_types"]["lsn"]
    assert_same(src, pg_db, "all_types")
    # a second run with the same saved state: the same changes again, merged on the key
    msgs, state3 = cycle(tmp_path, src, cat, dst, state)
    assert_same(src, pg_db, "all_types")
    msgs, _ = cycle(tmp_path, src, cat, dst, state3)  # and nothing new: no record
    assert records(msgs) == []
    assert confirmed(src) == state3["bookmarks"]["src-all_types"]["lsn"]


def test_arrays_from_the_wal_as_from_the_snapshot(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """The rows of helpers.pg_arrays inserted after the initial copy: the WAL's array texts give
    the same records as the snapshot (test_tap_postgres_arrays.py), and no new SCHEMA (a
    Relation message does not repeat the declared dimensions)."""
    sql(src, ARRAYS_DDL)
    cat = select(discover(tmp_path, src), "arrays", method="LOG_BASED")
    dst = dst_config(pg_db)
    msgs, state = cycle(tmp_path, src, cat, dst, None)
    assert records(msgs) == []
    first_schema = next(m["schema"] for m in msgs if m["type"] == "SCHEMA")
    sql(src, ARRAYS_ROWS)
    msgs, _ = cycle(tmp_path, src, cat, dst, state)
    got = {int(r["id"]): exact_record(r) for r in records(msgs, "arrays")}
    assert got == ARRAYS_EXPECTED
    assert [m["schema"] for m in msgs if m["type"] == "SCHEMA"] == [first_schema]


def test_truncate_add_column_and_new_table(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    sql(
        src,
        "CREATE TABLE src.a (id int PRIMARY KEY, v text)",
        "CREATE TABLE src.b (id int PRIMARY KEY, w numeric(10,3))",
        "INSERT INTO src.a VALUES (1, 'x'), (2, 'y')",
        "INSERT INTO src.b VALUES (1, 1.5)",
    )
    cat = select(discover(tmp_path, src), "a", method="LOG_BASED")
    dst = dst_config(pg_db)
    _, state = cycle(tmp_path, src, cat, dst, None)
    sql(
        src,
        "TRUNCATE src.a",
        "INSERT INTO src.a VALUES (3, 'z')",
        "ALTER TABLE src.a ADD COLUMN added jsonb",
        """INSERT INTO src.a VALUES (4, 'w', '{"k": 1.10}')""",
        "INSERT INTO src.b VALUES (2, 2.25)",  # b is not selected yet
    )
    msgs, state = cycle(tmp_path, src, cat, dst, state)
    kinds = [m["type"] for m in msgs]
    assert "ACTIVATE_VERSION" in kinds
    schemas = [m for m in msgs if m["type"] == "SCHEMA"]
    assert "added" in schemas[-1]["schema"]["properties"]
    assert_same(src, pg_db, "a")
    # b joins the running set: its own copy, while a keeps its position (no replay of a)
    cat2 = select(discover(tmp_path, src), "a", "b", method="LOG_BASED")
    sql(src, "INSERT INTO src.b VALUES (3, 3.125)", "UPDATE src.a SET v = 'W' WHERE id = 4")
    msgs, state = cycle(tmp_path, src, cat2, dst, state)
    assert [r["id"] for r in records(msgs, "a")] == [4]
    assert sorted(r["id"] for r in records(msgs, "b")) == [1, 2, 3]
    sql(src, "INSERT INTO src.b VALUES (4, 4)", "DELETE FROM src.b WHERE id = 1")
    msgs, state = cycle(tmp_path, src, cat2, dst, state)
    assert [r["id"] for r in records(msgs, "b")] == [4, 1] and records(msgs, "a") == []
    assert_same(src, pg_db, "a")
    assert_same(src, pg_db, "b")


def test_resume_from_a_mid_run_state(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """A kill after any STATE: the next run starts from the last state the target committed and
    the destination ends equal to the source."""
    sql(
        src,
        "CREATE TABLE src.k (id int PRIMARY KEY, v int)",
        "INSERT INTO src.k SELECT g, g FROM generate_series(1, 50) g",
    )
    cat = select(discover(tmp_path, src), "k", method="LOG_BASED")
    dst = dst_config(pg_db)
    _, state = cycle(tmp_path, src, cat, dst, None)
    for i in range(30):
        sql(
            src,
            f"UPDATE src.k SET v = v + 1 WHERE id = {i + 1}",
            f"INSERT INTO src.k VALUES ({100 + i}, {i})",
        )
    tap = run_tap(tmp_path, {**src, "state_every": 1}, catalog=cat, state=state, timeout=120)
    assert tap.returncode == 0, tap.stderr.decode()
    mid = [
        s
        for s in states(messages(tap.stdout))
        if s["bookmarks"]["src-k"]["lsn"] > state["bookmarks"]["src-k"]["lsn"]
    ]
    assert len(mid) >= 2
    # the target committed up to mid[0] and then everything died
    lines = tap.stdout.splitlines()
    cut = next(
        i for i, line in enumerate(lines) if b'"STATE"' in line and loads(line)["value"] == mid[0]
    )
    partial = b"\n".join(lines[: cut + 1]) + b"\n"
    done = subprocess.run(
        [str(BIN / "target-postgres"), "--config", str(write_json(tmp_path / "t.json", dst))],
        input=partial, capture_output=True, timeout=120,
    )  # fmt: skip
    saved = loads(done.stdout.splitlines()[-1])
    assert saved == mid[0]
    assert confirmed(src) <= saved["bookmarks"]["src-k"]["lsn"]
    _, final = cycle(tmp_path, src, cat, dst, saved)
    assert_same(src, pg_db, "k")


def test_toast_unchanged_values(src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path) -> None:
    big = "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400))"
    sql(
        src,
        "CREATE TABLE src.tt (id int PRIMARY KEY, v text, big text)",
        "CREATE TABLE src.tf (id int PRIMARY KEY, v text, big text)",
        "ALTER TABLE src.tf REPLICA IDENTITY FULL",
        f"INSERT INTO src.tt VALUES (1, 'a', {big})",
        f"INSERT INTO src.tf VALUES (1, 'a', {big})",
    )
    cat = select(discover(tmp_path, src), "tt", "tf", method="LOG_BASED")
    dst = dst_config(pg_db)
    _, state = cycle(tmp_path, src, cat, dst, None)
    sql(src, "UPDATE src.tt SET v = 'b'", "UPDATE src.tf SET v = 'b'")
    msgs, state = cycle(tmp_path, src, cat, dst, state)
    (tf,) = records(msgs, "tf")
    assert len(tf["big"]) == 12800  # from the old row (REPLICA IDENTITY FULL)
    (tt,) = records(msgs, "tt")
    assert len(tt["big"]) == 12800 and "_sdc_unchanged" not in tt  # read back by key
    assert_same(src, pg_db, "tt")
    assert_same(src, pg_db, "tf")


def test_slot_past_the_state_stops_with_the_resync_instruction(
    src: dict[str, Any], tmp_path: Path
) -> None:
    sql(src, "CREATE TABLE src.s (id int PRIMARY KEY)", "INSERT INTO src.s VALUES (1)")
    cat = select(discover(tmp_path, src), "s", method="LOG_BASED")
    first = run_tap(tmp_path, src, catalog=cat)
    assert first.returncode == 0, first.stderr.decode()
    state = states(messages(first.stdout))[-1]
    sql(src, "INSERT INTO src.s VALUES (2)")
    slot = sql(src, "SELECT slot_name FROM pg_replication_slots")[0][0]
    sql(src, f"SELECT pg_replication_slot_advance('{slot}', pg_current_wal_lsn())")
    proc = run_tap(tmp_path, src, catalog=cat, state=state)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "past the state's" in err and "to resync, remove the LOG_BASED streams' bookmarks" in err
    assert len(err.strip().splitlines()) == 1 and messages(proc.stdout) == []
    sql(src, f"SELECT pg_drop_replication_slot('{slot}')")
    proc = run_tap(tmp_path, src, catalog=cat, state=state)
    assert proc.returncode == 1 and b"is gone but the state streams from it" in proc.stderr


def test_server_restart_mid_stream_is_retriable(
    server: ThrowawayPostgres, src: dict[str, Any], tmp_path: Path
) -> None:
    sql(src, "CREATE TABLE src.r (id int PRIMARY KEY)")
    cat = select(discover(tmp_path, src), "r", method="LOG_BASED")
    first = run_tap(tmp_path, src, catalog=cat)
    assert first.returncode == 0, first.stderr.decode()
    state = states(messages(first.stdout))[-1]
    cfg = write_json(tmp_path / "cont.json", {**src, "continuous": True})
    proc = subprocess.Popen(
        [str(BIN / "tap-postgres"), "--config", str(cfg), "--catalog", str(write_json(tmp_path / "c.json", cat)),
         "--state", str(write_json(tmp_path / "s.json", state))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # streaming has begun (its first SCHEMA)
        server.restart()
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 75, err.decode()
    assert b"Traceback" not in err and len(err.decode().strip().splitlines()[-1]) > 0


def test_doctor(src: dict[str, Any], tmp_path: Path) -> None:
    sql(src, "CREATE TABLE src.d (a int)")
    cat = select(discover(tmp_path, src), "d", method="LOG_BASED")
    proc = run_tap(tmp_path, src, catalog=cat, args=("--doctor",))
    out = proc.stdout.decode()
    assert proc.returncode == 1, out + proc.stderr.decode()
    assert "ok: wal_level is logical" in out
    assert (
        'PROBLEM: publication \'tapwell\' does not cover src.d: run CREATE PUBLICATION "tapwell" FOR TABLE "src"."d"'
        in out
    )
    assert 'ALTER TABLE "src"."d" REPLICA IDENTITY FULL;' in out
    sql(
        src, "ALTER TABLE src.d REPLICA IDENTITY FULL", "CREATE PUBLICATION tapwell FOR TABLE src.d"
    )
    proc = run_tap(tmp_path, src, catalog=cat, args=("--doctor",))
    assert proc.returncode == 0, proc.stdout.decode()


def test_doctor_on_a_server_without_logical_wal(pg_db: dict[str, Any], tmp_path: Path) -> None:
    proc = run_tap(tmp_path, pg_db, args=("--doctor",))
    out = proc.stdout.decode()
    if "ok: wal_level is logical" in out:
        pytest.skip("the shared server has wal_level=logical")
    assert proc.returncode == 1
    assert "PROBLEM: wal_level is not logical: run ALTER SYSTEM SET wal_level = logical;" in out


def test_a_long_run_confirms_only_what_the_saved_state_covers(
    src: dict[str, Any], tmp_path: Path
) -> None:
    """`continuous`: the slot follows the state file the runner rewrites after each commit
    (TAPWELL_SAVED_STATE / ack_state_file), never the STATEs the tap has only written."""
    import time

    sql(src, "CREATE TABLE src.ack (id int PRIMARY KEY)")
    cat = select(discover(tmp_path, src), "ack", method="LOG_BASED")
    first = run_tap(tmp_path, src, catalog=cat)
    assert first.returncode == 0, first.stderr.decode()
    state = states(messages(first.stdout))[-1]
    start = state["bookmarks"]["src-ack"]["lsn"]
    saved = tmp_path / "saved.json"
    cfg = write_json(
        tmp_path / "cont.json", {**src, "continuous": True, "ack_state_file": str(saved)}
    )
    proc = subprocess.Popen(
        [str(BIN / "tap-postgres"), "--config", str(cfg), "--catalog", str(write_json(tmp_path / "c.json", cat)),
         "--state", str(write_json(tmp_path / "s.json", state))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        sql(src, "INSERT INTO src.ack VALUES (1)")
        later = None
        while later is None:  # the tap's STATE after the insert's commit
            line = proc.stdout.readline()
            assert line, proc.stderr.read().decode() if proc.stderr else ""
            msg = loads(line)
            if msg["type"] == "STATE" and msg["value"]["bookmarks"]["src-ack"]["lsn"] > start:
                later = msg["value"]
        time.sleep(3)
        assert confirmed(src) <= start  # written, not yet saved: not confirmed
        saved.write_bytes(write_json(tmp_path / "x.json", later).read_bytes())
        deadline = time.monotonic() + 30
        while confirmed(src) < later["bookmarks"]["src-ack"]["lsn"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert confirmed(src) == later["bookmarks"]["src-ack"]["lsn"]
    finally:
        proc.kill()
        proc.wait()


def test_altered_and_dropped_columns(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    sql(
        src,
        "CREATE TABLE src.alt (id int PRIMARY KEY, n numeric(6,2), gone text, t text)",
        "INSERT INTO src.alt VALUES (1, 1.25, 'x', '10')",
    )
    cat = select(discover(tmp_path, src), "alt", method="LOG_BASED")
    dst = dst_config(pg_db)
    _, state = cycle(tmp_path, src, cat, dst, None)
    sql(
        src,
        "ALTER TABLE src.alt ALTER COLUMN n TYPE numeric(20,5)",
        "INSERT INTO src.alt VALUES (2, 123456789012345.12345, 'y', '20')",
        "ALTER TABLE src.alt DROP COLUMN gone",
        "INSERT INTO src.alt VALUES (3, 3, '30')",
    )
    msgs, state = cycle(tmp_path, src, cat, dst, state)
    schemas = [m["schema"]["properties"] for m in msgs if m["type"] == "SCHEMA"]
    assert schemas[-1]["n"]["x-precision"] == 20  # widened before the record that needs it
    got = sql(pg_db, "SELECT id, n::text FROM dst.alt ORDER BY id")
    assert got == [(1, "1.25000"), (2, "123456789012345.12345"), (3, "3.00000")] or got == [
        (1, "1.25"), (2, "123456789012345.12345"), (3, "3"),
    ]  # fmt: skip
    sql(
        src,
        "ALTER TABLE src.alt ALTER COLUMN t TYPE integer USING t::integer",
        "INSERT INTO src.alt VALUES (4, 4, 40)",
    )
    proc = run_tap(tmp_path, src, catalog=cat, state=state)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "column 't' changed type to integer" in err and "resync the stream" in err
    assert "Traceback" not in err


def test_toasted_key_unchanged_in_updates_and_deletes(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """A text primary key of 3 KB+ stored out of line (TOASTed) and unchanged by an UPDATE is
    'unchanged' in the new row; with REPLICA IDENTITY DEFAULT the old key carries it, and the
    record (and a DELETE's) has the key, so the target merges on it."""
    # 4 KB: 2,000 'k's (they compress) and 2,048 hex digits (they do not): about 2.3 KB
    # compressed, past what a heap row keeps inline (moved out of line) but within a btree entry
    key = "repeat('k', 2000) || (SELECT string_agg(md5(i || '/' || {}), '') FROM generate_series(1, 64) i)"
    sql(
        src,
        "CREATE TABLE src.tk (k text PRIMARY KEY, v text)",
        f"INSERT INTO src.tk SELECT {key.format('g')}, 'v' || g FROM generate_series(1, 3) g",
    )
    assert sql(src, "SELECT count(*) FROM src.tk WHERE pg_column_size(k) < 2100")[0][0] == 0
    cat = select(discover(tmp_path, src), "tk", method="LOG_BASED")
    dst = dst_config(pg_db)
    _, state = cycle(tmp_path, src, cat, dst, None)
    k1, k2 = (sql(src, f"SELECT {key.format(g)}")[0][0] for g in (1, 2))
    sql(
        src,
        f"UPDATE src.tk SET v = 'changed' WHERE k = {key.format(1)}",
        f"DELETE FROM src.tk WHERE k = {key.format(2)}",
    )
    msgs, _ = cycle(tmp_path, src, cat, dst, state)
    updated, deleted = records(msgs, "tk")
    assert len(k1) > 3000 and updated["k"] == k1 and updated["v"] == "changed"
    assert "_sdc_unchanged" not in updated
    assert deleted["k"] == k2 and deleted["_sdc_deleted_at"]
    rows = "SELECT k, v FROM {}.tk ORDER BY k"
    assert sql(pg_db, rows.format("dst")) == sql(src, rows.format("src"))


def test_a_tap_killed_before_its_first_state_confirmed_nothing_past_the_saved_one(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """WAL the publication does not send (another table's rows) and then the server's keepalive
    with its WAL end: the tap must not confirm that end (psycopg2's replication did, before the
    first change, so a tap killed before its next STATE left the slot past the saved state and
    the next run stopped for a resync). After the kill, the next run gets every change."""
    import time

    sql(
        src,
        "CREATE TABLE src.kept (id int PRIMARY KEY, v text)",
        "CREATE TABLE src.other (id int)",
        "INSERT INTO src.kept SELECT g, 'v' || g FROM generate_series(1, 5) g",
    )
    cat = select(discover(tmp_path, src), "kept", method="LOG_BASED")
    dst = dst_config(pg_db)
    _, saved = cycle(tmp_path, src, cat, dst, None)
    start = saved["bookmarks"]["src-kept"]["lsn"]
    sql(src, "INSERT INTO src.other SELECT g FROM generate_series(1, 20000) g")  # not published
    end = sql(src, "SELECT pg_current_wal_lsn()::text")[0][0]
    cfg = write_json(tmp_path / "cont.json", {**src, "continuous": True})
    proc = subprocess.Popen(
        [str(BIN / "tap-postgres"), "--config", str(cfg), "--catalog", str(write_json(tmp_path / "c.json", cat)),
         "--state", str(write_json(tmp_path / "s.json", saved))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    walsender = "SELECT {} FROM pg_stat_replication WHERE application_name = 'tap-postgres'"
    try:
        deadline = time.monotonic() + 60  # a guard against a hang, not a speed assertion
        while sql(src, walsender.format(f"sent_lsn >= '{end}'::pg_lsn")) != [(True,)]:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            time.sleep(0.2)
        sent = sql(src, "SELECT now()")[0][0]  # the walsender has sent its keepalive by now
        while sql(src, walsender.format(f"reply_time > '{sent.isoformat()}'")) != [(True,)]:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            time.sleep(0.2)  # ... and the tap has answered since
        flushed = sql(src, walsender.format("flush_lsn::text"))[0][0]
    finally:
        proc.kill()
        proc.wait()
    out = messages(proc.stdout.read() if proc.stdout else b"")
    assert [s["bookmarks"]["src-kept"]["lsn"] for s in states(out)] == [start]
    from tapwell.taps.postgres.pgoutput import parse_lsn

    assert flushed is None or parse_lsn(flushed) <= start
    assert confirmed(src) <= start
    sql(
        src,
        "INSERT INTO src.kept VALUES (6, 'six')",
        "UPDATE src.kept SET v = 'changed' WHERE id = 1",
        "DELETE FROM src.kept WHERE id = 2",
    )
    msgs, after = cycle(tmp_path, src, cat, dst, saved)
    assert len(records(msgs, "kept")) == 3 and after["bookmarks"]["src-kept"]["lsn"] > start
    assert_same(src, pg_db, "kept")


def test_log_based_sends_the_catalogs_type_through_changes(
    src: dict[str, Any], pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """A catalog type the values fit (number for an integer column, a jsonb column narrowed to
    object or array) is the SCHEMA of the initial copy and of the changes after it, also after
    the column is widened (integer to bigint): the Relation message keeps the catalog's type.
    A type they do not fit is refused before any message, as on the other methods."""
    sql(
        src,
        "CREATE TABLE src.ct (id int PRIMARY KEY, v int, doc jsonb)",
        """INSERT INTO src.ct VALUES (1, 12, '{"k": 1.50}')""",
    )
    cat = select(discover(tmp_path, src), "ct", method="LOG_BASED")
    props = next(s for s in cat["streams"] if s["stream"] == "ct")["schema"]["properties"]
    props["v"] = {"type": ["null", "number"]}
    props["doc"] = {"type": ["null", "object", "array"]}
    dst = dst_config(pg_db)
    msgs, state = cycle(tmp_path, src, cat, dst, None)
    sql(
        src,
        """INSERT INTO src.ct VALUES (2, -7, '[1, "é🎉"]')""",
        "ALTER TABLE src.ct ALTER COLUMN v TYPE bigint",
        "INSERT INTO src.ct VALUES (3, 9223372036854775807, NULL)",
        "DELETE FROM src.ct WHERE id = 1",
    )
    more, state = cycle(tmp_path, src, cat, dst, state)
    schemas = [m["schema"]["properties"] for m in msgs + more if m["type"] == "SCHEMA"]
    assert len(schemas) >= 2
    for p in schemas:
        assert p["v"]["type"] == ["null", "number"] and p["doc"] == {
            "type": ["null", "object", "array"]
        }
    assert [(r["id"], r.get("v", "-"), r.get("doc", "-")) for r in records(more, "ct")] == [
        (2, -7, [1, "é🎉"]),
        (3, 9223372036854775807, None),
        (1, "-", "-"),
    ]  # fmt: skip  (a delete's record: its key and _sdc_deleted_at)
    props["doc"] = {"type": ["null", "integer"]}
    proc = run_tap(tmp_path, src, catalog=cat, state=state)
    assert proc.returncode == 2 and proc.stdout == b""
    assert "column 'doc': the catalog types it" in proc.stderr.decode()
