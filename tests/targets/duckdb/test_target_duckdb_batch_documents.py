"""target-duckdb's csv BATCH lane holds an object or array property's text to what the RECORD
lane takes (targets/duckdb/files.py, `_document`): `1`, `"x"`, `null` or `[1]` in an object
column and `{}` in an array column loaded, where a RECORD line with such a value is refused in one
line; now the file's usual line naming the stream, file, row and column, exit 65, no STATE past
the last commit. A property that also admits a string takes a JSON string (`"x"`: its JSON quotes
written, as tapwell.sdk.tap_batch and tap-csv write a string there) and keeps it as the RECORD lane
keeps the string; a text that is no JSON there is refused (it loaded as a string, so a string
written with its quotes loaded as the string of its JSON text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

PROPS = {
    "id": {"type": "integer"},
    "doc": {"type": ["null", "object"]},
    "list": {"type": ["null", "array"]},
    "either": {"type": ["object", "array"]},
    "os": {"type": ["null", "object", "string"]},
}
COLS = ["doc", "list", "either", "os"]
GOOD = ['{"a": 1}', "[1]", "{}", '{"b": 2}']
FIX = "fix the value at the source, or change the field's type in the SCHEMA"


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _file(path: Path, rows: list[list[str]], first: int = 1) -> Path:
    body = "".join(
        f"{first + n}," + ",".join(_q(v) if v else "" for v in r) + "\n" for n, r in enumerate(rows)
    )
    path.write_text("id," + ",".join(COLS) + "\n" + body)
    return path


def _run(bin_path: Path, tmp_path: Path, files: list[Path], key: bool = True) -> Any:
    msgs: list[dict[str, Any]] = [schema("t", PROPS, ["id"] if key else [])]
    for n, f in enumerate(files, 1):
        encoding = {"format": "csv", "compression": "none"}
        msgs.append(
            {"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]}
        )
        msgs.append(state({"p": n}))
    return run_target(bin_path, tmp_path, lines(*msgs), batch_keep_files=True)


def _states(stdout: bytes) -> list[str]:
    return stdout.decode().splitlines()


def test_documents_load_as_the_record_lane_loads_them(bin_path: Path, tmp_path: Path) -> None:
    rows = [
        GOOD,
        [' {"a": [null]}', "[]", "[1, 2]", '"just text"'],
        ["{}", '[{"a": 1}]', '{"x":\n"two,\\nlines"}', '"[1]"'],
        ["", "", "[]", ""],
        ["\t{}", "[null]", "{}", '"1"'],
    ]
    done = _run(bin_path, tmp_path, [_file(tmp_path / "f.csv", rows)])
    assert done.returncode == 0, done.stderr.decode()
    got = query(tmp_path / "w.duckdb", "SELECT id, doc, list, either, os FROM t ORDER BY id")
    assert got == [
        (1, '{"a": 1}', "[1]", "{}", '{"b": 2}'),
        (2, ' {"a": [null]}', "[]", "[1, 2]", '"just text"'),
        (
            3,
            "{}",
            '[{"a": 1}]',
            '{"x":\n"two,\\nlines"}',
            '"[1]"',
        ),  # the string "[1]", its JSON quotes written
        (4, None, None, "[]", None),
        (5, "\t{}", "[null]", "{}", '"1"'),
    ]
    # the strings as RECORD lines carry them load alike
    recs = [
        record("t", {"id": i, "either": {}, "os": s})
        for i, s in [(2, "just text"), (3, "[1]"), (5, "1")]
    ]
    by_records = run_target(
        bin_path, tmp_path, lines(schema("t", PROPS), *recs, state({"p": 1})), tmp_path / "r.duckdb"
    )
    assert by_records.returncode == 0, by_records.stderr.decode()
    assert query(tmp_path / "r.duckdb", "SELECT os FROM t ORDER BY id") == [
        ('"just text"',),
        ('"[1]"',),
        ('"1"',),
    ]


# (column, text, what the error line says of it): each the RECORD lane refuses
BAD = [
    ("doc", "1", "'1' is not object"),
    ("doc", '"x"', "'\"x\"' is not object"),
    ("doc", "[1]", "'[1]' is not object"),
    ("doc", "true", "'true' is not object"),
    ("doc", "null", "'null' is not object (a JSON null: NULL is the unquoted empty field; "),
    ("doc", " null ", "' null ' is not object (a JSON null: NULL is the unquoted empty field; "),
    ("doc", "{", "'{' is not object"),
    ("list", "{}", "'{}' is not array"),
    ("list", '{"a": 1}', "'{\"a\": 1}' is not array"),
    ("list", "-1.5", "'-1.5' is not array"),
    ("either", '"x"', "'\"x\"' is not array or object"),
    ("either", "null", "'null' is not array or object (a JSON null"),
    ("os", "just text", "'just text' is not object or a JSON string"),
    ("os", "1", "'1' is not object or a JSON string"),
    ("os", "[1]", "'[1]' is not object or a JSON string"),
    ("os", "null", "'null' is not object or a JSON string (a JSON null"),
    # DuckDB's JSON cast takes a comma before a closing bracket; JSON (and the RECORD lane) not
    ("doc", '{"a": 1,}', "'{\"a\": 1,}' is no JSON: a comma before a closing bracket"),
    ("list", "[1, ]", "'[1, ]' is no JSON: a comma before a closing bracket"),
    ("either", '{"a": [1,\n]}', "'{\"a\": [1,\\n]}' is no JSON: a comma before a closing bracket"),
    ("os", '{"a": ",]", "b": {},}', '\'{"a": ",]", "b": {},}\' is no JSON: a comma before'),
]


def _wrong(tmp_path: Path, column: str, text: str) -> Path:
    """A file whose row 4 (the header is row 1) holds `text` in `column`."""
    bad = list(GOOD)
    bad[COLS.index(column)] = text
    return _file(tmp_path / "wrong.csv", [GOOD, GOOD, bad])


def _refused(done: Any, path: Path, column: str, why: str) -> None:
    assert done.returncode == 65, done.stderr.decode()
    line = error_line(done)
    assert f"stream 't': BATCH file {path} row 4, column {column}: {why}" in line, line
    assert FIX in line, line


@pytest.mark.parametrize("column,text,why", BAD, ids=[f"{c}:{t}" for c, t, _ in BAD])
def test_a_text_the_record_lane_refuses_is_refused_naming_the_row(
    bin_path: Path, tmp_path: Path, column: str, text: str, why: str
) -> None:
    wrong = _wrong(tmp_path, column, text)
    done = _run(bin_path, tmp_path, [wrong])
    _refused(done, wrong, column, why)
    assert _states(done.stdout) == []
    assert query(tmp_path / "w.duckdb", "SELECT count(*) FROM t") == [(0,)]


@pytest.mark.parametrize("key", [True, False], ids=["upsert", "append"])
def test_a_merge_or_an_append_refuses_it_too(bin_path: Path, tmp_path: Path, key: bool) -> None:
    first = _file(tmp_path / "first.csv", [GOOD, GOOD], first=100)
    wrong = _wrong(tmp_path, "doc", "[1]")
    done = _run(bin_path, tmp_path, [first, wrong], key=key)
    _refused(done, wrong, "doc", "'[1]' is not object")
    assert _states(done.stdout) == ['{"p":1}']  # no STATE past the last commit
    assert query(tmp_path / "w.duckdb", "SELECT count(*) FROM t") == [(2,)]


def test_a_comma_before_a_closing_bracket_in_any_json_column(
    bin_path: Path, tmp_path: Path
) -> None:
    """A property of no type (a JSON column taking any value): `[1,]` is refused as in the
    object and array columns; `,]` and `,}` inside a string are text and load."""
    props = {"id": {"type": "integer"}, "any": {}}
    good = tmp_path / "good.csv"
    good.write_text('id,any\n1,"["",]"", {""x,}"": 1}]"\n2,"{""a"":[""\\\\"",1]}"\n')
    wrong = tmp_path / "wrong.csv"
    wrong.write_text('id,any\n3,"1"\n4,"[1,2,]"\n')
    msgs: list[dict[str, Any]] = [schema("t", props, ["id"])]
    for n, f in enumerate([good, wrong], 1):
        encoding = {"format": "csv", "compression": "none"}
        msgs.append(
            {"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]}
        )
        msgs.append(state({"p": n}))
    done = run_target(bin_path, tmp_path, lines(*msgs), batch_keep_files=True)
    assert done.returncode == 65, done.stderr.decode()
    line = error_line(done)
    assert (
        f"BATCH file {wrong} row 3, column any: '[1,2,]' is no JSON: a comma before a closing "
        f"bracket ({FIX})"
    ) in line, line
    assert _states(done.stdout) == ['{"p":1}']
    got = query(tmp_path / "w.duckdb", 'SELECT id, "any" FROM t ORDER BY id')
    assert got == [(1, '[",]", {"x,}": 1}]'), (2, '{"a":["\\\\",1]}')]
