"""A stream entry's keys: one no stream setting has is refused (exit 2, one line naming it and the
setting meant), as tap-rest's streams and target-duckdb's stream_settings refuse theirs; before,
`replication_kye` was ignored and the stream synced FULL_TABLE without a word. `quotechar` is a
stream setting (read before, but not in the schema nor the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.csv_tap import run_tap_csv

BIN = Path(sys.executable).parent
KNOWN = (
    "name, path, paths, key_properties, replication_key, schema, column_types, delimiter, "
    "quotechar, encoding, null_values"
)


def _tap(tmp_path: Path, stream: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return run_tap_csv(
        tmp_path, "id,v,ts\n1,'a,b',2024-01-01\n2,'it''s',2024-01-02\n", stream, *args
    )


def test_a_misspelt_stream_key_is_refused_naming_the_one_meant(tmp_path: Path) -> None:
    for args in ((), ("--discover",)):
        proc = _tap(tmp_path, {"replication_kye": "ts"}, *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.strip().splitlines() == [
            "tap-csv: error: config key streams/0/replication_kye: stream 't': 'replication_kye' "
            f"is not a stream setting; did you mean 'replication_key'? (stream settings: {KNOWN})"
        ]


def test_an_unknown_stream_key_is_refused(tmp_path: Path) -> None:
    proc = _tap(tmp_path, {"colour": "red"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "tap-csv: error: config key streams/0/colour: stream 't': 'colour' is not a stream "
        f"setting (stream settings: {KNOWN})"
    ]


def test_quotechar_is_a_stream_setting(tmp_path: Path) -> None:
    proc = _tap(tmp_path, {"quotechar": "'"})
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(x) for x in proc.stdout.splitlines() if '"RECORD"' in x]
    assert [r["record"]["v"] for r in records] == ["a,b", "it's"]
    about = subprocess.run(
        [str(BIN / "tap-csv"), "--about", "--format", "json"], capture_output=True, text=True
    )
    streams = json.loads(about.stdout)["settings"]["properties"]["streams"]
    assert streams["items"]["properties"]["quotechar"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 1,
    }
    two = _tap(tmp_path, {"quotechar": "''"})
    assert two.returncode == 2
    assert "streams/0/quotechar' must have at most 1 character(s)" in two.stderr


def test_meltanos_keys_is_still_read(tmp_path: Path) -> None:
    proc = _tap(tmp_path, {"keys": ["id"], "quotechar": "'"})
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("stream", "where", "problem"),
    [
        ({"column_types": {"id": "integer"}}, "column_types/id", "must be of type object"),
        (
            {"schema": {"properties": {"id": "integer"}}},
            "schema/properties/id",
            "must be of type object",
        ),
        ({"column_types": {"id": {"type": "integr"}}}, "column_types/id/type", "must match"),
        ({"column_types": {"id": {"type": "string\n"}}}, "column_types/id/type", "must match"),
        (
            {"column_types": {"id": {"type": ["null", "integr"]}}},
            "column_types/id/type/1",
            "must be one of",
        ),
    ],
)
def test_a_column_type_that_is_no_json_schema_property_is_one_line(
    tmp_path: Path, stream: dict[str, Any], where: str, problem: str
) -> None:
    """A type written as a bare string was a traceback in --discover (and a string column when
    synced); a misspelt type name was taken as a string column without a word."""
    for args in ((), ("--discover",)):
        proc = _tap(tmp_path, stream, *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert f"setting 'streams/0/{where}' {problem}" in lines[0]
