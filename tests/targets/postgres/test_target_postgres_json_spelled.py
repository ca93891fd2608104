"""target-postgres hands jsonb each document's numbers as the source spelled them, so a jsonb
column holds what PostgreSQL itself makes of the source's text (`'...'::jsonb`): `1.50` keeps its
scale, where a float on the way made it 1.5. jsonb is the server's own type: it writes `1E5` as
100000 and `-0` as 0 (numeric), keys sorted by length, a blank after `:` and `,`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import query, run_target, schema, state

pytestmark = pytest.mark.services

DOCS = [
    '{"amount":1.50}',
    '{"a":1E5,"b":1e+5,"c":2.0E0,"d":-1.0E-5,"e":1e-7,"f":0.000001}',
    '{"z":-0,"zz":-0.0,"zzz":0.00}',
    '{"huge":1E400}',
    "[1.50, 2.0, 3, -0, 1e2]",
    '{"n":{"m":[{"x":2.50,"y":[10.10]}]}}',
    '{"digits17":12345678901234567,"f":0.1000000000000000055511151231257827}',
    '{"s":"\\u00e9 \\/ \\u001f \\n \\ud83d\\ude00","emoji":"😀","digits":"1.50"}',
    '{"a": 1.5, "b": [1, "x"]}',
]


def test_jsonb_holds_what_postgresql_makes_of_the_source_text(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    props = {"id": {"type": "integer"}, "doc": {"type": ["null", "object", "array"]}}
    messages: list[Any] = [schema("docs", props, ["id"])]
    messages += [
        f'{{"type":"RECORD","stream":"docs","record":{{"id":{i},"doc":{d}}}}}'
        for i, d in enumerate(DOCS)
    ]
    messages.append(state({"n": 1}))
    done = run_target(pg_db, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    stored = query(pg_db, "SELECT doc::text FROM docs ORDER BY id")
    own = [query(pg_db, "SELECT %s::jsonb::text", (d,))[0] for d in DOCS]
    assert stored == own
    assert stored[0] == ('{"amount": 1.50}',)


def test_jsonb_from_a_jsonl_batch_file_is_what_postgresql_makes_of_its_text(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """The jsonl fast lane: each file line's documents as the line spells them (they went
    through float: 1.50 was stored 1.5, 2.50 as 2.5)."""
    import json

    spool = tmp_path / "spool"
    spool.mkdir()
    f = spool / "docs-0.jsonl"
    f.write_text("".join(f'{{"id":{i},"doc":{d}}}\n' for i, d in enumerate(DOCS)), "utf-8")
    batch = {
        "type": "BATCH",
        "stream": "docs",
        "encoding": {"format": "jsonl", "compression": "none"},
        "manifest": [f"file://{f}"],
    }
    props = {"id": {"type": "integer"}, "doc": {"type": ["null", "object", "array"]}}
    messages: list[Any] = [schema("docs", props, ["id"]), json.dumps(batch), state({"n": 1})]
    done = run_target({**pg_db, "batch_root": str(spool)}, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    stored = query(pg_db, "SELECT doc::text FROM docs ORDER BY id")
    assert stored == [query(pg_db, "SELECT %s::jsonb::text", (d,))[0] for d in DOCS]
