"""mapper-stream-maps as a user runs it: a process between a tap's output and a target. Its
errors are one line (stream, line, property, expression), never a traceback, never a value or
the hash key in clear; what no map touches comes out byte for byte."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
KEY = "k-7f3a9c-never-printed"

SCHEMA = {
    "type": "SCHEMA",
    "stream": "customers",
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": ["string", "null"]},
            "amount": {"type": "number"},
            "at": {"type": "string", "format": "date-time"},
        },
    },
    "key_properties": ["id"],
}
LINES = [
    json.dumps(SCHEMA),
    '{"type":"RECORD","stream":"customers","record":{"id":1,"email":"alice@example.com","amount":10.10,"at":"2024-02-29T23:59:59.999999+01:00"}}',
    '{"type": "STATE", "value": {"bookmarks": {"customers": {"id": 1}}}}',
    '{"type":"RECORD","stream":"customers","record":{"id":2,"email":null,"amount":1e5,"at":"2024-03-01T00:00:00.000001+00:00"}}',
    '{"type":"RECORD","stream":"other","record":{"id":99999999999999999999999,"x":0.30000000000000004,"s":"\\u00e9 \\ud83d\\ude00"}}',
    '{"type":"STATE","value":{"bookmarks":{"customers":{"id":2}}}}',
]


def run(
    config: dict[str, Any], lines: list[str], tmp_path: Path
) -> subprocess.CompletedProcess[bytes]:
    path = tmp_path / "mapper.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / "mapper-stream-maps"), "--config", str(path)],
        input="".join(line + "\n" for line in lines).encode(),
        capture_output=True,
        timeout=60,
    )


def hashing(expr: str = "hmac_sha256(email)") -> dict[str, Any]:
    return {
        "stream_maps": {"customers": {"email": expr}},
        "stream_map_config": {"hash_key": KEY},
    }


def test_hmac_column_and_everything_else_exact(tmp_path):
    done = run(hashing(), LINES, tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode().splitlines()
    assert json.loads(out[0])["schema"]["properties"]["email"] == {"type": ["string", "null"]}
    digest = hmac.new(KEY.encode(), b"alice@example.com", hashlib.sha256).hexdigest()
    assert out[1] == (
        '{"type":"RECORD","stream":"customers","record":{"id":1,"email":"' + digest + '",'
        '"amount":10.10,"at":"2024-02-29T23:59:59.999999+01:00"}}'
    )
    assert out[2] == LINES[2]  # STATE untouched, in order
    assert '"email":null' in out[3] and '"amount":1e5' in out[3]
    assert out[4:] == LINES[4:]  # a stream without a map: the same bytes
    assert b"alice@example.com" not in done.stdout + done.stderr


def test_passthrough_is_identical_to_the_input(tmp_path):
    done = run({"stream_maps": {"nothing_here": {"x": None}}}, LINES, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == "".join(line + "\n" for line in LINES)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"stream_maps": {"customers": {"emial": None}}},
            "mapper-stream-maps: error: input line 1, the SCHEMA of stream 'customers': "
            "stream_maps.customers (stream 'customers'): cannot drop 'emial': stream 'customers' "
            "has no such property (its properties: amount, at, email, id); fix the name",
        ),
        (
            hashing("hmac_sha256(emial)"),
            "mapper-stream-maps: error: input line 1, the SCHEMA of stream 'customers': "
            "stream_maps.customers (stream 'customers').email: expression 'hmac_sha256(emial)' "
            "names 'emial', which stream 'customers' does not have (its properties: amount, at, "
            "email, id); fix the name",
        ),
        (  # a function singer-sdk's expressions do not have is not called a missing property
            hashing("len(email)"),
            "mapper-stream-maps: error: input line 1, the SCHEMA of stream 'customers': "
            "stream_maps.customers (stream 'customers').email: expression 'len(email)' calls "
            "'len', which is not a function an expression may call (those are: bool, datetime, "
            "float, hmac_sha256, int, json, md5, rand, randint, sha256, str); fix the name",
        ),
        (
            {"stream_maps": {"customers": {"id": None}}},
            "mapper-stream-maps: error: input line 1, the SCHEMA of stream 'customers': "
            "stream_maps.customers (stream 'customers'): 'id' is a key property and cannot be "
            "dropped; set __key_properties__ to the new key (or null for none)",
        ),
        (  # another map's alias, read (as singer-sdk does) at this stream's SCHEMA: named
            {"stream_maps": {"customers": {}, "orders eu": {"__alias__": "orders 2024"}}},
            "mapper-stream-maps: error: input line 1, the SCHEMA of stream 'customers': "
            "stream_maps.orders eu.__alias__ 'orders 2024' is not a valid expression (invalid "
            "syntax (<unknown>, line 1)); write a name with blanks or quotes as a quoted "
            "string: \"'orders 2024'\"",
        ),
        (
            {"stream_maps": {"customers": "drop"}},
            "mapper-stream-maps: error: stream_maps.customers must be an object of property -> "
            "expression, or null to drop the stream (got str)",
        ),
    ],
)
def test_config_errors_name_the_stream_and_property(tmp_path, config, message):
    done = run(config, LINES, tmp_path)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == message
    assert done.stdout == b""  # nothing of a stream whose map is wrong goes through


def test_an_expression_failing_on_a_record_is_one_line_without_the_value(tmp_path):
    done = run(hashing("md5(email)"), LINES, tmp_path)  # email is null on input line 4
    assert done.returncode == 65
    assert done.stderr.decode().strip() == (
        "mapper-stream-maps: error: input line 4, stream 'customers', field 'email': expression "
        "'md5(email)' failed on this record (AttributeError); fix the expression (e.g. guard "
        "nulls: `md5(x) if x else None`)"
    )
    # what came before the bad line, including its STATE, was written
    assert done.stdout.decode().splitlines()[2] == LINES[2]
    failing = run(hashing("int(email)"), LINES, tmp_path)
    assert failing.returncode == 65 and b"alice" not in failing.stderr


def test_the_hash_key_is_masked_in_errors(tmp_path):
    config = hashing("config['hash_key'] + nope")
    done = run(config, LINES, tmp_path)
    assert done.returncode == 2 and KEY.encode() not in done.stderr
    bad = run(
        {**hashing(), "stream_map_config": {"hash_key": KEY, "x": 1}, "flattening_enabled": True},
        LINES,
        tmp_path,
    )
    assert bad.returncode == 2 and KEY.encode() not in bad.stderr


def test_about_and_version(tmp_path):
    about = subprocess.run([str(BIN / "mapper-stream-maps"), "--about"], capture_output=True)
    assert json.loads(about.stdout)["name"] == "mapper-stream-maps"
    version = subprocess.run([str(BIN / "mapper-stream-maps"), "--version"], capture_output=True)
    assert version.stdout.decode().startswith("mapper-stream-maps ")
