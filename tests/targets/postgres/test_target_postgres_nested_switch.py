"""target-postgres switching a stream between `nested: json` and `nested: tables` (issue 17):
the columns and tables the other mode made are kept, no longer filled, and said once a run on
stderr with the SQL that drops them; the rows of either mode stay right, run twice each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
from helpers.nested_docs import ORDER_SCHEMA, TABLES, canonical, order, reassemble
from helpers.pg_target import query, run_target
from tapwell.singer.wire import dumps

JSON, TABLES_MODE = {"nested": "json"}, {"nested": "tables"}
FIRST = [order(n) for n in range(1, 15)]
CHANGED = [order(n, grow=1) for n in range(1, 8)]


def schema_msg() -> str:
    schema = {"type": "object", "properties": ORDER_SCHEMA["properties"]}
    return dumps(
        {"type": "SCHEMA", "stream": "orders", "schema": schema, "key_properties": ["id"]}
    ).decode()


def rec(doc: dict[str, Any]) -> str:
    return dumps({"type": "RECORD", "stream": "orders", "record": doc}).decode()


def state(n: int) -> str:
    return json.dumps({"type": "STATE", "value": {"n": n}})


def tables(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    conn = psycopg2.connect(**{k: config[k] for k in ("host", "port", "user", "dbname")})
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SET TimeZone = 'UTC'")
            out = {}
            for name in TABLES:
                cur.execute(f'SELECT * FROM "{name}"')
                out[name] = [dict(r) for r in cur.fetchall()]
            return out
    finally:
        conn.close()


def _columns(config: dict[str, Any], table: str) -> list[str]:
    rows = query(
        config,
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "ORDER BY ordinal_position",
        (table,),
    )
    return [r[0] for r in rows]


def _said(stderr: str, what: str) -> list[str]:
    return [line for line in stderr.splitlines() if what in line]


def _skus(items: Any) -> list[Any]:
    return [i.get("sku") for i in items] if items is not None else None


def test_json_to_tables_and_back_keeps_the_other_modes_columns_unfilled(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    first = [schema_msg(), *map(rec, FIRST), state(1)]
    for _ in range(2):
        done = run_target({**pg_db, **JSON}, first, tmp_path)
        assert done.returncode == 0, done.stderr
        assert not _said(done.stderr, "nested:")
    assert {"address", "items", "tags"} <= set(_columns(pg_db, "orders"))

    changed = [schema_msg(), *map(rec, CHANGED), state(2)]
    for _ in range(2):
        done = run_target({**pg_db, **TABLES_MODE}, changed, tmp_path)
        assert done.returncode == 0, done.stderr
        said = _said(done.stderr, "nested: tables leaves the JSON column(s)")
        assert len(said) == 1, done.stderr
        assert "address, items, tags of public.orders (from nested: json) unfilled" in said[0]
        assert said[0].endswith(
            'To drop them: ALTER TABLE "public"."orders" DROP COLUMN "address", '
            'DROP COLUMN "items", DROP COLUMN "tags"'
        )
    got = reassemble(tables(pg_db))
    for doc in CHANGED:
        assert got[doc["id"]] == canonical(doc)
    old = dict(query(pg_db, "SELECT id, items FROM orders ORDER BY id"))
    for doc in FIRST:  # a row loaded with tables holds NULL in the old column, the others theirs
        assert _skus(old[doc["id"]]) == (None if doc["id"] < 8 else _skus(doc.get("items")))

    for _ in range(2):
        done = run_target({**pg_db, **JSON}, first, tmp_path)
        assert done.returncode == 0, done.stderr
        said = _said(done.stderr, "nested: json leaves the child table(s)")
        assert len(said) == 1, done.stderr
        assert (
            "public.orders__items, public.orders__items__discounts, public.orders__tags and "
            "the column(s) address__city, address__geo__lat, address__geo__lon of public.orders"
        ) in said[0]
    old = dict(query(pg_db, "SELECT id, items FROM orders ORDER BY id"))
    assert {k: _skus(v) for k, v in old.items()} == {d["id"]: _skus(d.get("items")) for d in FIRST}
    kept = query(pg_db, 'SELECT count(*) FROM orders__items WHERE "_sdc_source_key_id" < 8')
    assert kept == [(sum(len(d["items"] or []) for d in CHANGED),)]  # as tables left them

    drop = said[0].split("To drop them: ", 1)[1]
    query(pg_db, drop)
    done = run_target({**pg_db, **JSON}, first, tmp_path)
    assert done.returncode == 0 and not _said(done.stderr, "nested:"), done.stderr
    assert not {"address__city", "address__geo__lat"} & set(_columns(pg_db, "orders"))
    assert _columns(pg_db, "orders__items") == []
    assert set(ORDER_SCHEMA["properties"]) <= set(_columns(pg_db, "orders"))
