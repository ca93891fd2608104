"""RECORD lines that are not UTF-8, read by DuckDB (targets/duckdb/raw.py): the lines reach SQL
as text nobody decoded, and the JSON reader must refuse every byte sequence Python's decode
refuses, so such a line is the usual one error line, with the same rows committed before it,
whether raw_lines is on or off; code points at the edges of UTF-8 load as the Python path
loads them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from helpers.duckdb_target import lines, query, record, run_target, schema, state
from tapwell.sdk.target import TargetLoop
from tapwell.targets.duckdb.loader import DuckDBLoader

PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "note": {"type": ["null", "string"]},
    "doc": {"type": ["null", "object"]},
}
NOT_UTF8 = [
    b"\xff",  # never in UTF-8
    b"\x80",  # a continuation byte alone
    b"\xc0\x80",  # an overlong NUL
    b"\xe0\x80\x80",  # overlong, three bytes
    b"\xed\xa0\x80",  # a surrogate (U+D800)
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xe2\x82",  # cut short
]


def good(i: int) -> dict[str, Any]:
    return record("t", {"id": i, "note": f"n{i}", "doc": {"k": i}})


def bad_lines(seq: bytes) -> list[bytes]:
    """The bytes in a string value, in a document, in a key, and after the line's object."""
    return [
        b'{"type":"RECORD","stream":"t","record":{"id":2,"note":"a' + seq + b'b","doc":null}}\n',
        b'{"type":"RECORD","stream":"t","record":{"id":2,"note":"x","doc":{"k":"' + seq + b'"}}}\n',
        b'{"type":"RECORD","stream":"t","record":{"id":2,"note":"x","doc":{"k' + seq + b'":1}}}\n',
        b'{"type":"RECORD","stream":"t","record":{"id":2,"note":"x","doc":null}}' + seq + b"\n",
    ]


@pytest.mark.parametrize("seq", NOT_UTF8)
def test_a_line_that_is_not_utf8_is_the_usual_error_both_ways(bin_path, tmp_path, seq):
    rest = [good(i) for i in range(3, 30)]
    for n, bad in enumerate(bad_lines(seq)):
        data = (
            lines(schema("t", PROPS, ["id"]), good(1), state({"n": 1}), *rest)
            + bad
            + lines(*rest, state({"n": 2}))
        )
        runs = {}
        for raw_lines in (True, False):
            db = tmp_path / f"{n}-{raw_lines}.duckdb"
            result = run_target(bin_path, tmp_path, data, db, raw_lines=raw_lines)
            err = result.stderr.decode()
            assert "Traceback" not in err, err
            loaded = query(db, "SELECT id FROM t ORDER BY id")
            runs[raw_lines] = (
                result.returncode,
                err.strip().splitlines()[-1],
                result.stdout,
                loaded,
            )
        assert runs[True] == runs[False], (seq, n)
        code, line, out, loaded = runs[True]
        assert code != 0 and "line 31" in line, line
        assert out == b'{"n":1}\n' and loaded == [(1,)]


def test_utf8_at_its_edges_loads_as_the_python_path(tmp_path):
    notes = ["\u0080", "\u07ff", "\u0800", "\uffff", "\U00010000", "\U0010ffff", "\ue000"]
    data = lines(
        schema("t", PROPS, ["id"]),
        *[record("t", {"id": i, "note": n, "doc": {n: n}}) for i, n in enumerate(notes)],
        state({"done": 1}),
    )
    loaded = {}
    for raw_lines in (True, False):
        db = tmp_path / f"{raw_lines}.duckdb"
        cfg = {"path": str(db), "raw_lines": raw_lines}
        TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))
        loaded[raw_lines] = query(db, "SELECT id, note, doc::VARCHAR FROM t ORDER BY id")
    assert loaded[True] == loaded[False]
    assert [r[1] for r in loaded[True]] == notes
