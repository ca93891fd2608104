"""Bugs the randomized differential test (test_nested_fuzz.py) found in `nested: tables`, each
pinned by the smallest input that shows it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import helpers.duckdb_target as duck
import pytest
from helpers.pg_target import query, run_target
from tapwell.singer.wire import dumps

BIN = Path(sys.executable).parent
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


# the JSON column's text is checked against the line since 2026-12-06: raw.py (json) and
# children_sql.py (tables) send a document DuckDB writes otherwise to Python
@pytest.mark.parametrize("mode", ["json", "tables"])
def test_duckdb_json_text_is_the_same_with_raw_lines(mode: str, tmp_path: Path) -> None:
    """A JSON column read from the RECORD lines (raw.py, and children_sql.py through
    raw.column) holds DuckDB's spelling of the document, `"\\u001F"`, where the Python path
    holds orjson's `"\\u001f"`: the same document, two texts in one column depending on the
    path a batch took (text comparisons and GROUP BY on the column see two values)."""
    props = {
        "id": {"type": "integer"},
        "j": {"type": ["array", "null"]},
        "o": {"type": ["object", "null"], "properties": {"j": {"type": ["object", "null"]}}},
    }
    doc = {"id": 1, "j": ["\x01\x1f"], "o": {"j": {"a": "\x1f"}}}
    data = duck.lines(duck.schema("s", props), duck.record("s", doc), duck.state({}))
    got = []
    for raw_lines in (True, False):
        folder = tmp_path / str(raw_lines)
        folder.mkdir()
        done = duck.run_target(BIN, folder, data, nested=mode, raw_lines=raw_lines)
        assert done.returncode == 0, done.stderr
        got.append(duck.query(folder / "w.duckdb", "SELECT * FROM s"))
    assert got[0] == got[1]


@pytest.mark.parametrize("mode", ["json", "tables"])
def test_postgres_keeps_the_microsecond_python_reads(
    mode: str, pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """A date-time with 7-9 fraction digits passes the check (Python's fromisoformat reads it,
    dropping the digits past the microsecond, as target-duckdb stores it); target-postgres
    COPYed the text as it came and PostgreSQL rounded: .9999995 became the next second, one
    instant in target-duckdb and another in target-postgres for the same record. Both truncate
    now (tests/targets/test_fraction_digits.py)."""
    props = {
        "id": {"type": "integer"},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "o": {
            "type": ["object", "null"],
            "properties": {"at": {"type": "string", "format": "date-time"}},
        },
    }
    schema = {
        "type": "SCHEMA",
        "stream": "s",
        "schema": {"type": "object", "properties": props},
        "key_properties": ["id"],
    }
    at = "2026-01-01T00:00:00.9999995+00:00"
    record = {"type": "RECORD", "stream": "s", "record": {"id": 1, "at": at, "o": {"at": at}}}
    done = run_target({**pg_db, "nested": mode}, _lines(schema, record), tmp_path)
    assert done.returncode == 0, done.stderr
    column = "o__at" if mode == "tables" else "o->>'at'"
    got = query(pg_db, f"SELECT at::text, {column} FROM s")
    assert got[0][0] == "2026-01-01 00:00:00.999999+00", got


def test_postgres_overwrite_clears_again_after_a_refused_batch(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """nested_copy.py cleared an overwritten stream's tables before its savepoint and noted
    them cleared; when the batch then failed (a bad value the ordinary way names), the
    transaction rolled back, and the records before the bad line were loaded again without
    the delete: the previous run's rows came back beside them."""
    props = {
        "id": {"type": "integer"},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    }
    schema = {
        "type": "SCHEMA",
        "stream": "s",
        "schema": {"type": "object", "properties": props},
        "key_properties": ["id"],
    }

    def rec(n: int, tags: list[Any]) -> dict[str, Any]:
        return {"type": "RECORD", "stream": "s", "record": {"id": n, "tags": tags}}

    state = {"type": "STATE", "value": {"n": 1}}
    config = {**pg_db, "nested": "tables", "load_method": "overwrite"}
    first = _lines(schema, rec(1, ["a"]), rec(2, ["b"]), state)
    assert run_target(config, first, tmp_path).returncode == 0
    second = _lines(schema, rec(9, ["c"]), state, rec(5, [1.5]))
    done = run_target(config, second, tmp_path)
    assert done.returncode == 65, done.stderr
    assert "field 'tags[0]': 1.5 is not string" in done.stderr
    assert query(pg_db, "SELECT id FROM s") == [(9,)]
    assert query(pg_db, "SELECT _sdc_source_key_id, value FROM s__tags") == [(9, "c")]
