"""A declared `schema`'s columns are compared with the files' header, at discovery and at sync:
before, neither was (exit 0, no word). A property no file has is refused, exit 2, as a
column_types entry naming no column is (`nmae` would sync the column as null in every record);
a header column the schema leaves out is one warning line (leaving it out is how a column is
not synced, but a column added to the files later is not synced either until it is named)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from helpers.csv_tap import run_tap_csv

TEXT = "id,num,name\n1,2.5,a\n2,3,b\n"


def _props(*names: str) -> dict[str, Any]:
    kinds = {"id": "integer", "num": "number"}
    return {
        "schema": {"properties": {n: {"type": ["null", kinds.get(n, "string")]} for n in names}}
    }


def _both(tmp_path: Path, stream: dict[str, Any]) -> list[subprocess.CompletedProcess[str]]:
    """The tap with `stream` at discovery, and at sync with the catalog a good config made."""
    good = run_tap_csv(tmp_path, TEXT, _props("id", "num", "name"), "--discover")
    assert good.returncode == 0, good.stderr
    (tmp_path / "catalog.json").write_text(good.stdout)
    catalog = ("--catalog", str(tmp_path / "catalog.json"))
    return [
        run_tap_csv(tmp_path, TEXT, stream, "--discover"),
        run_tap_csv(tmp_path, TEXT, stream, *catalog),
    ]


def test_a_property_no_column_has_is_refused_naming_the_one_meant(tmp_path: Path) -> None:
    for proc in _both(tmp_path, _props("id", "num", "nmae")):
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.strip() == (
            f"tap-csv: error: stream 't': schema property 'nmae' is not a column of "
            f"{tmp_path / 't.csv'}; did you mean 'name'? (its header: id, num, name)"
        )


def test_columns_the_schema_leaves_out_are_one_warning_and_not_synced(tmp_path: Path) -> None:
    discovered = run_tap_csv(tmp_path, TEXT, _props("id"), "--discover")
    (tmp_path / "catalog.json").write_text(discovered.stdout)
    synced = run_tap_csv(tmp_path, TEXT, _props("id"), "--catalog", str(tmp_path / "catalog.json"))
    for proc in (discovered, synced):
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines()[0] == (
            f"tap-csv: warning: stream 't': columns 'num', 'name' of {tmp_path / 't.csv'} are "
            "not in its schema and not discovered: add them to schema's properties to sync them"
        )
    messages = [json.loads(line) for line in synced.stdout.splitlines()]
    assert [m["record"] for m in messages if m["type"] == "RECORD"] == [{"id": 1}, {"id": 2}]


def test_a_schema_naming_every_column_says_nothing(tmp_path: Path) -> None:
    for proc in _both(tmp_path, _props("id", "num", "name")):
        assert proc.returncode == 0, proc.stderr
        assert "tap-csv:" not in proc.stderr


def test_several_files_are_compared_by_the_columns_any_of_them_has(tmp_path: Path) -> None:
    """A column one file lacks is null there, as with an inferred schema; a file with no rows
    yet has no header to compare."""
    (tmp_path / "t2.csv").write_text("id,extra\n3,x\n")
    (tmp_path / "t3.csv").write_text("")
    stream = {"path": "t*.csv", **_props("id", "num", "name", "extra")}
    proc = run_tap_csv(tmp_path, TEXT, stream, "--discover")
    assert proc.returncode == 0, proc.stderr
    assert "tap-csv:" not in proc.stderr
    proc = run_tap_csv(
        tmp_path, TEXT, {"path": "t*.csv", **_props("id", "num", "name")}, "--discover"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == (
        f"tap-csv: warning: stream 't': column 'extra' of its files ({tmp_path / 't.csv'}, ...) "
        "is not in its schema and not discovered: add it to schema's properties to sync it"
    )
