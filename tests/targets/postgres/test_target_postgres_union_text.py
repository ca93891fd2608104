"""target-postgres: a union with number (`["null", "string", "number"]`, `["string", "integer"]`,
`["number", "boolean"]`, an anyOf) is a text column holding each number as its source spelled it,
on every lane (RECORD lines, jsonl and csv BATCH files, child tables). Before, RECORD lines, jsonl
files and child tables wrote a float's repr: 1.50 as 1.5, 1E+3 as 1000.0, -0 as 0, 1e400 as
1E+400. And in a column whose type admits no null, an explicit null is refused while a
left-out property is NULL unless the SCHEMA lists it in `required` (JSON Schema's reading,
and singer-sdk's targets'); csv's empty field is a null."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import column_types, query, run_target, stdout_states
from helpers.union_cases import PROPS, batch, cases, csv_file, jsonl_file, record_lines, want

pytestmark = pytest.mark.services

SCHEMA = json.dumps(
    {
        "type": "SCHEMA",
        "stream": "u",
        "schema": {"type": "object", "properties": PROPS},
        "key_properties": ["id"],
    }
)
STATE = '{"type":"STATE","value":{"done":1}}'
FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
REQUIRED_FIX = "(fix the source, or take the field out of the SCHEMA's required)"
# (record 2, the SCHEMA's required, the error line's words or None for a load)
SECOND = [
    ('{"id":2,"v":null}', [], "is null but the schema does not allow null " + FIX),
    ('{"id":2}', [], None),  # left out: NULL, as JSON Schema reads the record
    ('{"id":2}', ["id", "v"], "required field is missing " + REQUIRED_FIX),
]


def _rows(pg_db: dict[str, Any], table: str = "u", key: str = "id") -> list[Any]:
    return query(pg_db, f"SELECT {key}, sn, si, nb, ao FROM {table} ORDER BY {key}")


def test_record_lines_keep_each_numbers_text(pg_db: dict[str, Any], tmp_path: Path) -> None:
    done = run_target(pg_db, "\n".join([SCHEMA, *record_lines(), STATE]) + "\n", tmp_path)
    assert done.returncode == 0, done.stderr
    assert stdout_states(done.stdout) == [{"done": 1}]
    assert set(column_types(pg_db, "u").values()) == {"bigint", "text"}
    assert _rows(pg_db) == want()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_batch_files_keep_each_numbers_text(
    pg_db: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    f = tmp_path / f"u.{fmt}"
    (jsonl_file if fmt == "jsonl" else csv_file)(f)
    config = {**pg_db, "batch_keep_files": True}
    done = run_target(config, "\n".join([SCHEMA, batch("u", f, fmt), STATE]) + "\n", tmp_path)
    assert done.returncode == 0, done.stderr
    assert _rows(pg_db) == want()


def test_child_tables_keep_each_numbers_text(pg_db: dict[str, Any], tmp_path: Path) -> None:
    item = {"type": "object", "properties": {k: v for k, v in PROPS.items() if k != "id"}}
    props = {"id": {"type": "integer"}, "items": {"type": ["null", "array"], "items": item}}
    head = json.dumps(
        {"type": "SCHEMA", "stream": "n", "schema": {"properties": props}, "key_properties": ["id"]}
    )
    lines = [
        f'{{"type":"RECORD","stream":"n","record":{{"id":{i},"items":[{{"{p}":{t}}}]}}}}'
        for i, p, t in cases()
    ]
    config = {**pg_db, "nested": "tables"}
    done = run_target(config, "\n".join([head, *lines, STATE]) + "\n", tmp_path)
    assert done.returncode == 0, done.stderr
    assert _rows(pg_db, "n__items", "_sdc_source_key_id") == want()


NOT_NULL = (
    '{"type":"SCHEMA","stream":"n","schema":{"type":"object","properties":'
    '{"id":{"type":"integer"},"v":{"type":"string"}}%s},"key_properties":["id"]}'
)


@pytest.mark.parametrize(("second", "required", "refused"), SECOND)
def test_a_not_null_column_refuses_null_and_takes_a_left_out_property(
    pg_db: dict[str, Any], tmp_path: Path, second: str, required: list[str], refused: str | None
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
    done = run_target(pg_db, data + "\n", tmp_path)
    assert "Traceback" not in done.stderr
    if refused is None:
        assert done.returncode == 0, done.stderr
        assert stdout_states(done.stdout)[-1] == {"p": 2}
        assert query(pg_db, "SELECT id, v FROM n ORDER BY id") == [(1, ""), (2, None)]
        return
    assert done.returncode == 65
    assert done.stderr.strip().splitlines()[-1] == (
        f"target-postgres: error: stdin line 4, stream 'n', field 'v': {refused}"
    )
    assert stdout_states(done.stdout) == [{"p": 1}]
    assert query(pg_db, "SELECT id, v FROM n") == [(1, "")]


@pytest.mark.parametrize(("second", "required", "refused"), SECOND)
def test_a_jsonl_file_refuses_null_and_takes_a_left_out_property(
    pg_db: dict[str, Any], tmp_path: Path, second: str, required: list[str], refused: str | None
) -> None:
    f = tmp_path / "n.jsonl"
    f.write_text('{"id":1,"v":"😀"}\n' + second + "\n")
    head = NOT_NULL % (f',"required":{json.dumps(required)}' if required else "")
    data = "\n".join([head, batch("n", f, "jsonl"), '{"type":"STATE","value":{"p":2}}'])
    done = run_target({**pg_db, "batch_keep_files": True}, data + "\n", tmp_path)
    if refused is None:
        assert done.returncode == 0, done.stderr
        assert query(pg_db, "SELECT id, v FROM n ORDER BY id") == [(1, "😀"), (2, None)]
        return
    assert done.returncode == 65
    assert done.stderr.strip().splitlines()[-1] == (
        f"target-postgres: error: stdin line 2, stream 'n', BATCH file {f} row 2, field 'v': "
        f"{refused}"
    )
    assert not done.stdout.strip()
