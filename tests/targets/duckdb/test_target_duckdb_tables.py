"""Two streams never share one table, and tapwell's own table names never touch a user's tables
(issue 20.3). DuckDB names ignore case, so `Orders` and `orders` are one table: the second stream
is refused with one line naming both and `schema_mapping`, in one run or across runs (the owning
stream is kept in the table's comment). Staging is a TEMP table; a user's `_tapwell_state` or
`_tapwell_stage` is never written or dropped."""

from __future__ import annotations

import duckdb
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

PROPS = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}


def stream_input(name: str, *ids: int) -> bytes:
    return lines(
        schema(name, PROPS),
        *(record(name, {"id": i, "v": f"{name} {i}"}) for i in ids),
        state({"after": name}),
    )


def test_streams_differing_in_case_in_one_run_are_refused(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    result = run_target(
        bin_path, tmp_path, stream_input("Orders", 1, 2) + stream_input("orders", 1, 3), db
    )
    assert result.returncode == 2
    line = error_line(result)
    assert line.startswith(
        "target-duckdb: error: streams 'Orders' and 'orders' would load into one table main.Orders"
    ), line
    assert "schema_mapping" in line
    # refused at the second SCHEMA: nothing was committed, no state printed
    assert result.stdout == b""
    assert query(db, "SELECT count(*) FROM main.Orders") == [(0,)]


def test_a_table_owned_by_another_stream_in_an_earlier_run_is_refused(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    first = run_target(bin_path, tmp_path, stream_input("Orders", 1, 2), db)
    assert first.returncode == 0, error_line(first)
    for _ in range(2):  # refused every time, and nothing changes
        second = run_target(bin_path, tmp_path, stream_input("orders", 1, 3), db)
        assert second.returncode == 2
        assert error_line(second) == (
            "target-duckdb: error: stream 'orders' would load into table main.Orders, which "
            "holds stream 'Orders': give one of them its own table with schema_mapping "
            '{"<stream>": {"target_table": "..."}}'
        )
        assert query(db, "SELECT id, v FROM main.Orders ORDER BY id") == [
            (1, "Orders 1"),
            (2, "Orders 2"),
        ]
    # the owner itself loads on, run after run
    again = run_target(bin_path, tmp_path, stream_input("Orders", 2, 3), db)
    assert again.returncode == 0, error_line(again)
    assert query(db, "SELECT count(*) FROM main.Orders") == [(3,)]


def test_schema_mapping_separates_them(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    mapping = {
        "orders": {"target_table": "orders_lower"},
        "shop-orders": {"target_schema": "shop", "target_table": "Orders"},
    }
    data = (
        stream_input("Orders", 1, 2) + stream_input("orders", 1, 3) + stream_input("shop-orders", 9)
    )
    for _ in range(2):
        result = run_target(bin_path, tmp_path, data, db, schema_mapping=mapping)
        assert result.returncode == 0, error_line(result)
    assert query(db, "SELECT id, v FROM main.Orders ORDER BY id") == [
        (1, "Orders 1"),
        (2, "Orders 2"),
    ]
    assert query(db, "SELECT id, v FROM main.orders_lower ORDER BY id") == [
        (1, "orders 1"),
        (3, "orders 3"),
    ]
    assert query(db, "SELECT id, v FROM shop.Orders") == [(9, "shop-orders 9")]


def test_a_stream_named_like_the_state_table_is_refused(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    result = run_target(bin_path, tmp_path, stream_input("_TAPWELL_STATE", 1), db)
    assert result.returncode == 2
    assert error_line(result) == (
        "target-duckdb: error: stream '_TAPWELL_STATE' would load into main._tapwell_state, "
        "where target-duckdb keeps its state: map it to another table with schema_mapping"
    )


def test_user_tables_named_like_ours_are_never_written_or_dropped(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE main._tapwell_stage (mine VARCHAR)")
    con.execute("INSERT INTO main._tapwell_stage VALUES ('keep me')")
    con.execute("CREATE TABLE main._tapwell_arrow (mine VARCHAR)")  # the Arrow table's name
    con.execute("INSERT INTO main._tapwell_arrow VALUES ('and me')")
    con.execute("CREATE SCHEMA other")
    con.execute("CREATE TABLE other._tapwell_state (note VARCHAR)")
    con.execute("INSERT INTO other._tapwell_state VALUES ('mine too')")
    con.close()

    for _ in range(2):
        result = run_target(bin_path, tmp_path, stream_input("t", 1, 2), db)
        assert result.returncode == 0, error_line(result)
    assert query(db, "SELECT * FROM main._tapwell_stage") == [("keep me",)]
    assert query(db, "SELECT * FROM main._tapwell_arrow") == [("and me",)]
    assert query(db, "SELECT count(*) FROM main.t") == [(2,)]

    # a state table that is not ours: refused before anything is written
    refused = run_target(
        bin_path, tmp_path, stream_input("t", 3), db, default_target_schema="other"
    )
    assert refused.returncode == 2
    assert error_line(refused) == (
        "target-duckdb: error: table other._tapwell_state exists and is not target-duckdb's "
        "state table (columns note): rename that table, or set default_target_schema to "
        "another schema"
    )
    assert query(db, "SELECT * FROM other._tapwell_state") == [("mine too",)]
    assert query(db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'") == [
        (1,)
    ]


def test_two_streams_mapped_to_one_table_are_refused(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    mapping = {"db1-orders": {"target_table": "orders"}, "db2-orders": {"target_table": "ORDERS"}}
    data = stream_input("db1-orders", 1) + stream_input("db2-orders", 1)
    result = run_target(bin_path, tmp_path, data, db, schema_mapping=mapping)
    assert result.returncode == 2
    assert error_line(result).startswith(
        "target-duckdb: error: streams 'db1-orders' and 'db2-orders' would load into one table "
        "main.orders (DuckDB names ignore case): give one of them its own table with schema_mapping"
    )
    assert result.stdout == b""


def test_clearing_the_mark_hands_the_table_to_another_stream(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    assert run_target(bin_path, tmp_path, stream_input("Orders", 1), db).returncode == 0
    assert run_target(bin_path, tmp_path, stream_input("orders", 2), db).returncode == 2
    con = duckdb.connect(str(db))
    con.execute("COMMENT ON TABLE main.orders IS NULL")  # as the README says
    con.close()
    result = run_target(bin_path, tmp_path, stream_input("orders", 2), db)
    assert result.returncode == 0, error_line(result)
    assert query(db, "SELECT id, v FROM main.Orders ORDER BY id") == [
        (1, "Orders 1"),
        (2, "orders 2"),
    ]
    assert run_target(bin_path, tmp_path, stream_input("Orders", 3), db).returncode == 2
