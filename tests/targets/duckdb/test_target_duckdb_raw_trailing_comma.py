"""A RECORD line with a comma before a closing bracket ({"a":1,}, [1, ]) is no JSON: DuckDB's JSON
reader takes it (raw.py), the Python path and target-postgres refuse it. Read in SQL or in Python,
it is the usual one error line, exit 65, with the rows and STATE of before it and nothing after;
",]" inside a string loads as the string, both ways, row by row alike."""

from __future__ import annotations

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

PROPS = {
    "id": {"type": "integer"},
    "doc": {"type": ["null", "object"]},
    "arr": {"type": ["null", "array"]},
    "note": {"type": ["null", "string"]},
}
HEAD = '{"type":"RECORD","stream":"t","record":{"id":2,'
BAD = [
    HEAD + '"doc":{"a":1,},"arr":null,"note":"y"}}',
    HEAD + '"doc":{"a":[1, ]},"arr":null,"note":"y"}}',
    HEAD + '"doc":null,"arr":[1,2,\t],"note":"y"}}',
    HEAD + '"doc":null,"arr":null,"note":"y",}}',
    HEAD + '"doc":null,"arr":null,"note":"y"},}',
    HEAD + '"doc":{"s":",]"},"arr":[{"b":1},],"note":"y"}}',  # one in a string, one not
]
SELECT = "SELECT id, doc::VARCHAR, arr::VARCHAR, note FROM t ORDER BY id"


def good(i: int) -> dict:
    return record("t", {"id": i, "doc": {"k": i}, "arr": [i], "note": f"n{i}"})


def data(bad: str) -> bytes:
    rest = [good(i) for i in range(3, 40)]
    return (
        lines(schema("t", PROPS, ["id"]), good(1), state({"n": 1}), *rest)
        + bad.encode()
        + b"\n"
        + lines(*rest, state({"n": 2}))
    )


@pytest.mark.parametrize("bad", BAD)
def test_a_trailing_comma_is_the_usual_error_both_ways(bin_path, tmp_path, bad):
    runs = {}
    for raw_lines in (True, False):
        db = tmp_path / f"{raw_lines}.duckdb"
        result = run_target(bin_path, tmp_path, data(bad), db, raw_lines=raw_lines)
        runs[raw_lines] = (result.returncode, error_line(result), result.stdout, query(db, SELECT))
    assert runs[True] == runs[False]
    code, line, out, loaded = runs[True]
    assert code == 65
    assert "line 41" in line and "trailing comma" in line and "fix" in line, line
    assert out == b'{"n":1}\n' and loaded == [(1, '{"k":1}', "[1]", "n1")]


def test_a_comma_and_bracket_in_strings_load_as_the_python_path(bin_path, tmp_path):
    notes = [",]", ", }", ",\t]", '",]', "a,}b"]
    msgs = [
        record("t", {"id": i, "doc": {n: n, "l": [n]}, "arr": [n, {"x": n}], "note": n})
        for i, n in enumerate(notes)
    ]
    body = lines(schema("t", PROPS, ["id"]), *msgs, state({"done": 1}))
    spaced = body.replace(b'","', b'", "')  # another writer's blanks after commas
    runs = {}
    for raw_lines in (True, False):
        for n, text in enumerate((body, spaced)):
            db = tmp_path / f"{raw_lines}-{n}.duckdb"
            result = run_target(bin_path, tmp_path, text, db, raw_lines=raw_lines)
            assert result.returncode == 0, result.stderr.decode()
            runs[raw_lines, n] = query(db, SELECT)
    assert len(set(map(tuple, runs.values()))) == 1
    assert [r[3] for r in runs[True, 0]] == notes
