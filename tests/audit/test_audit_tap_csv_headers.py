"""tap-csv's headers as a user's files have them (audit, 2026-12-06, issue 21). Before: an empty
file was exit 1 with no fix (so `tapwell run` retried it twice, 90 s of waiting); a header with an
empty name (`id,,v`, or a line ending in the delimiter) or a blank first line passed the tap and
broke target-duckdb's CREATE TABLE (exit 1, DuckDB's parser words); the types were sampled by the
first file's header in every file, so a second file with its columns in another order gave `id`
BOOLEAN and then refused the file's own ids; a column only a later file has was dropped without a
word; and a later file's header was not checked at all (a name twice: its last value kept)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent


def tap(tmp_path: Path, files: dict[str, str], **stream: Any) -> subprocess.CompletedProcess[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    config = tmp_path / "tap.json"
    streams = [{"name": "s", "path": "*.csv", **stream}]
    config.write_text(json.dumps({"base_dir": str(tmp_path), "streams": streams}))
    return subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(config)], capture_output=True, text=True, timeout=60
    )


def messages(proc: subprocess.CompletedProcess[str], kind: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in proc.stdout.splitlines()]
    return [m for m in found if m["type"] == kind]


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line a refusal prints: exit 65 (bad input, never retried), no traceback."""
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "a.csv, stream 's': the file is empty, no header row: fix the file"),
        ("id,,v\n1,a,b\n", "a.csv line 1, stream 's': column 2 of the header has no name: fix"),
        ("id,v,\n1,a,\n", "column 3 of the header has no name: fix the file: name every column"),
        ("\nid,v\n1,a\n", "a.csv line 1, stream 's': the header line is blank: fix the file"),
    ],
    ids=["empty-file", "empty-name", "trailing-delimiter", "blank-first-line"],
)
def test_a_header_no_table_can_have_is_one_line_and_exit_65(
    tmp_path: Path, text: str, problem: str
) -> None:
    proc = tap(tmp_path, {"a.csv": text})
    assert problem in error_line(proc)
    assert not messages(proc, "RECORD") and not messages(proc, "SCHEMA")


def test_an_empty_file_among_others_has_no_rows(tmp_path: Path) -> None:
    proc = tap(tmp_path, {"a.csv": "", "b.csv": "id,v\n1,a\n"})
    assert proc.returncode == 0, proc.stderr
    assert [m["record"] for m in messages(proc, "RECORD")] == [{"id": 1, "v": "a"}]


def test_each_file_is_sampled_by_its_own_header(tmp_path: Path) -> None:
    """b.csv's columns in another order: `id` was sampled as ['1', 'y'] and inferred boolean."""
    files = {"a.csv": "id,n,w\n1,10,x\n", "b.csv": "w,id,n\ny,2,20\n"}
    proc = tap(tmp_path, files, key_properties=["id"])
    assert proc.returncode == 0, proc.stderr
    props = messages(proc, "SCHEMA")[0]["schema"]["properties"]
    assert props["id"]["type"] == ["null", "integer"] and props["n"]["type"] == ["null", "integer"]
    assert [m["record"] for m in messages(proc, "RECORD")] == [
        {"id": 1, "n": 10, "w": "x"},
        {"id": 2, "n": 20, "w": "y"},
    ]


def test_a_column_only_a_later_file_has_is_in_the_schema_and_its_records(tmp_path: Path) -> None:
    proc = tap(tmp_path, {"a.csv": "id,v\n1,a\n", "b.csv": "id,w\n2,😀\n"})
    assert proc.returncode == 0, proc.stderr
    assert list(messages(proc, "SCHEMA")[0]["schema"]["properties"]) == ["id", "v", "w"]
    records = [m["record"] for m in messages(proc, "RECORD")]
    assert records == [{"id": 1, "v": "a"}, {"id": 2, "w": "😀"}]


def test_a_later_files_header_is_checked_too(tmp_path: Path) -> None:
    """With a declared schema nothing read the headers before the sync."""
    props = {"id": {"type": ["null", "integer"]}, "v": {"type": ["null", "string"]}}
    files = {"a.csv": "id,v\n1,a\n", "b.csv": "id,v,v\n2,b,c\n"}
    proc = tap(tmp_path, files, schema={"type": "object", "properties": props})
    assert "b.csv line 1, stream 's': duplicate column names ['v']" in error_line(proc)
