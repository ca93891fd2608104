"""Per-stream entries of target-duckdb's config that match no stream of the load (a typo, a name
the tap does not send) are said at the end of the load, one warning line each, naming the entry
and the streams that came, with a did-you-mean. schema_mapping is keyed by a stream's whole name
or its source schema (as target-postgres and PipelineWise's targets read it), so either matches;
an entry named like a stream's table says how it is keyed."""

from __future__ import annotations

from helpers.duckdb_target import lines, query, record, run_target, schema, state
from tapwell.targets.duckdb.config import DuckDBConfig

ROWS = lines(
    schema("shop-orders", {"id": {"type": "integer"}}, ["id"]),
    record("shop-orders", {"id": 1}),
    schema("shop-events", {"id": {"type": "integer"}}, ["id"]),
    record("shop-events", {"id": 1}),
    state({"done": 1}),
)


def warnings(stderr: bytes) -> list[str]:
    return [ln for ln in stderr.decode().splitlines() if "warning" in ln.lower()]


def test_entries_that_match_no_stream_are_one_warning_each(bin_path, tmp_path):
    done = run_target(
        bin_path,
        tmp_path,
        ROWS,
        stream_settings={
            "shop-order": {"load_method": "append-only"},  # a typo
            "shop-events": {"hard_delete": True},  # matches
        },
        schema_mapping={
            "shop": {"target_schema": "raw"},  # PipelineWise's key: the source schema, matches
            "shop-events": {"target_table": "events"},  # matches, the whole name first
            "orders": "elsewhere",  # a table name: no key of schema_mapping
            "shopp": "typo",
            "nothing-like-it": "elsewhere",
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == ['{"done":1}']
    seen = "(streams: shop-events, shop-orders)"
    assert warnings(done.stderr) == [
        "target-duckdb WARNING stream_settings entry 'shop-order' matched no stream of this "
        f"load and changed nothing {seen}; did you mean 'shop-orders'?",
        "target-duckdb WARNING schema_mapping entry 'orders' matched no stream of this load "
        f"and changed nothing {seen}; it is keyed by a stream's source schema ('shop' of "
        "'shop-orders') or by its whole name, not by its table",
        "target-duckdb WARNING schema_mapping entry 'shopp' matched no stream of this load "
        f"and changed nothing {seen}; did you mean 'shop'?",
        "target-duckdb WARNING schema_mapping entry 'nothing-like-it' matched no stream of this "
        f"load and changed nothing {seen}",
    ]
    db = tmp_path / "w.duckdb"
    assert query(db, 'SELECT id FROM raw."shop-orders"') == [(1,)]  # by its source schema
    assert query(db, "SELECT id FROM main.events") == [(1,)]  # its whole name's entry


def test_entries_that_match_say_nothing(bin_path, tmp_path):
    done = run_target(
        bin_path,
        tmp_path,
        ROWS,
        stream_settings={"shop-orders": {"load_method": "append-only"}},
        schema_mapping={"shop-events": "raw"},
    )
    assert done.returncode == 0, done.stderr
    assert warnings(done.stderr) == []


def test_entries_the_runner_made_are_its_own_to_check(bin_path, tmp_path):
    """`tapwell run` gives tapwell.yml's settings under both names of a stream (tap_stream_id
    and stream) and lists them in stream_settings_derived: the name not sent is no typo."""
    done = run_target(
        bin_path,
        tmp_path,
        ROWS,
        stream_settings={"orders": {"hard_delete": True}, "shop-orders": {"hard_delete": True}},
        stream_settings_derived=["orders", "shop-orders"],
    )
    assert done.returncode == 0, done.stderr
    assert warnings(done.stderr) == []


def test_no_stream_at_all_says_nothing(bin_path, tmp_path):
    done = run_target(
        bin_path, tmp_path, lines(state({"a": 1})), stream_settings={"x": {"hard_delete": True}}
    )
    assert done.returncode == 0, done.stderr
    assert warnings(done.stderr) == []


def test_the_list_of_streams_is_cut_short():
    config = DuckDBConfig.parse({"path": "x.duckdb", "stream_settings": {"t-99": {}}})
    for i in range(12):
        config.settings_for(f"t-{i:02d}")
    [line] = config.unmatched()
    assert "(streams: t-00, t-01, t-02, t-03, t-04, t-05, t-06, t-07 and 4 more)" in line
    assert line.endswith("did you mean 't-09'?")


def test_the_whole_name_first_then_the_source_schema():
    mapping = {
        "shop": {"target_schema": "raw", "target_table": "ignored"},
        "shop-events": {"target_table": "events"},
        "db-shop-refunds": "r",
    }
    config = DuckDBConfig.parse({"path": "x.duckdb", "schema_mapping": mapping})
    assert config.target_of("shop-orders") == ("raw", "shop-orders")  # target_table: whole name
    assert config.target_of("shop-events") == ("main", "events")
    assert config.target_of("db-shop-refunds") == ("r", "db-shop-refunds")
    assert config.target_of("db-shop-items") == ("raw", "db-shop-items")  # split_stream: shop
    assert config.target_of("shop") == ("raw", "ignored")  # a stream named shop: its whole name
    assert config.target_of("orders") == ("main", "orders")
    assert config.unmatched() == []
