"""A map applies to its stream whatever the tap's JSON writer does with the stream's name: raw
UTF-8 (orjson, tap-postgres, tap-mysql), `\\u00e9` escapes (Python's json, singer-sdk), an
escaped quote or slash. The mapper skips a chunk of input that mentions no mapped stream; it
looked for the name only as Python's json.dumps spells it, so a chunk holding only a stream
named `Wéird "name" 🎉` went out unmapped (a hashed property in clear, exit 0), and a later
chunk's RECORD of it was refused as coming before its SCHEMA."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

BIN = Path(sys.executable).parent
NAMES = ['Wéird "name" 🎉', "clients/eu", "ünïcode", 'a"b\\c']


def _lines(name: str, spelling: str) -> bytes:
    schema = {
        "type": "SCHEMA",
        "stream": name,
        "schema": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "email": {"type": ["string", "null"]}},
        },
        "key_properties": ["id"],
    }
    record = {"type": "RECORD", "stream": name, "record": {"id": 1, "email": "alice@example.com"}}
    state = {"type": "STATE", "value": {"bookmarks": {name: {"id": 1}}}}
    messages = [schema, record, state]
    if spelling == "utf-8":
        return b"".join(orjson.dumps(m) + b"\n" for m in messages)
    text = "".join(json.dumps(m) + "\n" for m in messages)  # \u00e9, \ud83c\udf89
    if spelling == "slash":
        text = text.replace("/", "\\/")
    return text.encode()


@pytest.mark.parametrize("spelling", ["utf-8", "ascii", "slash"])
@pytest.mark.parametrize("name", NAMES)
def test_a_mapped_stream_is_mapped_whatever_its_name_and_spelling(
    tmp_path: Path, name: str, spelling: str
) -> None:
    config = tmp_path / "maps.json"
    config.write_text(json.dumps({"stream_maps": {name: {"email": "md5(email)"}}}))
    done = subprocess.run(
        [str(BIN / "mapper-stream-maps"), "--config", str(config)],
        input=_lines(name, spelling),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [m["type"] for m in out] == ["SCHEMA", "RECORD", "STATE"]
    assert out[1]["stream"] == name
    assert out[1]["record"] == {"id": 1, "email": hashlib.md5(b"alice@example.com").hexdigest()}
    assert b"alice@example.com" not in done.stdout
