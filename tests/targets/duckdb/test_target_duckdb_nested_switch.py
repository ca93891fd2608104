"""target-duckdb switching a stream between `nested: json` and `nested: tables` (issue 17):
the columns and tables the other mode made are kept, no longer filled, and said once a run on
stderr with the SQL that drops them; the rows of either mode stay right, run twice each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
from helpers.duckdb_target import lines, query, record, run_target, state
from helpers.nested_docs import ORDER_SCHEMA, TABLES, canonical, order, reassemble

FIRST = [order(n) for n in range(1, 15)]
CHANGED = [order(n, grow=1) for n in range(1, 8)]
SCHEMA = {
    "type": "SCHEMA",
    "stream": "orders",
    "schema": {"type": "object", "properties": ORDER_SCHEMA["properties"]},
    "key_properties": ["id"],
}


def _columns(db: Path, table: str) -> list[str]:
    rows = query(
        db,
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        [table],
    )
    return [r[0] for r in rows]


def _tables(db: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in TABLES:
        cols = _columns(db, name)
        out[name] = [dict(zip(cols, r, strict=True)) for r in query(db, f'SELECT * FROM "{name}"')]
    return out


def _said(stderr: bytes, what: str) -> list[str]:
    return [line for line in stderr.decode().splitlines() if what in line]


def _skus(items: Any) -> list[Any] | None:
    if isinstance(items, str):
        items = json.loads(items)
    return [i.get("sku") for i in items] if items is not None else None


def test_json_to_tables_and_back_keeps_the_other_modes_columns_unfilled(
    bin_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    first = lines(SCHEMA, *[record("orders", d) for d in FIRST], state({"n": 1}))
    for _ in range(2):
        done = run_target(bin_path, tmp_path, first, nested="json")
        assert done.returncode == 0, done.stderr.decode()
        assert not _said(done.stderr, "nested:")
    assert {"address", "items", "tags"} <= set(_columns(db, "orders"))

    changed = lines(SCHEMA, *[record("orders", d) for d in CHANGED], state({"n": 2}))
    for _ in range(2):
        done = run_target(bin_path, tmp_path, changed, nested="tables")
        assert done.returncode == 0, done.stderr.decode()
        said = _said(done.stderr, "nested: tables leaves the JSON column(s)")
        assert len(said) == 1, done.stderr.decode()
        assert 'address, items, tags of "main"."orders" (from nested: json) unfilled' in said[0]
        assert said[0].endswith(
            'To drop them: ALTER TABLE "main"."orders" DROP COLUMN "address"; '
            'ALTER TABLE "main"."orders" DROP COLUMN "items"; '
            'ALTER TABLE "main"."orders" DROP COLUMN "tags"'
        )
    got = reassemble(_tables(db))
    for doc in CHANGED:
        assert got[doc["id"]] == canonical(doc)
    old = dict(query(db, "SELECT id, items FROM orders ORDER BY id"))
    for doc in FIRST:  # a row loaded with tables holds NULL in the old column, the others theirs
        assert _skus(old[doc["id"]]) == (None if doc["id"] < 8 else _skus(doc.get("items")))

    for _ in range(2):
        done = run_target(bin_path, tmp_path, first, nested="json")
        assert done.returncode == 0, done.stderr.decode()
        said = _said(done.stderr, "nested: json leaves the child table(s)")
        assert len(said) == 1, done.stderr.decode()
        assert (
            '"main"."orders__items", "main"."orders__items__discounts", "main"."orders__tags" '
            'and the column(s) address__city, address__geo__lat, address__geo__lon of "main"."orders"'
        ) in said[0]
    old = dict(query(db, "SELECT id, items FROM orders ORDER BY id"))
    assert {k: _skus(v) for k, v in old.items()} == {d["id"]: _skus(d.get("items")) for d in FIRST}
    kept = query(db, 'SELECT count(*) FROM orders__items WHERE "_sdc_source_key_id" < 8')
    assert kept == [(sum(len(d["items"] or []) for d in CHANGED),)]  # as tables left them

    con = duckdb.connect(str(db))
    con.execute(said[0].split("To drop them: ", 1)[1])
    con.close()
    done = run_target(bin_path, tmp_path, first, nested="json")
    assert done.returncode == 0 and not _said(done.stderr, "nested:"), done.stderr.decode()
    assert not {"address__city", "address__geo__lat"} & set(_columns(db, "orders"))
    assert _columns(db, "orders__items") == []
    assert set(ORDER_SCHEMA["properties"]) <= set(_columns(db, "orders"))
