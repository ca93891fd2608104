"""tap-postgres against the real PostgreSQL: discovery and its metadata, every type loaded row by
row into target-postgres (twice), FULL_TABLE resume from the last key, INCREMENTAL, keyless
tables, views, and the error lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_tap import (
    TYPES_DDL,
    TYPES_ROWS,
    destination_rows,
    discover,
    messages,
    records,
    root_metadata,
    run_pipe,
    run_tap,
    select,
    source_rows,
    source_types,
    sql,
    states,
    stream_entry,
)

pytestmark = pytest.mark.services


@pytest.fixture
def src(pg_db: dict[str, Any]) -> dict[str, Any]:
    """The test database with schema `src` holding the table of every type; a tap config."""
    sql(pg_db, "CREATE SCHEMA src", TYPES_DDL, TYPES_ROWS)
    return {**pg_db, "filter_schemas": "src"}


def test_discovery_metadata_and_types(src: dict[str, Any], tmp_path: Path) -> None:
    sql(
        src,
        "CREATE VIEW src.v AS SELECT id, t FROM src.all_types",
        "CREATE MATERIALIZED VIEW src.mv AS SELECT id FROM src.all_types",
        "CREATE TABLE src.nokey (a int, b text)",
        "CREATE TABLE src.parted (id int, k text, PRIMARY KEY (id, k)) PARTITION BY LIST (k)",
        "CREATE TABLE src.parted_a PARTITION OF src.parted FOR VALUES IN ('a')",
    )
    cat = discover(tmp_path, src)
    assert sorted(s["tap_stream_id"] for s in cat["streams"]) == [
        "src-all_types", "src-mv", "src-nokey", "src-parted", "src-v",
    ]  # fmt: skip
    entry = stream_entry(cat, "all_types")
    md = root_metadata(entry)
    assert md["table-key-properties"] == ["id"] and md["schema-name"] == "src"
    assert md["is-view"] is False and "row-count" in md and md["selected-by-default"] is False
    assert {"id", "ts", "tstz", "n12", "t"} <= set(md["valid-replication-keys"])
    assert "LOG_BASED" in md["replication-methods"]
    view = root_metadata(stream_entry(cat, "v"))
    assert view["is-view"] is True and view["replication-methods"] == ["FULL_TABLE", "INCREMENTAL"]
    assert root_metadata(stream_entry(cat, "parted"))["table-kind"] == "partitioned table"
    p = entry["schema"]["properties"]
    assert p["bi"] == {
        "type": ["null", "integer"], "minimum": -(2**63), "maximum": 2**63 - 1,
    }  # fmt: skip
    assert p["n12"]["x-precision"] == 12 and p["n12"]["x-scale"] == 2
    assert p["dprice"]["x-precision"] == 12  # a domain as its base type
    assert p["n"] == {"type": ["null", "number"]}
    assert p["tstz"]["format"] == "date-time" and p["dt"]["format"] == "date"
    assert p["j"]["type"] == ["null", "object", "array", "string", "number", "boolean"]
    assert p["e"]["enum"] == ["sad", "ok", "happy", None]
    assert p["ai"]["type"] == ["null", "array"] and p["vc"]["maxLength"] == 20
    assert p["h"]["type"] == ["null", "object"]
    col_md = {tuple(i["breadcrumb"]): i["metadata"] for i in entry["metadata"]}
    assert col_md[("properties", "n12")]["sql-datatype"] == "numeric(12,2)"
    assert col_md[("properties", "e")]["sql-datatype"] == "src.mood"
    assert col_md[("properties", "id")]["inclusion"] == "automatic"
    assert col_md[("properties", "gen")]["generated"] is True


def test_values_exact(src: dict[str, Any], tmp_path: Path) -> None:
    cat = select(discover(tmp_path, src), "all_types")
    proc = run_tap(tmp_path, src, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    assert all(line.startswith(b"{") for line in proc.stdout.splitlines())  # json kept on one line
    rows = {r["id"]: r for r in records(messages(proc.stdout))}
    r = rows[1]
    assert str(r["n"]) == "123456789012345678901234567890.123456789012345678901234567890"
    assert str(r["n12"]) == "-9999999999.99" and str(r["r"]) == "1.1" and str(r["d"]) == "0.1"
    assert str(r["m"]) == "1234.56" and r["bi"] == -(2**63)
    assert r["t"] == 'emoji 😀 tab\t nl\n "q" \\ back' and r["vc"] == "" and r["c"] == "ab "
    assert r["ts"] == "2024-01-31T10:00:00.123456+00:00"
    assert r["tstz"] == "2024-01-31T08:00:00.000001+00:00"
    assert r["ttz"] == "10:00:00+02" and r["tm"] == "23:59:59.999999"
    assert r["iv"] == "P1Y2M3DT4H5M6.5S"
    assert r["j"] == {"a": [1, 2.5, "x"], "n": r["j"]["n"]}
    assert str(r["j"]["n"]) == "12345678901234567890.123456789"
    assert (
        r["jb"] == "just a string" and rows[2]["jb"] is None and rows[3]["jb"] == [1, {"x": True}]
    )
    assert r["by"] == "\\x00ff01"
    assert r["ai"] == [1, 2, None] and r["at"] == ["a b", 'c"d', None, ""]
    assert r["a2"] == [[1, 2], [3, 4]]
    assert r["e"] == "happy" and r["h"] == {"a": "1", "b c": None} and r["gen"] == -1073741824
    assert rows[2]["tstz"] == "0001-01-01T00:00:00+00:00"
    assert rows[3]["tstz"] == "9999-12-31T23:59:59.999999+00:00"


def test_not_finite_and_out_of_range_become_null(src: dict[str, Any], tmp_path: Path) -> None:
    sql(
        src,
        "CREATE TABLE src.edges (id int PRIMARY KEY, n numeric, d float8, r real, dt date, "
        "ts timestamp, tz timestamptz)",
        "INSERT INTO src.edges VALUES (1, 'NaN', 'NaN', 'Infinity', '10000-01-01', "
        "'0044-03-15 BC', 'infinity'), (2, 'Infinity', '-Infinity', '-Infinity', '0044-03-15 BC', "
        "'infinity', '-infinity')",
    )
    cat = select(discover(tmp_path, src), "edges")
    proc = run_tap(tmp_path, src, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    for rec in records(messages(proc.stdout)):
        assert [v for k, v in rec.items() if k != "id"] == [None] * 6


@pytest.mark.parametrize("target", ["target-postgres", "target-duckdb"])
def test_every_type_row_by_row_twice(src: dict[str, Any], tmp_path: Path, target: str) -> None:
    cat = select(discover(tmp_path, src), "all_types")
    if target == "target-postgres":
        tcfg: dict[str, Any] = {**src, "default_target_schema": "dst"}
    else:
        tcfg = {"path": str(tmp_path / "out.duckdb")}
    for _ in range(2):
        _, done = run_pipe(tmp_path, src, cat, target, tcfg)
        assert done.returncode == 0, done.stderr.decode()
    expected = source_rows(src, "all_types")
    if target == "target-postgres":
        got = destination_rows(src, "dst", "all_types", source_types(src, "all_types"))
        diffs = [
            (i, k, v, got[i].get(k))
            for i, row in expected.items()
            for k, v in row.items()
            if got[i].get(k) != v
        ]
        assert diffs == []
    else:
        import duckdb

        con = duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True)
        n = con.execute("SELECT count(*), count(DISTINCT id) FROM all_types").fetchone()
        assert n == (3, 3)
        t, by, ts = con.execute(
            'SELECT t, "by", ts::VARCHAR FROM all_types WHERE id = 1'
        ).fetchone()
        assert t == expected[1]["t"] and by == expected[1]["by"]
        assert ts.startswith("2024-01-31 10:00:00.123456")


def test_full_table_resumes_after_the_last_key(src: dict[str, Any], tmp_path: Path) -> None:
    sql(
        src,
        "CREATE TABLE src.big (a int, b text, v text, PRIMARY KEY (a, b))",
        "INSERT INTO src.big SELECT g / 10, (g % 10)::text, 'v' || g FROM generate_series(0, 99) g",
    )
    cat = select(discover(tmp_path, src), "big")
    cfg = {**src, "state_every": 7, "batch_rows": 5}
    full = run_tap(tmp_path, cfg, catalog=cat)
    assert full.returncode == 0, full.stderr.decode()
    msgs = messages(full.stdout)
    all_rows = records(msgs)
    assert len(all_rows) == 100
    # a STATE in the middle: as if the run was killed there and the target committed up to it
    mid = next(s for s in states(msgs) if "last_pk_fetched" in s["bookmarks"]["src-big"])
    last = mid["bookmarks"]["src-big"]["last_pk_fetched"]
    sql(src, "INSERT INTO src.big VALUES (1000, '0', 'new')")  # after max_pk: not in this version
    resumed = run_tap(tmp_path, cfg, catalog=cat, state=mid)
    assert resumed.returncode == 0, resumed.stderr.decode()
    rmsgs = messages(resumed.stdout)
    rest = records(rmsgs)
    done = [(r["a"], r["b"]) for r in all_rows]
    cut = done.index((last["a"], last["b"])) + 1
    assert [(r["a"], r["b"]) for r in rest] == done[cut:]
    versions = {m["version"] for m in rmsgs if m["type"] == "RECORD"}
    assert versions == {mid["bookmarks"]["src-big"]["version"]}
    assert [m["type"] for m in rmsgs].count("ACTIVATE_VERSION") == 1


def test_incremental_typed_bookmark(src: dict[str, Any], tmp_path: Path) -> None:
    sql(
        src,
        "CREATE TABLE src.inc (id int PRIMARY KEY, at timestamptz, amount numeric(30,10))",
        "INSERT INTO src.inc VALUES (1, '2024-01-01 00:00:00.000001+00', 1.0000000001), "
        "(2, '2024-01-01 00:00:00.000002+00', 1.0000000002), (3, NULL, 5)",
    )
    cat = select(discover(tmp_path, src), "inc", method="INCREMENTAL", key="at")
    first = run_tap(tmp_path, src, catalog=cat)
    assert first.returncode == 0, first.stderr.decode()
    msgs = messages(first.stdout)
    final = states(msgs)[-1]["bookmarks"]["src-inc"]
    assert final["replication_key"] == "at"
    assert final["replication_key_value"] == "2024-01-01T00:00:00.000002+00:00"
    sql(src, "INSERT INTO src.inc VALUES (4, '2024-01-01 00:00:00.000003+00', 7)")
    second = run_tap(tmp_path, src, catalog=cat, state=states(msgs)[-1])
    assert [r["id"] for r in records(messages(second.stdout))] == [2, 4]  # >= the bookmark
    cat_n = select(discover(tmp_path, src), "inc", method="INCREMENTAL", key="amount")
    state = {
        "bookmarks": {
            "src-inc": {"replication_key": "amount", "replication_key_value": 1.0000000001}
        }
    }
    third = run_tap(tmp_path, src, catalog=cat_n, state=state)
    assert [r["id"] for r in records(messages(third.stdout))] == [1, 2, 3, 4]
    state["bookmarks"]["src-inc"]["replication_key_value"] = 1.0000000002
    fourth = run_tap(tmp_path, src, catalog=cat_n, state=state)
    assert [r["id"] for r in records(messages(fourth.stdout))] == [2, 3, 4]


def test_bad_password_exits_2_without_the_password(tmp_path: Path) -> None:
    from helpers.pg_server import ThrowawayPostgres

    if ThrowawayPostgres.missing():
        pytest.skip(str(ThrowawayPostgres.missing()))
    server = ThrowawayPostgres(password="right-secret")
    server.start()
    try:
        cfg = {**server.config, "password": "wrong-secret-xyz"}
        proc = run_tap(tmp_path, cfg, args=("--discover",))
    finally:
        server.stop()
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "wrong-secret-xyz" not in err and "refused user 'postgres'" in err
    assert len(err.strip().splitlines()) == 1


def test_unreachable_server_is_retriable(tmp_path: Path) -> None:
    from helpers.pg_server import free_port

    cfg = {
        "host": "127.0.0.1",
        "port": free_port(),
        "user": "x",
        "dbname": "x",
        "password": "pw-123",
    }
    proc = run_tap(tmp_path, cfg, args=("--discover",))
    err = proc.stderr.decode()
    assert proc.returncode == 75, err
    assert "pw-123" not in err and "Traceback" not in err


def test_config_errors(tmp_path: Path) -> None:
    proc = run_tap(tmp_path, {"host": "h", "user": "u"}, args=("--discover",))
    assert proc.returncode == 2 and b"dbname" in proc.stderr
    proc = run_tap(tmp_path, {"sqlalchemy_url": "mysql://u@h/db"}, args=("--discover",))
    assert proc.returncode == 2 and b"sqlalchemy_url" in proc.stderr


def test_missing_filter_schema_is_one_line(pg_db: dict[str, Any], tmp_path: Path) -> None:
    proc = run_tap(tmp_path, {**pg_db, "filter_schemas": "nope"}, args=("--discover",))
    assert proc.returncode == 2
    assert b"filter_schemas: schema 'nope' not found" in proc.stderr


def test_a_bookmark_that_is_not_the_columns_type_is_one_line(
    src: dict[str, Any], tmp_path: Path
) -> None:
    sql(src, "CREATE TABLE src.b (id int PRIMARY KEY, at timestamptz)")
    cat = select(discover(tmp_path, src), "b", method="INCREMENTAL", key="at")
    state = {
        "bookmarks": {"src-b": {"replication_key": "at", "replication_key_value": "yesterday-ish"}}
    }
    proc = run_tap(tmp_path, src, catalog=cat, state=state)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert (
        "bookmarks.src-b.replication_key_value is \"yesterday-ish\", not a value of column 'at'"
        in err
    )
    assert messages(proc.stdout) == [] and len(err.strip().splitlines()) == 1
    cat = select(discover(tmp_path, src), "b")
    state = {
        "bookmarks": {
            "src-b": {"version": 1, "max_pk_values": {"id": "x"}, "last_pk_fetched": {"id": 1}}
        }
    }
    proc = run_tap(tmp_path, src, catalog=cat, state=state)
    assert proc.returncode == 2 and b"bookmarks.src-b.max_pk_values.id" in proc.stderr


@pytest.mark.parametrize("shape", ["pipelinewise", "meltanolabs"])
def test_catalogs_and_state_of_other_taps(src: dict[str, Any], tmp_path: Path, shape: str) -> None:
    """PipelineWise's catalog (stream = table) and MeltanoLabs' (stream = schema-table, no
    table_name) select the same table; their INCREMENTAL bookmarks resume."""
    sql(
        src,
        "CREATE TABLE src.o (id int PRIMARY KEY, v text)",
        "INSERT INTO src.o VALUES (1, 'a'), (2, 'b')",
    )
    cat = select(discover(tmp_path, src), "o", method="INCREMENTAL", key="id")
    entry = cat["streams"][[s["stream"] for s in cat["streams"]].index("o")]
    if shape == "meltanolabs":
        entry["stream"] = "src-o"
        entry.pop("table_name")
    state = {
        "bookmarks": {"src-o": {"replication_key": "id", "replication_key_value": 2, "version": 1}}
    }
    proc = run_tap(tmp_path, src, catalog=cat, state=state)
    assert proc.returncode == 0, proc.stderr.decode()
    assert records(messages(proc.stdout)) == [{"id": 2, "v": "b"}]
