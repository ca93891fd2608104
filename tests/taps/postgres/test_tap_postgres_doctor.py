"""`tap-postgres --doctor`, check by check, against throwaway clusters (the shared server is never
reconfigured): each problem is one line with the SQL that fixes it, and running that SQL makes
the line an `ok:`. A partitioned table's publication needs publish_via_partition_root, else its
changes arrive under the partitions' names; a LOG_BASED sync sets it when it may."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_logical import source_database, throwaway_server
from helpers.pg_server import ThrowawayPostgres
from helpers.pg_tap import discover, messages, records, run_tap, select, sql, states
from tapwell.taps.postgres.config import PgConfig
from tapwell.taps.postgres.pgoutput import lsn_text, parse_lsn
from tapwell.taps.postgres.replication import SlotInfo, slot_problems

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def server() -> Iterator[ThrowawayPostgres]:
    yield from throwaway_server()


@pytest.fixture
def src(server: ThrowawayPostgres, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A fresh database with schema `src` on the logical server; a tap config for it."""
    with source_database(server, "doc_" + request.node.name.split("[")[0][-40:].lower()) as cfg:
        yield cfg


def doctor(
    tmp: Path, cfg: dict[str, Any], cat: dict[str, Any] | None, state: dict[str, Any] | None = None
) -> tuple[int, list[str]]:
    proc = run_tap(tmp, cfg, catalog=cat, state=state, args=("--doctor",))
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc.returncode, proc.stdout.decode().splitlines()


def problems(lines: list[str]) -> list[str]:
    return [line.removeprefix("PROBLEM: ") for line in lines if line.startswith("PROBLEM: ")]


def fix(cfg: dict[str, Any], line: str) -> None:
    """Run the SQL a PROBLEM line gives."""
    sql(cfg, line.split(": run ", 1)[1])


def test_partitioned_table_needs_publish_via_partition_root(
    src: dict[str, Any], tmp_path: Path
) -> None:
    sql(
        src,
        "CREATE TABLE src.parted (id int, k text, v text, PRIMARY KEY (id, k)) PARTITION BY LIST (k)",
        "CREATE TABLE src.parted_a PARTITION OF src.parted FOR VALUES IN ('a')",
        "CREATE TABLE src.parted_b PARTITION OF src.parted FOR VALUES IN ('b')",
        "CREATE PUBLICATION tapwell FOR TABLE src.parted",  # publish_via_partition_root off
    )
    cat = select(discover(tmp_path, src), "parted", method="LOG_BASED")
    code, lines = doctor(tmp_path, src, cat)
    assert code == 1 and problems(lines) == [
        "publication 'tapwell' would send the changes of src.parted under its partitions' names "
        '(publish_via_partition_root is off): run ALTER PUBLICATION "tapwell" SET '
        "(publish_via_partition_root = true);"
    ], lines
    fix(src, problems(lines)[0])
    code, lines = doctor(tmp_path, src, cat)
    assert code == 0, lines
    assert "ok: publication 'tapwell' covers the selected tables" in lines


def test_a_sync_sets_publish_via_partition_root_and_reads_partitions_as_the_root(
    src: dict[str, Any], tmp_path: Path
) -> None:
    sql(
        src,
        "CREATE TABLE src.parted (id int, k text, PRIMARY KEY (id, k)) PARTITION BY LIST (k)",
        "CREATE TABLE src.parted_a PARTITION OF src.parted FOR VALUES IN ('a')",
        "CREATE PUBLICATION tapwell FOR TABLE src.parted_a",  # only a partition is a member
        "INSERT INTO src.parted VALUES (1, 'a')",
    )
    cat = select(discover(tmp_path, src), "parted", method="LOG_BASED")
    code, lines = doctor(tmp_path, src, cat)
    assert code == 1 and problems(lines) == [
        "publication 'tapwell' does not cover src.parted: run ALTER PUBLICATION \"tapwell\" ADD "
        'TABLE "src"."parted";',
        "publication 'tapwell' would send the changes of src.parted under its partitions' names "
        '(publish_via_partition_root is off): run ALTER PUBLICATION "tapwell" SET '
        "(publish_via_partition_root = true);",
    ], lines
    first = run_tap(tmp_path, src, catalog=cat)
    assert first.returncode == 0, first.stderr.decode()
    assert sql(src, "SELECT pubviaroot FROM pg_publication") == [(True,)]
    assert doctor(tmp_path, src, cat)[0] == 0
    sql(src, "INSERT INTO src.parted VALUES (2, 'a')")
    second = run_tap(tmp_path, src, catalog=cat, state=states(messages(first.stdout))[-1])
    assert second.returncode == 0, second.stderr.decode()
    assert [r["id"] for r in records(messages(second.stdout), "parted")] == [2]


def test_replication_privilege_and_replica_identity(src: dict[str, Any], tmp_path: Path) -> None:
    sql(
        src,
        "CREATE ROLE plain LOGIN",
        "GRANT USAGE ON SCHEMA src TO plain",
        "CREATE TABLE src.keyed (id int PRIMARY KEY) ",
        "ALTER TABLE src.keyed REPLICA IDENTITY NOTHING",
        "GRANT SELECT ON src.keyed TO plain",
        "CREATE PUBLICATION tapwell FOR TABLE src.keyed",
    )
    try:
        plain = {**src, "user": "plain"}
        cat = select(discover(tmp_path, plain), "keyed", method="LOG_BASED")
        code, lines = doctor(tmp_path, plain, cat)
        assert code == 1 and problems(lines) == [
            "user 'plain' may not stream changes: run ALTER ROLE \"plain\" REPLICATION; "
            "(on RDS: GRANT rds_replication TO ...)",
            "table src.keyed has no primary key or replica identity: its updates and deletes "
            'cannot be streamed; run ALTER TABLE "src"."keyed" REPLICA IDENTITY FULL;',
        ], lines
        sql(
            src,
            'ALTER ROLE "plain" REPLICATION',
            'ALTER TABLE "src"."keyed" REPLICA IDENTITY FULL;',
        )
        code, lines = doctor(tmp_path, plain, cat)
        assert code == 0 and problems(lines) == [], lines
    finally:
        sql(src, "DROP OWNED BY plain", "DROP ROLE plain")


def test_slot_of_another_plugin_gone_or_past_the_state(src: dict[str, Any], tmp_path: Path) -> None:
    sql(
        src, "CREATE TABLE src.t (id int PRIMARY KEY)", "CREATE PUBLICATION tapwell FOR TABLE src.t"
    )
    cat = select(discover(tmp_path, src), "t", method="LOG_BASED")
    slot = PgConfig(**{k: v for k, v in src.items() if k != "filter_schemas"}).replication_slot
    # the state streams from a slot that is not there
    state = {"bookmarks": {"src-t": {"lsn": 1000, "version": 1}}}
    code, lines = doctor(tmp_path, src, cat, state)
    assert code == 1 and problems(lines) == [
        f"replication slot '{slot}' is gone but the state streams from it; to resync, remove the "
        "LOG_BASED streams' bookmarks from the state (each table is copied again), and drop the "
        f"slot if it is lost: SELECT pg_drop_replication_slot('{slot}');"
    ], lines
    # a slot of another plugin under our name
    sql(src, f"SELECT pg_create_logical_replication_slot('{slot}', 'test_decoding')")
    code, lines = doctor(tmp_path, src, cat)
    assert code == 1 and problems(lines) == [
        f"replication slot '{slot}' belongs to test_decoding on database '{src['dbname']}'; set "
        f"replication_slot to another name, or drop it: SELECT pg_drop_replication_slot('{slot}');"
    ], lines
    sql(src, f"SELECT pg_drop_replication_slot('{slot}')")
    # ours, confirmed past the state: the changes in between cannot be read again
    sql(src, f"SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')")
    start = parse_lsn(sql(src, f"SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '{slot}'")[0][0])  # fmt: skip
    sql(src, "INSERT INTO src.t SELECT generate_series(1, 100)")
    sql(src, f"SELECT pg_replication_slot_advance('{slot}', pg_current_wal_lsn())")
    flushed = sql(src, f"SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '{slot}'")[0][0]  # fmt: skip
    state = {"bookmarks": {"src-t": {"lsn": start, "version": 1}}}
    code, lines = doctor(tmp_path, src, cat, state)
    assert code == 1 and problems(lines) == [
        f"replication slot '{slot}' has confirmed WAL up to {flushed}, past the state's "
        f"{lsn_text(start)}: the changes in between cannot be read again; to resync, remove the "
        "LOG_BASED streams' bookmarks from the state (each table is copied again), and drop the "
        f"slot if it is lost: SELECT pg_drop_replication_slot('{slot}');"
    ], lines
    state["bookmarks"]["src-t"]["lsn"] = parse_lsn(flushed)
    code, lines = doctor(tmp_path, src, cat, state)
    assert code == 0, lines
    assert any(line.startswith(f"ok: replication slot '{slot}': confirmed {flushed}, wal_status ") for line in lines)  # fmt: skip


def test_a_lost_slot_is_one_line_with_the_resync() -> None:
    cfg = PgConfig(user="u", dbname="shop")
    lost = SlotInfo("tapwell_shop", "pgoutput", "shop", 100, "lost", None)
    assert slot_problems(lost, cfg, 100) == [
        "replication slot 'tapwell_shop' lost WAL it needed (wal_status lost); to resync, remove "
        "the LOG_BASED streams' bookmarks from the state (each table is copied again), and drop "
        "the slot if it is lost: SELECT pg_drop_replication_slot('tapwell_shop');"
    ]


def test_wal_level_not_logical(tmp_path: Path) -> None:
    for server in throwaway_server({"wal_level": "replica"}):
        code, lines = doctor(tmp_path, {**server.config, "dbname": "postgres"}, None)
        assert code == 1 and problems(lines) == [
            "wal_level is not logical: run ALTER SYSTEM SET wal_level = logical; then restart "
            "PostgreSQL (on a managed service, set the logical replication parameter)"
        ], lines
