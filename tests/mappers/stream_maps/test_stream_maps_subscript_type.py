"""A property copied by `record['name']` or `_['name']` (how an expression names a property
with quotes or blanks) has that property's type in the mapped SCHEMA, as a bare name has. It
was typed string, so a copied number was refused by the target (target-jsonl: '... is not
string', exit 65)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.targets import make_target

BIN = Path(sys.executable).parent
NAME = 'a "b" é'
TYPE = {"type": ["null", "number"], "x-precision": 30, "x-scale": 10}
LINES = [
    {
        "type": "SCHEMA",
        "stream": "s",
        "schema": {"type": "object", "properties": {"id": {"type": "integer"}, NAME: TYPE}},
        "key_properties": ["id"],
    },
    {"type": "RECORD", "stream": "s", "record": {"id": 1, NAME: 0}},
    {"type": "STATE", "value": {"bookmarks": {"s": {}}}},
]
RECORD = (
    '{"type":"RECORD","stream":"s","record":{"id":2,"a \\"b\\" é":12345678901234567890.0123456789}}'
)


@pytest.mark.parametrize(
    "expr",
    [
        "record['a \"b\" é']",
        '_["a \\"b\\" é"]',
        " record['a \"b\" é'] ",  # blanks around it, as YAML keeps them from a quoted value
        "(record['a \"b\" é'])",
    ],
)
def test_a_subscripted_copy_keeps_the_property_type(tmp_path: Path, expr: str) -> None:
    config = tmp_path / "maps.json"
    config.write_text(json.dumps({"stream_maps": {"s": {"copy": expr}}}))
    lines = [json.dumps(m) for m in LINES]
    lines.insert(2, RECORD)
    mapped = subprocess.run(
        [str(BIN / "mapper-stream-maps"), "--config", str(config)],
        input="".join(line + "\n" for line in lines).encode(),
        capture_output=True,
        timeout=60,
    )
    assert mapped.returncode == 0, mapped.stderr
    schema = json.loads(mapped.stdout.splitlines()[0])["schema"]["properties"]["copy"]
    assert schema == TYPE
    loaded = make_target("target-jsonl", BIN, tmp_path).run(mapped.stdout)
    assert loaded.returncode == 0, loaded.stderr.decode()
    out = (tmp_path / "out" / "s.jsonl").read_bytes()
    assert b'"copy":12345678901234567890.0123456789' in out
