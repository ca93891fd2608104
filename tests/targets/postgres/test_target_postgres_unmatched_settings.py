"""Per-stream entries of target-postgres's config that match no stream of the load are said at
the end of the load, one warning line each, naming the entry, the streams that came and a
did-you-mean. schema_mapping is keyed as PipelineWise's targets key it, by the source schema of
a `<schema>-<table>` stream name (and here also by the whole stream name): an entry keyed by a
table name says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import query, record, run_target, schema, state
from tapwell.targets.postgres.config import parse

ROWS = [
    schema("shop-orders", {"id": {"type": "integer"}}, ["id"]),
    record("shop-orders", {"id": 1}),
    schema("shop-events", {"id": {"type": "integer"}}, ["id"]),
    record("shop-events", {"id": 1}),
    state({"done": 1}),
]


def warnings(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if " WARNING " in ln]


@pytest.mark.services
def test_entries_that_match_no_stream_are_one_warning_each(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    config = {
        **pg_db,
        "stream_settings": {
            "shop-order": {"load_method": "append-only"},  # a typo
            "shop-events": {"hard_delete": True},  # matches
        },
        "schema_mapping": {
            "shop": {"target_schema": "raw_shop"},  # matches both streams: their source schema
            "orders": {"target_schema": "elsewhere"},  # a table name: no key of schema_mapping
            "shopp": "typo",
        },
    }
    done = run_target(config, ROWS, tmp_path)
    assert done.returncode == 0, done.stderr
    seen = "(streams: shop-events, shop-orders)"
    assert warnings(done.stderr) == [
        "target-postgres WARNING stream_settings entry 'shop-order' matched no stream of this "
        f"load and changed nothing {seen}; did you mean 'shop-orders'?",
        "target-postgres WARNING schema_mapping entry 'orders' matched no stream of this load "
        f"and changed nothing {seen}; it is keyed by a stream's source schema ('shop' of "
        "'shop-orders') or by its whole name, not by its table",
        "target-postgres WARNING schema_mapping entry 'shopp' matched no stream of this load "
        f"and changed nothing {seen}; did you mean 'shop'?",
    ]
    assert query(pg_db, "SELECT id FROM raw_shop.orders") == [(1,)]  # behaviour unchanged


def test_matching_entries_and_the_runners_own_say_nothing() -> None:
    config = parse(
        {
            "stream_settings": {"orders": {"hard_delete": True}, "shop-orders": {}},
            "stream_settings_derived": ["orders", "shop-orders"],
            "schema_mapping": {"shop": "raw", "shop-events": {"target_table": "ev"}},
        }
    )
    for stream in ("shop-orders", "shop-events"):
        config.of(stream)
    assert config.unmatched() == []


def test_no_stream_at_all_says_nothing() -> None:
    assert parse({"stream_settings": {"x": {"hard_delete": True}}}).unmatched() == []
