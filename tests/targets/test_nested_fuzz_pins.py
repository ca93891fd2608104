"""Bugs the randomized differential test (test_nested_fuzz.py) found in `nested: tables`, each
pinned by the smallest input that shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.pg_target import query, run_target
from tapwell.singer.wire import dumps

LONG = "lengthy_" * 9 + "b"  # 73 bytes: its column is shortened to 63


def _lines(*messages: dict[str, Any]) -> str:
    return "".join(dumps(m).decode() + "\n" for m in messages)


def test_postgres_upsert_keeps_a_long_named_property(pg_db: dict[str, Any], tmp_path: Path) -> None:
    """A property whose name is shortened was taken for an old `nested: json` column the
    tables no longer fill (its name is not the plan's shortened one), so every upsert set it to
    NULL and each run warned about it."""
    props = {
        "code": {"type": "string"},
        LONG: {"type": ["string", "null"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    }
    schema = {
        "type": "SCHEMA",
        "stream": "orders",
        "schema": {"type": "object", "properties": props},
        "key_properties": ["code"],
    }
    config = {**pg_db, "nested": "tables"}
    for value in ("y", "x"):
        record = {"type": "RECORD", "stream": "orders", "record": {"code": "a", LONG: value}}
        done = run_target(config, _lines(schema, record), tmp_path)
        assert done.returncode == 0, done.stderr
        assert "WARNING" not in done.stderr, done.stderr
    assert query(pg_db, "SELECT * FROM orders") == [("a", "x")]
