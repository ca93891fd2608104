"""target-postgres `nested: tables` loads a batch one table at a time, each COPYed while its rows
are split (nested_copy.py), and falls back to the ordinary load on any refusal: the tables are
the source documents whichever way a batch went (straight in, staged and merged after a key
already there, keys twice in a batch, several batches a run), and a batch loaded twice (once as
the head start, once the ordinary way) counts its NUL characters once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
import pytest
from helpers.nested_docs import ORDER_SCHEMA, TABLES, canonical, order, reassemble
from helpers.pg_target import query, run_target
from tapwell.singer.wire import dumps

pytestmark = pytest.mark.services
NESTED = {"nested": "tables"}
SCHEMA = json.dumps(
    {"type": "SCHEMA", "stream": "orders", "schema": ORDER_SCHEMA, "key_properties": ["id"]}
)


def schema_msg() -> str:
    return SCHEMA


def rec(doc: dict[str, Any]) -> str:
    return dumps({"type": "RECORD", "stream": "orders", "record": doc}).decode()


def state(n: int) -> str:
    return json.dumps({"type": "STATE", "value": {"n": n}})


def assert_matches(config: dict[str, Any], source: dict[int, dict[str, Any]]) -> None:
    """The documents reassembled from the tables are the source documents."""
    conn = psycopg2.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["dbname"]
    )
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SET TimeZone = 'UTC'")
            rows = {}
            for name in TABLES:
                cur.execute(f'SELECT * FROM "{name}"')
                rows[name] = [dict(r) for r in cur.fetchall()]
    finally:
        conn.close()
    got = reassemble(rows)
    assert sorted(got) == sorted(source)
    for key, doc in source.items():
        assert got[key] == canonical(doc), key


def test_every_way_a_batch_goes_in_gives_the_source_documents(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    config = {**pg_db, **NESTED, "batch_size_rows": 7}
    first = {n: order(n) for n in range(1, 21)}
    done = run_target(config, [schema_msg(), *map(rec, first.values()), state(1)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert_matches(pg_db, first)
    # keys already there and new ones, in several batches (the first meets a key already in
    # the table: staged from then on), one key twice in a batch (the last one wins)
    second = {n: order(n, grow=(n % 3) - 1) for n in range(15, 30)}
    twice = order(17, grow=3)
    messages = [schema_msg(), rec(twice), *map(rec, second.values()), state(2)]
    done = run_target(config, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    assert_matches(pg_db, {**first, **second})


def test_a_batch_loaded_again_counts_its_nul_characters_once(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    config = {**pg_db, **NESTED, "nul_characters": "replace"}
    done = run_target(config, [schema_msg(), rec(order(1)), state(1)], tmp_path)
    assert done.returncode == 0, done.stderr
    # key 1 again: the head start meets it in the table and the batch is loaded again, staged
    again = {**order(1), "note": "a\x00b"}
    done = run_target(config, [schema_msg(), rec(again), state(2)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "stream 'orders': 1 value held NUL characters" in done.stderr, done.stderr


def test_an_upsert_replaces_the_children_of_a_text_key(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """The old child rows are found by `= ANY(keys)` cast to the key column's own type."""
    props = {
        "code": {"type": "string"},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    }
    schema = dumps(
        {
            "type": "SCHEMA",
            "stream": "orders",
            "schema": {"type": "object", "properties": props},
            "key_properties": ["code"],
        }
    ).decode()
    first = [{"code": "a'1", "tags": ["x", "y", "z"]}, {"code": "b", "tags": ["q"]}]
    done = run_target({**pg_db, **NESTED}, [schema, *map(rec, first), state(1)], tmp_path)
    assert done.returncode == 0, done.stderr
    again = [{"code": "a'1", "tags": ["w"]}, {"code": "b", "tags": None}]
    done = run_target({**pg_db, **NESTED}, [schema, *map(rec, again), state(2)], tmp_path)
    assert done.returncode == 0, done.stderr
    rows = query(pg_db, 'SELECT "_sdc_source_key_code", _sdc_level_0_id, value FROM orders__tags')
    assert rows == [("a'1", 0, "w")]
