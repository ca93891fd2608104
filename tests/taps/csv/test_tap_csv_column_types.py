"""A `column_types` mistake is one line and exit 2, at discovery and at sync, as the same typo in
key_properties or replication_key is: before, an entry naming no column (`nmu` for `num`) was
ignored and a misspelt keyword (`tpye`) sent the column with no type, both with exit 0 and no
word. A JSON Schema keyword tap-csv does not check is passed on with a warning."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.csv_tap import run_tap_csv

KEYWORDS = (
    "(keywords: type, format, multipleOf, maximum, minimum, exclusiveMaximum, exclusiveMinimum, "
    "x-precision, x-scale, anyOf, oneOf; notes: title, description, $comment, examples)"
)


def _tap(tmp_path: Path, stream: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return run_tap_csv(tmp_path, "id,num,name\n1,2.5,a\n2,3,b\n", stream, *args)


def _both(tmp_path: Path, stream: dict[str, Any]) -> list[subprocess.CompletedProcess[str]]:
    """The tap run with `stream` at discovery, and at sync with a catalog a good config made."""
    good = _tap(tmp_path, {}, "--discover")
    assert good.returncode == 0, good.stderr
    (tmp_path / "catalog.json").write_text(good.stdout)
    catalog = ("--catalog", str(tmp_path / "catalog.json"))
    return [_tap(tmp_path, stream, "--discover"), _tap(tmp_path, stream, *catalog)]


def _refused(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    return line


def test_an_entry_naming_no_column_is_refused_naming_the_one_meant(tmp_path: Path) -> None:
    for proc in _both(tmp_path, {"column_types": {"nmu": {"type": ["null", "number"]}}}):
        assert _refused(proc) == (
            f"tap-csv: error: stream 't': column_types entry 'nmu' is not a column of "
            f"{tmp_path / 't.csv'}; did you mean 'num'? (its header: id, num, name)"
        )


def test_an_entry_naming_no_column_nor_a_close_one(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text("id,num,name\n3,4,c\n")
    stream = {"path": "*.csv", "column_types": {"price": {"type": "number"}}}
    assert _refused(_tap(tmp_path, stream, "--discover")) == (
        "tap-csv: error: stream 't': column_types entry 'price' is not a column of any of its "
        f"files ({tmp_path / 't.csv'}, ...) (its header: id, num, name)"
    )


def test_key_properties_and_replication_key_name_the_column_meant(tmp_path: Path) -> None:
    for stream, what, meant in (
        ({"key_properties": ["ID"]}, "key property 'ID'", "id"),
        ({"replication_key": "nmu"}, "replication key 'nmu'", "num"),
    ):
        assert _refused(_tap(tmp_path, stream, "--discover")) == (
            f"tap-csv: error: stream 't': {what} is not a column of {tmp_path / 't.csv'}; "
            f"did you mean {meant!r}? (its header: id, num, name)"
        )


@pytest.mark.parametrize(("typo", "meant"), [("tpye", "type"), ("typo", "type")])
def test_a_misspelt_keyword_is_refused_naming_the_one_meant(
    tmp_path: Path, typo: str, meant: str
) -> None:
    for proc in _both(tmp_path, {"column_types": {"num": {typo: ["null", "number"]}}}):
        assert _refused(proc) == (
            f"tap-csv: error: config key streams/0/column_types/num/{typo}: stream 't', column "
            f"'num': {typo!r} is not a keyword of a column's type; did you mean {meant!r}? "
            + KEYWORDS
        )


def test_keywords_inside_anyof_and_schema_are_checked_too(tmp_path: Path) -> None:
    any_of = {"anyOf": [{"type": "null"}, {"type": "number", "x-scael": 2}]}
    line = _refused(_tap(tmp_path, {"column_types": {"num": any_of}}, "--discover"))
    assert line.startswith(
        "tap-csv: error: config key streams/0/column_types/num/anyOf/1/x-scael: stream 't', "
        "column 'num': 'x-scael' is not a keyword of a column's type; did you mean 'x-scale'?"
    )
    props = {"id": {"type": "integer"}, "num": {"type": "number"}, "name": {"fromat": "date"}}
    line = _refused(_tap(tmp_path, {"schema": {"properties": props}}, "--discover"))
    assert line.startswith(
        "tap-csv: error: config key streams/0/schema/properties/name/fromat: stream 't', column "
        "'name': 'fromat' is not a keyword of a column's type; did you mean 'format'?"
    )


def test_a_keyword_tap_csv_does_not_check_is_passed_on_with_a_warning(tmp_path: Path) -> None:
    prop = {"type": ["null", "number"], "enum": [2.5, 3], "description": "a note"}
    proc = _tap(tmp_path, {"column_types": {"num": prop}}, "--discover")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "tap-csv: warning: config key streams/0/column_types/num/enum: stream 't', column 'num': "
        "'enum' is a JSON Schema keyword tap-csv does not check: it goes out in the SCHEMA as "
        "written, and no tapwell target checks it either"
    ]
    schema = json.loads(proc.stdout)["streams"][0]["schema"]
    assert schema["properties"]["num"] == prop


def test_every_keyword_tap_csv_reads_is_taken_without_a_word(tmp_path: Path) -> None:
    column_types = {
        "num": {
            "type": ["null", "number"],
            "multipleOf": 0.1,
            "maximum": 1000,
            "exclusiveMaximum": True,
            "minimum": -1000,
            "x-precision": 4,
            "x-scale": 1,
            "title": "Num",
            "$comment": "declared",
        },
        "id": {"anyOf": [{"type": "null"}, {"type": "integer", "exclusiveMinimum": 0}]},
        "name": {"oneOf": [{"type": "string", "format": "date", "examples": []}]},
    }
    proc = _tap(tmp_path, {"column_types": column_types}, "--discover")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_column_types_beside_a_schema_is_refused(tmp_path: Path) -> None:
    schema = {"properties": {"id": {"type": "integer"}, "num": {"type": "number"}}}
    stream = {"schema": schema, "column_types": {"num": {"type": "string"}}}
    assert _refused(_tap(tmp_path, stream, "--discover")) == (
        "tap-csv: error: config key streams/0/column_types: stream 't': column_types is not read "
        "when schema declares every column: give the columns' types in schema's properties, or "
        "drop schema to have the other columns inferred"
    )
