"""target-duckdb with `nested: tables` (issue 17): orders with items, discounts, tags and an
address land in a parent table and child tables with natural keys; reassembled from the tables,
every document equals its source, after upserts that grow and shrink arrays, nulls, empty
arrays, deletes, a second identical run and a kill -9 mid-load."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from helpers.duckdb_target import error_line, lines, query, record, run_target, state
from helpers.nested_docs import ORDER_SCHEMA, TABLES, canonical, order, reassemble

NESTED = {"nested": "tables"}


def schema_msg(props: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": "orders",
        "schema": {"type": "object", "properties": props or ORDER_SCHEMA["properties"]},
        "key_properties": ["id"],
    }


def tables(db: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in TABLES:
        con_rows = query(db, f'SELECT * FROM "{name}"')
        cols = [r[0] for r in query(db, f'DESCRIBE "{name}"')]
        out[name] = [dict(zip(cols, row, strict=True)) for row in con_rows]
    return out


def assert_matches(db: Path, source: dict[int, dict[str, Any]]) -> None:
    got = reassemble(tables(db))
    assert sorted(got) == sorted(source)
    for key, doc in source.items():
        assert got[key] == canonical(doc), key


def test_upserts_replace_children_at_every_level(bin_path: Path, tmp_path: Path) -> None:
    first = [order(n) for n in range(1, 30)]
    changed = [order(n, grow=2) for n in range(1, 10)] + [order(n, grow=-5) for n in range(10, 15)]
    changed += [{"id": 15, "items": [], "tags": None}, {"id": 16, "items": [{"sku": None}]}]
    data = lines(schema_msg(), *[record("orders", d) for d in first], state({"n": 1}))
    data += lines(*[record("orders", d) for d in changed], state({"n": 2}))
    for _ in range(2):  # a second identical run leaves the same tables
        result = run_target(bin_path, tmp_path, data, **NESTED)
        assert result.returncode == 0, result.stderr.decode()
        source = {d["id"]: d for d in first + changed}
        assert_matches(tmp_path / "w.duckdb", source)
    assert query(
        tmp_path / "w.duckdb",
        'SELECT "_sdc_source_key_id", "_sdc_level_0_id", "_sdc_level_1_id", code, amount FROM orders__items__discounts WHERE "_sdc_source_key_id" = 1',
    ) == [
        (1, 0, 0, "", __import__("decimal").Decimal("0.10")),
        (1, 0, 1, "😀", None),
    ]


def test_deletes_reach_the_children(bin_path: Path, tmp_path: Path) -> None:
    props = {
        **ORDER_SCHEMA["properties"],
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    }
    docs = [order(n) for n in range(1, 6)]
    gone = {**order(1), "_sdc_deleted_at": "2026-02-01T00:00:00Z"}
    data = lines(
        schema_msg(props),
        *[record("orders", d) for d in docs],
        record("orders", gone),
        state({"n": 1}),
    )
    hard = tmp_path / "hard"
    hard.mkdir()
    assert run_target(bin_path, hard, data, hard_delete=True, **NESTED).returncode == 0
    assert query(
        hard / "w.duckdb", 'SELECT count(*) FROM orders__items WHERE "_sdc_source_key_id" = 1'
    ) == [(0,)]
    assert query(hard / "w.duckdb", "SELECT count(*) FROM orders") == [(4,)]
    soft = tmp_path / "soft"
    soft.mkdir()
    assert run_target(bin_path, soft, data, **NESTED).returncode == 0
    marked = query(
        soft / "w.duckdb",
        'SELECT count(*), count(_sdc_deleted_at) FROM orders__items WHERE "_sdc_source_key_id" = 1',
    )
    assert marked == [(1, 1)]
    assert query(
        soft / "w.duckdb",
        'SELECT count(_sdc_deleted_at) FROM orders__items WHERE "_sdc_source_key_id" <> 1',
    ) == [(0,)]


def test_new_element_properties_become_columns(bin_path: Path, tmp_path: Path) -> None:
    props = {**ORDER_SCHEMA["properties"]}
    items = {**props["items"], "items": {**props["items"]["items"]}}
    items["items"]["properties"] = {
        **items["items"]["properties"],
        "color": {"type": ["string", "null"]},
    }
    props["items"] = items
    doc = {**order(3), "items": [{"sku": "A", "color": "blue"}]}
    data = lines(
        schema_msg(),
        record("orders", order(3)),
        state({"n": 1}),
        schema_msg(props),
        record("orders", doc),
        state({"n": 2}),
    )
    assert run_target(bin_path, tmp_path, data, **NESTED).returncode == 0
    assert query(tmp_path / "w.duckdb", "SELECT sku, color FROM orders__items") == [("A", "blue")]


def test_a_keyless_stream_appends_with_load_ids(bin_path: Path, tmp_path: Path) -> None:
    msg = {**schema_msg(), "key_properties": []}
    data = lines(
        msg,
        record("orders", {"id": 1, "tags": ["a", "b"]}),
        record("orders", {"id": 2, "tags": ["c"]}),
        state({"n": 1}),
    )
    for _ in range(2):
        assert run_target(bin_path, tmp_path, data, **NESTED).returncode == 0
    rows = query(
        tmp_path / "w.duckdb",
        'SELECT o.id, t.value FROM orders o JOIN orders__tags t ON t."_sdc_source_key__sdc_load_id" = o._sdc_load_id AND t."_sdc_source_key__sdc_row_index" = o._sdc_row_index ORDER BY 1, 2',
    )
    assert rows == [(1, "a"), (1, "a"), (1, "b"), (1, "b"), (2, "c"), (2, "c")]


def test_kill_mid_load_then_resume(bin_path: Path, tmp_path: Path) -> None:
    docs = [order(n) for n in range(1, 3001)]
    data = lines(
        schema_msg(), *[m for d in docs for m in (record("orders", d), state({"at": d["id"]}))]
    )
    cfg = tmp_path / "config.json"
    db = tmp_path / "w.duckdb"
    cfg.write_text(__import__("json").dumps({"path": str(db), "batch_size_rows": 100, **NESTED}))
    proc = subprocess.Popen(
        [str(bin_path / "target-duckdb"), "--config", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(data[: len(data) // 2])
    proc.stdin.flush()
    proc.stdout.readline()  # a batch committed
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = reassemble(tables(db))
    assert committed and len(committed) < len(docs)
    for key, doc in committed.items():
        assert doc == canonical(docs[key - 1])
    result = run_target(
        bin_path, tmp_path, lines(schema_msg(), *[record("orders", d) for d in docs]), **NESTED
    )
    assert result.returncode == 0, result.stderr.decode()
    assert_matches(db, {d["id"]: d for d in docs})


def test_two_properties_on_one_column_is_one_error_line(bin_path: Path, tmp_path: Path) -> None:
    props = {
        "id": {"type": "integer"},
        "a": {"type": "object", "properties": {"b": {"type": "string"}}},
        "a__b": {"type": "string"},
    }
    result = run_target(bin_path, tmp_path, lines(schema_msg(props)), **NESTED)
    assert result.returncode == 65
    assert error_line(result) == (
        "target-duckdb: error: stdin line 1, stream 'orders': table 'orders': properties a.b and "
        "a__b both become column 'a__b': rename one in the tap or a mapper, or set nested: json"
    )


def test_activate_version_retires_the_children_of_retired_parents(
    bin_path: Path, tmp_path: Path
) -> None:
    def full(version: int, ids: range) -> bytes:
        return lines(
            *[record("orders", order(n), version=version) for n in ids],
            {"type": "ACTIVATE_VERSION", "stream": "orders", "version": version},
        )

    # orders 4-7 come first with no version (an incremental sync), then two full-table syncs
    first = lines(schema_msg(), *[record("orders", order(n)) for n in range(4, 8)])
    first += full(1, range(1, 8))
    then = lines(
        schema_msg(), {"type": "RECORD", "stream": "orders", "record": {"id": 1, "tags": ["a"]}}
    )
    # the last version has no tags at all: retiring 4-7 must still reach orders__tags
    last = lines(
        *[record("orders", {**order(n), "tags": None}, version=2) for n in range(1, 4)],
        {"type": "ACTIVATE_VERSION", "stream": "orders", "version": 2},
    )
    data = first + then + last + lines(state({"n": 1}))
    hard = tmp_path / "hard"
    hard.mkdir()
    assert run_target(bin_path, hard, data, hard_delete=True, **NESTED).returncode == 0
    assert_matches(hard / "w.duckdb", {n: {**order(n), "tags": None} for n in range(1, 4)})
    soft = tmp_path / "soft"
    soft.mkdir()
    assert run_target(bin_path, soft, data, **NESTED).returncode == 0
    live = 'SELECT DISTINCT "_sdc_source_key_id" FROM orders__tags WHERE _sdc_deleted_at IS NULL ORDER BY 1'
    assert query(soft / "w.duckdb", live) == []
    gone = 'SELECT DISTINCT "_sdc_source_key_id" FROM orders__tags WHERE _sdc_deleted_at IS NOT NULL ORDER BY 1'
    assert query(soft / "w.duckdb", gone) == [(4,), (5,), (7,)]  # order 6 has no tags


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
    bin_path: Path, tmp_path: Path
) -> None:
    """A value inside a document is checked against its schema as the record's own fields are,
    never truncated (1.5 is no BIGINT), and refused in one line naming its line and path."""
    fix = "(fix the value at the source, or change the field's type in the SCHEMA)"
    for qty, problem in ((1.5, f"1.5 is not integer {fix}"), ("x", f"'x' is not integer {fix}")):
        doc = {"id": 1, "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": qty}]}
        data = lines(schema_msg(SMALL), record("orders", doc), state({"n": 1}))
        done = run_target(bin_path, tmp_path, data, db=tmp_path / f"{qty}.duckdb", **NESTED)
        assert done.returncode == 65
        assert error_line(done) == (
            f"target-duckdb: error: stdin line 2, stream 'orders', field 'items[1].qty': {problem}"
        )
