"""target-duckdb: a union with number (`["null", "string", "number"]`, `["string", "integer"]`,
`["number", "boolean"]`, an anyOf) is a VARCHAR column holding each number as its source spelled
it, on every lane (RECORD lines read in SQL or in Python, jsonl and csv BATCH files, child
tables). Before, RECORD lines and jsonl files wrote a float's repr: 1.50 as 1.5, 1E+3 as 1000.0,
-0 as 0, 1e400 as 1E+400. And in a column whose type admits no null, an explicit null is refused
(csv's empty field alike) while a left-out property is NULL unless the SCHEMA lists it in
`required`, as JSON Schema reads a record (and singer-sdk's targets load it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.duckdb_target import column_types, error_line, query, run_target
from helpers.union_cases import PROPS, batch, cases, csv_file, jsonl_file, record_lines, want

SCHEMA = (
    '{"type":"SCHEMA","stream":"u","schema":{"type":"object","properties":%s},'
    '"key_properties":["id"]}'
)
STATE = '{"type":"STATE","value":{"done":1}}'


def _schema() -> str:
    return SCHEMA % json.dumps(PROPS)


def _rows(db: Path) -> list[tuple[object, ...]]:
    return query(db, "SELECT id, sn, si, nb, ao FROM u ORDER BY id")


@pytest.mark.parametrize("raw_lines", [True, False])
def test_record_lines_keep_each_numbers_text(
    bin_path: Path, tmp_path: Path, raw_lines: bool
) -> None:
    data = "\n".join([_schema(), *record_lines(), STATE]) + "\n"
    done = run_target(bin_path, tmp_path, data.encode(), raw_lines=raw_lines)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == ['{"done":1}']
    assert set(column_types(tmp_path / "w.duckdb", "u").values()) == {"BIGINT", "VARCHAR"}
    assert _rows(tmp_path / "w.duckdb") == want()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_batch_files_keep_each_numbers_text(bin_path: Path, tmp_path: Path, fmt: str) -> None:
    f = tmp_path / f"u.{fmt}"
    (jsonl_file if fmt == "jsonl" else csv_file)(f)
    data = "\n".join([_schema(), batch("u", f, fmt), STATE]) + "\n"
    done = run_target(bin_path, tmp_path, data.encode(), batch_keep_files=True)
    assert done.returncode == 0, done.stderr.decode()
    assert _rows(tmp_path / "w.duckdb") == want()


def test_child_tables_keep_each_numbers_text(bin_path: Path, tmp_path: Path) -> None:
    item = {"type": "object", "properties": {k: v for k, v in PROPS.items() if k != "id"}}
    props = {"id": {"type": "integer"}, "items": {"type": ["null", "array"], "items": item}}
    head = SCHEMA.replace('"u"', '"n"') % json.dumps(props)
    lines = [
        f'{{"type":"RECORD","stream":"n","record":{{"id":{i},"items":[{{"{p}":{t}}}]}}}}'
        for i, p, t in cases()
    ]
    done = run_target(
        bin_path, tmp_path, ("\n".join([head, *lines, STATE]) + "\n").encode(), nested="tables"
    )
    assert done.returncode == 0, done.stderr.decode()
    got = query(
        tmp_path / "w.duckdb",
        "SELECT _sdc_source_key_id, sn, si, nb, ao FROM n__items ORDER BY _sdc_source_key_id",
    )
    assert got == want()


NOT_NULL = (
    '{"type":"SCHEMA","stream":"n","schema":{"type":"object","properties":'
    '{"id":{"type":"integer"},"v":{"type":"string"}}%s},"key_properties":["id"]}'
)
FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
REQUIRED_FIX = "(fix the source, or take the field out of the SCHEMA's required)"
# (record 2, the SCHEMA's required, the error line's words or None for a load)
SECOND = [
    ('{"id":2,"v":null}', [], "is null but the schema does not allow null " + FIX),
    ('{"id":2}', [], None),  # left out: NULL, as JSON Schema reads the record
    ('{"id":2}', ["id", "v"], "required field is missing " + REQUIRED_FIX),
]


@pytest.mark.parametrize("raw_lines", [True, False])
@pytest.mark.parametrize(("second", "required", "refused"), SECOND)
def test_a_not_null_column_refuses_null_and_takes_a_left_out_property(
    bin_path: Path,
    tmp_path: Path,
    raw_lines: bool,
    second: str,
    required: list[str],
    refused: str | None,
) -> None:
    head = NOT_NULL % (f',"required":{json.dumps(required)}' if required else "")
    data = "\n".join(
        [
            head,
            '{"type":"RECORD","stream":"n","record":{"id":1,"v":""}}',
            '{"type":"STATE","value":{"p":1}}',
            '{"type":"RECORD","stream":"n","record":' + second + "}",
            '{"type":"STATE","value":{"p":2}}',
        ]
    )
    done = run_target(bin_path, tmp_path, (data + "\n").encode(), raw_lines=raw_lines)
    if refused is None:
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().splitlines()[-1] == '{"p":2}'
        assert query(tmp_path / "w.duckdb", "SELECT id, v FROM n ORDER BY id") == [
            (1, ""),
            (2, None),
        ]
        return
    assert done.returncode == 65
    assert (
        error_line(done) == f"target-duckdb: error: stdin line 4, stream 'n', field 'v': {refused}"
    )
    assert done.stdout.decode().splitlines() == ['{"p":1}']
    assert query(tmp_path / "w.duckdb", "SELECT id, v FROM n") == [(1, "")]


@pytest.mark.parametrize(("second", "required", "refused"), SECOND)
def test_a_jsonl_file_refuses_null_and_takes_a_left_out_property(
    bin_path: Path, tmp_path: Path, second: str, required: list[str], refused: str | None
) -> None:
    f = tmp_path / "n.jsonl"
    f.write_text('{"id":1,"v":"😀"}\n' + second + "\n")
    head = NOT_NULL % (f',"required":{json.dumps(required)}' if required else "")
    data = "\n".join([head, batch("n", f, "jsonl"), '{"type":"STATE","value":{"p":2}}'])
    done = run_target(bin_path, tmp_path, (data + "\n").encode(), batch_keep_files=True)
    if refused is None:
        assert done.returncode == 0, done.stderr.decode()
        assert query(tmp_path / "w.duckdb", "SELECT id, v FROM n ORDER BY id") == [
            (1, "😀"),
            (2, None),
        ]
        return
    assert done.returncode == 65
    assert error_line(done) == (
        f"target-duckdb: error: stdin line 2, stream 'n', BATCH file {f} row 2, field 'v': {refused}"
    )
    assert not done.stdout


def test_a_missing_property_listed_unchanged_is_kept(bin_path: Path, tmp_path: Path) -> None:
    head = (NOT_NULL % "").replace(
        '"v":{"type":"string"}', '"v":{"type":"string"},"_sdc_unchanged":{"type":["null","array"]}'
    )
    data = "\n".join(
        [
            head,
            '{"type":"RECORD","stream":"n","record":{"id":1,"v":"a"}}',
            '{"type":"RECORD","stream":"n","record":{"id":1,"_sdc_unchanged":["v"]}}',
            '{"type":"STATE","value":{"p":1}}',
        ]
    )
    done = run_target(bin_path, tmp_path, (data + "\n").encode())
    assert done.returncode == 0, done.stderr.decode()
    assert query(tmp_path / "w.duckdb", "SELECT id, v FROM n") == [(1, "a")]
