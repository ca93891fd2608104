"""`_sdc_unchanged` (LOG_BASED records leaving out unchanged TOASTed columns): on upsert the
listed columns keep their stored values, row by row; the property is never a column."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from tapwell.sdk.target import TargetLoop
from tapwell.targets.duckdb.loader import DuckDBLoader

PROPS = {
    "id": {"type": "integer"},
    "note": {"type": ["null", "string"]},
    "doc": {"type": ["null", "string"]},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10000000000},
    "_sdc_unchanged": {"type": ["null", "array"], "items": {"type": "string"}},
}
BIG = "🦆 \"quoted\" 'single' " + "x" * 5000  # a TOASTed-size value


def lines(*messages: dict) -> bytes:
    return b"".join(json.dumps(m, ensure_ascii=False).encode() + b"\n" for m in messages)


def schema(keys: list[str]) -> dict:
    return {
        "type": "SCHEMA",
        "stream": "docs",
        "schema": {"type": "object", "properties": PROPS},
        "key_properties": keys,
    }


def rec(**values: object) -> dict:
    return {"type": "RECORD", "stream": "docs", "record": values}


def state(n: int) -> dict:
    return {"type": "STATE", "value": {"n": n}}


def run(db: Path, data: bytes, **config: object) -> list[dict]:
    out = io.BytesIO()
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, out).run(io.BytesIO(data))
    return [json.loads(x) for x in out.getvalue().splitlines()]


def rows(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT id, note, doc, amount FROM docs ORDER BY id").fetchall()
    finally:
        con.close()


def columns(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'docs'"
            ).fetchall()
        ]
    finally:
        con.close()


def test_upsert_keeps_the_stored_values_of_listed_columns(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    run(
        db,
        lines(
            schema(["id"]),
            rec(id=1, note="first", doc=BIG, amount=10.01),
            rec(id=2, note="", doc="two", amount=None),
            rec(id=5, note="five", doc="kept across batches", amount=5.55),
            state(1),
        ),
    )
    out = run(
        db,
        lines(
            schema(["id"]),
            # stored key 1: doc kept, note and amount updated
            rec(id=1, note="changed ✓", amount=20.02, _sdc_unchanged=["doc"]),
            # stored key 2: a full record (no list): every column updated, '' and NULL kept apart
            rec(id=2, note=None, doc="", amount=0.1, _sdc_unchanged=None),
            # a new key: nothing stored, the listed column is NULL
            rec(id=3, note="new", amount=3.0, _sdc_unchanged=["doc"]),
            # a key inserted earlier in this batch: the listed columns come from that record
            rec(id=4, note="four", doc="from the batch\n\t", amount=4.4),
            rec(id=4, note="four again", _sdc_unchanged=["doc", "amount"]),
            # two updates of a stored key in one batch, both leaving doc out
            rec(id=5, note="5a", amount=5.0, _sdc_unchanged=["doc"]),
            rec(id=5, note="5b", _sdc_unchanged=["doc", "amount"]),
            state(2),
        ),
    )
    assert out == [{"n": 2}]
    assert rows(db) == [
        (1, "changed ✓", BIG, Decimal("20.02")),
        (2, None, "", Decimal("0.10")),
        (3, "new", None, Decimal("3.00")),
        (4, "four again", "from the batch\n\t", Decimal("4.40")),
        (5, "5b", "kept across batches", Decimal("5.00")),
    ]
    assert "_sdc_unchanged" not in columns(db)


def test_without_keys_the_listed_columns_are_null_with_one_warning(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    warned: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warned.append(record.getMessage())

    catch = Catch(logging.WARNING)
    logging.getLogger("target-duckdb").addHandler(catch)
    try:
        run(
            db,
            lines(
                schema([]),
                rec(id=1, note="a", doc="stored", amount=1.0),
                rec(id=1, note="b", amount=2.0, _sdc_unchanged=["doc"]),
                state(1),
                rec(id=1, note="c", amount=3.0, _sdc_unchanged=["doc"]),
                state(2),
            ),
            batch_size_rows=2,
        )
    finally:
        logging.getLogger("target-duckdb").removeHandler(catch)
    assert sorted(rows(db), key=lambda r: r[1]) == [
        (1, "a", "stored", Decimal("1.00")),
        (1, "b", None, Decimal("2.00")),
        (1, "c", None, Decimal("3.00")),
    ]
    warned = [w for w in warned if "_sdc_unchanged" in w]
    assert len(warned) == 1 and "load as NULL" in warned[0]
    assert "_sdc_unchanged" not in columns(db)


def test_a_bad_list_is_named_by_line_and_field(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with pytest.raises(Exception) as info:
        run(db, lines(schema(["id"]), rec(id=1, note="x", _sdc_unchanged="doc"), state(1)))
    text = str(info.value)
    assert "line 2" in text and "_sdc_unchanged" in text
