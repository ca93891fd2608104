"""mapper-stream-maps passes numbers and documents as they left: a record it keeps as it is
(a filter that lets it through) comes out with every value as the tap wrote it, and a mapped one
(a property dropped, one copied, one computed) keeps the text of every number the map passes
through: `1.50`, `1E5`, `1e-7`, `-0`, `-0.0`, 17+ digits, `1E400`, at the record's top level and
inside objects and arrays, beside strings with control characters and emoji, '' apart from
null, and scalars where objects are usual. Each output record is compared with its input line,
value by value, as JSON text that keeps a number's spelling (tapwell.singer.wire.loads_spelled)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tapwell.singer.wire import dumps, loads_spelled

BIN = Path(sys.executable).parent
OPEN = {"type": ["null", "object", "array", "string", "number"]}
SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "x": {"type": ["null", "number"]},
            "s": {"type": ["null", "string"]},
            "doc": OPEN,
            "note": {"type": ["null", "string"]},
        },
    },
    "key_properties": ["id"],
}
# (x, s, doc) as the tap writes them
VALUES: list[tuple[str, str, str]] = [
    ("1.50", '"1.50"', '{"amount":1.50}'),
    ("1E5", '"1E5"', '{"a":1E5,"b":1e5,"c":1e+5,"d":2.0E0,"e":-1.0E-5}'),
    ("1e-7", '"\\u001f \\u000b \\n \\u007f"', '{"w":1e-7,"v":[1E-7,0.000001]}'),
    ("-0", '""', '{"z":-0,"zz":-0.0,"zzz":0.00}'),
    ("-0.0", "null", "[1.50,2.0,3,-0,1e2,0.00001]"),
    ("12345678901234567", '"😀 ñ é"', '{"digits17":12345678901234567,"f":0.1000000000000000055511151231257827}'),
    ("18446744073709551616", '"\\ud83d\\ude00"', '{"big":18446744073709551616,"neg":-9223372036854775809}'),
    ("1E400", '"x"', '{"huge":1E400,"tiny":1.5e-400}'),
    ("0.1", '"a"', '{"n":{"m":[{"x":2.50,"y":[10.10,{"z":1E-7}]}]},"e":"","u":null}'),
    ("100000.0", '"b"', "1.50"),  # a scalar where an object is usual
    ("2", '"c"', '"1.50"'),
    ("3", '"d"', "[[],{},[[-0]]]"),
    ("null", '"e"', "null"),
]  # fmt: skip


def record_lines(blanks: bool) -> list[str]:
    sep = ", " if blanks else ","
    return [
        f'{{"type":"RECORD","stream":"t","record":{{"id":{i}{sep}"x":{x}{sep}"s":{s}'
        f'{sep}"doc":{d}{sep}"note":"n{i}"}}}}'
        for i, (x, s, d) in enumerate(VALUES)
    ]


def run(maps: dict[str, Any], lines: list[str], tmp_path: Path) -> list[dict[str, Any]]:
    """The mapper's output records, every number keeping the text it was written with."""
    path = tmp_path / "mapper.json"
    path.write_text(json.dumps({"stream_maps": maps}))
    data = [json.dumps(SCHEMA), *lines, '{"type":"STATE","value":{"done":1}}']
    done = subprocess.run(
        [str(BIN / "mapper-stream-maps"), "--config", str(path)],
        input="".join(line + "\n" for line in data).encode(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    out = [loads_spelled(line) for line in done.stdout.splitlines()]
    return [m["record"] for m in out if m["type"] == "RECORD"]


def texts(record: dict[str, Any]) -> dict[str, str]:
    """Each value of the record as JSON text with its numbers as they were written."""
    return {k: dumps(v).decode() for k, v in record.items()}


@pytest.mark.parametrize("blanks", [False, True], ids=["minified", "blanks"])
def test_a_record_kept_as_it_is_keeps_every_value(tmp_path, blanks):
    lines = record_lines(blanks)
    got = run({"t": {"__filter__": "id >= 0"}}, lines, tmp_path)
    assert len(got) == len(lines)
    for line, record in zip(lines, got, strict=True):
        assert texts(record) == texts(loads_spelled(line)["record"]), line


@pytest.mark.parametrize("blanks", [False, True], ids=["minified", "blanks"])
def test_a_mapped_record_keeps_the_numbers_it_passes_through(tmp_path, blanks):
    lines = record_lines(blanks)
    maps = {"t": {"note": None, "copy": "doc", "x2": "x", "doubled": "id * 2"}}
    got = run(maps, lines, tmp_path)
    assert len(got) == len(lines)
    for i, (line, record) in enumerate(zip(lines, got, strict=True)):
        source = texts(loads_spelled(line)["record"])
        del source["note"]
        expected = {**source, "copy": source["doc"], "x2": source["x"], "doubled": str(2 * i)}
        assert texts(record) == expected, line
