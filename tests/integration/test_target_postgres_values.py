"""target-postgres keeps values exactly: JSON scalars, NUL characters, a LATIN1 database, and
every column type it creates stays the same type when the stream loads again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import column_types, query, record, run_target, schema, state

pytestmark = pytest.mark.services

ANY_JSON = {"type": ["null", "object", "array", "string", "number", "integer", "boolean"]}
# JSON texts as a tap writes them (exact digits: never through a float), and jsonb's text back.
SCALARS = [
    ('"just a string"', '"just a string"', "string"),
    ('""', '""', "string"),
    ('"tab\\t \\"quoted\\" \\\\ back"', '"tab\\t \\"quoted\\" \\\\ back"', "string"),
    ("12.3456789012345678901234", "12.3456789012345678901234", "number"),
    ("12345678901234567890123", "12345678901234567890123", "number"),
    ("0", "0", "number"),
    ("-7.5", "-7.5", "number"),
    ("true", "true", "boolean"),
    ("false", "false", "boolean"),
    ('[1,"x",{"a":null}]', '[1, "x", {"a": null}]', "array"),
    ('{"nested":{"n":1.25}}', '{"nested": {"n": 1.25}}', "object"),
]


def test_json_columns_hold_scalars_exactly_run_twice(pg_db: dict[str, Any], tmp_path: Path) -> None:
    """Issue 11.6: a JSON column holds any JSON value (MariaDB JSON '"just a string"')."""
    props = {"id": {"type": "integer"}, "doc": ANY_JSON, "free": {}}
    messages: list[Any] = [schema("docs", props, ["id"])]
    messages += [
        f'{{"type":"RECORD","stream":"docs","record":{{"id":{i},"doc":{text},"free":{text}}}}}'
        for i, (text, _, _) in enumerate(SCALARS)
    ]
    messages += [record("docs", {"id": 99, "doc": None, "free": None}), state({"n": 1})]
    for _ in range(2):
        done = run_target(pg_db, messages, tmp_path)
        assert done.returncode == 0, done.stderr
        assert column_types(pg_db, "docs") == {"id": "bigint", "doc": "jsonb", "free": "jsonb"}
        rows = query(pg_db, "SELECT doc::text, free::text, jsonb_typeof(doc) FROM docs ORDER BY id")
        assert rows == [(back, back, kind) for _, back, kind in SCALARS] + [(None, None, None)]
