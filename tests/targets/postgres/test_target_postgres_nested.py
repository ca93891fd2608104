"""target-postgres with `nested: tables` (issue 17): orders with items, discounts, tags and an
address land in a parent table and child tables with natural keys; reassembled from the tables,
every document equals its source, after upserts that grow and shrink arrays, nulls, empty
arrays, deletes, a second identical run and a kill -9 mid-load. The same input through
target-duckdb gives the same tables."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
import pytest
from helpers.duckdb_target import query as query_duckdb
from helpers.duckdb_target import run_target as run_duckdb
from helpers.nested_docs import ORDER_SCHEMA, TABLES, canonical, order, reassemble
from helpers.pg_target import BIN, query, run_target
from tapwell.singer.wire import dumps

pytestmark = pytest.mark.services
NESTED = {"nested": "tables"}


def schema_msg(props: dict[str, Any] | None = None, keys: list[str] | None = None) -> str:
    return dumps(
        {
            "type": "SCHEMA",
            "stream": "orders",
            "schema": {"type": "object", "properties": props or ORDER_SCHEMA["properties"]},
            "key_properties": ["id"] if keys is None else keys,
        }
    ).decode()


def rec(doc: dict[str, Any]) -> str:
    return dumps({"type": "RECORD", "stream": "orders", "record": doc}).decode()


def state(n: int) -> str:
    return json.dumps({"type": "STATE", "value": {"n": n}})


def tables(config: dict[str, Any], names: list[str] = TABLES) -> dict[str, list[dict[str, Any]]]:
    conn = psycopg2.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["dbname"]
    )
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SET TimeZone = 'UTC'")
            out = {}
            for name in names:
                cur.execute(f'SELECT * FROM "{name}"')
                out[name] = [dict(r) for r in cur.fetchall()]
            return out
    finally:
        conn.close()


def assert_matches(config: dict[str, Any], source: dict[int, dict[str, Any]]) -> None:
    got = reassemble(tables(config))
    assert sorted(got) == sorted(source)
    for key, doc in source.items():
        assert got[key] == canonical(doc), key


FIRST = [order(n) for n in range(1, 30)]
CHANGED = [order(n, grow=2) for n in range(1, 10)] + [order(n, grow=-5) for n in range(10, 15)]
CHANGED += [{"id": 15, "items": [], "tags": None}, {"id": 16, "items": [{"sku": None}]}]
UPSERTS = [schema_msg(), *map(rec, FIRST), state(1), *map(rec, CHANGED), state(2)]


def test_upserts_replace_children_at_every_level(pg_db: dict[str, Any], tmp_path: Path) -> None:
    for _ in range(2):  # a second identical run leaves the same tables
        done = run_target({**pg_db, **NESTED}, UPSERTS, tmp_path)
        assert done.returncode == 0, done.stderr
        assert_matches(pg_db, {d["id"]: d for d in FIRST + CHANGED})
    rows = query(
        pg_db,
        'SELECT "_sdc_source_key_id", "_sdc_level_0_id", "_sdc_level_1_id", code, amount '
        'FROM orders__items__discounts WHERE "_sdc_source_key_id" = 1 ORDER BY 3',
    )
    assert rows == [(1, 0, 0, "", Decimal("0.10")), (1, 0, 1, "😀", None)]


def _same(value: Any, column: str) -> Any:
    """A value as both targets' rows can be compared: JSON as its sorted text, a double as its
    exact digits, an integer as a decimal, a timestamp as its UTC instant."""
    if column == "meta" and isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int) and not isinstance(value, bool):  # numeric(20) beside HUGEINT
        return Decimal(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def test_the_same_input_through_target_duckdb_gives_the_same_tables(
    pg_db: dict[str, Any], tmp_path: Path, bin_path: Path
) -> None:
    assert run_target({**pg_db, **NESTED}, UPSERTS, tmp_path).returncode == 0
    data = "".join(m + "\n" for m in UPSERTS).encode()
    assert run_duckdb(bin_path, tmp_path, data, **NESTED).returncode == 0
    for name in TABLES:
        ours = tables(pg_db, [name])[name]
        cols = list(ours[0])
        quoted = ", ".join(f'"{c}"' for c in cols)
        theirs = query_duckdb(tmp_path / "w.duckdb", f'SELECT {quoted} FROM "{name}"')
        pg_rows = sorted(repr(tuple(_same(r[c], c) for c in cols)) for r in ours)
        duck_rows = sorted(
            repr(tuple(_same(v, c) for c, v in zip(cols, row, strict=True))) for row in theirs
        )
        assert pg_rows == duck_rows, name


def test_deletes_reach_the_children(pg_db: dict[str, Any], tmp_path: Path) -> None:
    props = {
        **ORDER_SCHEMA["properties"],
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    }
    gone = {**order(1), "_sdc_deleted_at": "2026-02-01T00:00:00Z"}
    messages = [schema_msg(props), *[rec(order(n)) for n in range(1, 6)], rec(gone), state(1)]
    assert run_target({**pg_db, **NESTED}, messages, tmp_path).returncode == 0
    marked = query(
        pg_db,
        'SELECT count(*), count(_sdc_deleted_at) FROM orders__items WHERE "_sdc_source_key_id" = 1',
    )
    assert marked == [(1, 1)]
    done = run_target({**pg_db, **NESTED, "hard_delete": True}, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    assert query(pg_db, 'SELECT count(*) FROM orders__items WHERE "_sdc_source_key_id" = 1') == [
        (0,)
    ]
    assert query(pg_db, "SELECT count(*) FROM orders") == [(4,)]


def test_new_element_properties_become_columns(pg_db: dict[str, Any], tmp_path: Path) -> None:
    props = json.loads(json.dumps(ORDER_SCHEMA["properties"]))
    props["items"]["items"]["properties"]["color"] = {"type": ["string", "null"]}
    doc = {**order(3), "items": [{"sku": "A", "color": "blue"}]}
    messages = [schema_msg(), rec(order(3)), state(1), schema_msg(props), rec(doc), state(2)]
    done = run_target({**pg_db, **NESTED}, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    assert query(pg_db, "SELECT sku, color FROM orders__items") == [("A", "blue")]


def test_a_keyless_stream_appends_with_load_ids(pg_db: dict[str, Any], tmp_path: Path) -> None:
    messages = [
        schema_msg(keys=[]),
        rec({"id": 1, "tags": ["a", "b"]}),
        rec({"id": 2, "tags": ["c"]}),
        state(1),
    ]
    config = {**pg_db, **NESTED, "primary_key_required": False}
    for _ in range(2):
        done = run_target(config, messages, tmp_path)
        assert done.returncode == 0, done.stderr
    rows = query(
        pg_db,
        'SELECT o.id, t.value FROM orders o JOIN orders__tags t ON t."_sdc_source_key__sdc_load_id" = o._sdc_load_id '
        'AND t."_sdc_source_key__sdc_row_index" = o._sdc_row_index ORDER BY 1, 2',
    )
    assert rows == [(1, "a"), (1, "a"), (1, "b"), (1, "b"), (2, "c"), (2, "c")]


def test_kill_mid_load_then_resume(pg_db: dict[str, Any], tmp_path: Path) -> None:
    docs = [order(n) for n in range(1, 3001)]
    text = "".join(
        m + "\n"
        for d in docs
        for m in (rec(d), json.dumps({"type": "STATE", "value": {"at": d["id"]}}))
    )
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({**pg_db, **NESTED, "batch_size_rows": 100}))
    proc = subprocess.Popen(
        [str(BIN / "target-postgres"), "--config", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write((schema_msg() + "\n" + text[: len(text) // 2]).encode())
    proc.stdin.flush()
    proc.stdout.readline()  # a batch committed
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = reassemble(tables(pg_db))
    assert committed and len(committed) < len(docs)
    for key, doc in committed.items():
        assert doc == canonical(docs[key - 1])
    done = run_target({**pg_db, **NESTED}, [schema_msg(), *map(rec, docs)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert_matches(pg_db, {d["id"]: d for d in docs})


def test_activate_version_retires_the_children_of_retired_parents(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    def versioned(doc: dict[str, Any], version: int) -> str:
        return dumps(
            {"type": "RECORD", "stream": "orders", "record": doc, "version": version}
        ).decode()

    def activate(version: int) -> str:
        return json.dumps({"type": "ACTIVATE_VERSION", "stream": "orders", "version": version})

    # orders 4-7 come first with no version (an incremental sync), then two full-table syncs;
    # the last has no tags at all: retiring 4-7 must still reach orders__tags
    messages = [schema_msg(), *[rec(order(n)) for n in range(4, 8)]]
    messages += [*[versioned(order(n), 1) for n in range(1, 8)], activate(1)]
    messages += [*[versioned({**order(n), "tags": None}, 2) for n in range(1, 4)], activate(2)]
    messages += [state(1)]
    done = run_target({**pg_db, **NESTED}, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    gone = 'SELECT DISTINCT "_sdc_source_key_id" FROM orders__tags WHERE _sdc_deleted_at IS NOT NULL ORDER BY 1'
    assert query(pg_db, gone) == [(4,), (5,), (7,)]  # order 6 has no tags
    assert query(pg_db, "SELECT count(*) FROM orders__tags WHERE _sdc_deleted_at IS NULL") == [(0,)]
    query(pg_db, "DROP TABLE orders, orders__items, orders__items__discounts, orders__tags")
    done = run_target({**pg_db, **NESTED, "hard_delete": True}, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    assert_matches(pg_db, {n: {**order(n), "tags": None} for n in range(1, 4)})


SMALL = {  # qty a BIGINT (ORDER_SCHEMA's may pass 64 bits)
    "id": {"type": "integer"},
    "items": {
        "type": ["array", "null"],
        "items": {
            "type": "object",
            "properties": {
                "sku": {"type": ["string", "null"]},
                "qty": {"type": ["integer", "null"]},
            },
        },
    },
}


def test_a_value_inside_a_document_its_column_cannot_hold_is_named(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    doc = {"id": 1, "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1.5}]}
    done = run_target({**pg_db, **NESTED}, [schema_msg(SMALL), rec(doc), state(1)], tmp_path)
    assert done.returncode == 65
    assert done.stderr.strip().splitlines()[-1] == (
        "target-postgres: error: stdin line 2, stream 'orders', field 'items[1].qty': 1.5 is not "
        "integer (fix the value at the source, or change the field's type in the SCHEMA)"
    )
