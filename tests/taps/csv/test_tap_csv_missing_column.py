"""A stream of several files, one without a column: a column declared not null (in the config or
the catalog) or a key property is refused at sync start on every lane, one line and exit 2 with
nothing written (through RECORD lines the target stored NULL in it, while the csv lane's target
refused the file halfway); a nullable column is NULL in that file's rows, alike on every lane."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.csv_tap import lane_config, run_csv_lane
from helpers.duckdb_target import query

LANES = ["records", "csv", "jsonl"]
SCHEMA = {
    "id": {"type": "integer"},
    "num": {"type": "integer"},
    "name": {"type": ["null", "string"]},
}


def _config(tmp_path: Path, lane: str, **stream: Any) -> Path:
    """tap-csv's config of stream t over t1.csv and t2.csv, in `lane`."""
    return lane_config(tmp_path, lane, stream, "t*.csv")


def _files(tmp_path: Path, second: str = "id,name\n3,c\n") -> None:
    (tmp_path / "t1.csv").write_text("id,num,name\n1,10,a\n2,20,b\n")
    (tmp_path / "t2.csv").write_text(second)


def _tap(bin_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_csv_lane(config, *args)


def _refused(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a sync refused before writing anything."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    return proc.stderr.strip()


@pytest.mark.parametrize("lane", LANES)
def test_a_file_without_a_column_the_config_declares_not_null_is_refused(
    bin_path: Path, tmp_path: Path, lane: str
) -> None:
    _files(tmp_path)
    proc = _tap(bin_path, _config(tmp_path, lane, schema={"properties": SCHEMA}))
    assert _refused(proc) == (
        f"tap-csv: error: stream 't': {tmp_path / 't2.csv'} has no column 'num', which the config "
        'declares not null: add the column to the file, or add "null" to its "type" in the '
        "config and the catalog, or deselect 'num' in the catalog"
    )


@pytest.mark.parametrize("lane", LANES)
def test_a_file_without_a_column_the_catalog_declares_not_null_is_refused(
    bin_path: Path, tmp_path: Path, lane: str
) -> None:
    _files(tmp_path)
    config = _config(tmp_path, lane)
    catalog = json.loads(_tap(bin_path, config, "--discover").stdout)
    catalog["streams"][0]["schema"]["properties"]["num"]["type"] = "integer"
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    proc = _tap(bin_path, config, "--catalog", str(tmp_path / "catalog.json"))
    assert _refused(proc) == (
        f"tap-csv: error: stream 't': {tmp_path / 't2.csv'} has no column 'num', which the "
        'catalog declares not null: add the column to the file, or add "null" to its "type" in '
        "the catalog, or deselect 'num' in the catalog"
    )


def test_a_file_without_a_key_property_is_refused(bin_path: Path, tmp_path: Path) -> None:
    _files(tmp_path, "num,name\n30,c\n")
    assert _refused(_tap(bin_path, _config(tmp_path, "records"))) == (
        f"tap-csv: error: stream 't': {tmp_path / 't2.csv'} has no column 'id', a key property "
        "of the stream: add the column to the file, or take the file out of the stream's path"
    )


def test_a_column_not_null_in_the_config_but_nullable_in_the_catalog_syncs(
    bin_path: Path, tmp_path: Path
) -> None:
    """The catalog rules what is sent: there the column may be null, so the file's rows are."""
    _files(tmp_path)
    config = _config(tmp_path, "records", schema={"properties": SCHEMA})
    catalog = json.loads(_tap(bin_path, config, "--discover").stdout)
    catalog["streams"][0]["schema"]["properties"]["num"]["type"] = ["null", "integer"]
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    proc = _tap(bin_path, config, "--catalog", str(tmp_path / "catalog.json"))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [m["record"] for m in records if m["type"] == "RECORD"][2] == {"id": 3, "name": "c"}


def _load(bin_path: Path, tmp_path: Path, lane: str) -> list[tuple[Any, ...]]:
    """tap-csv | target-duckdb in `lane`, twice: t2.csv first with its num (30), then without
    it; the table's rows after the second run, which merges on id."""
    db = tmp_path / f"{lane}.duckdb"
    (tmp_path / f"{lane}-dd.json").write_text(json.dumps({"path": str(db)}))
    for second in ("id,num,name\n3,30,c\n", "name,id\nc,3\n"):
        _files(tmp_path, second)
        tap = _tap(bin_path, _config(tmp_path, lane))
        assert tap.returncode == 0, tap.stderr
        target = subprocess.run(
            [str(bin_path / "target-duckdb"), "--config", str(tmp_path / f"{lane}-dd.json")],
            input=tap.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert target.returncode == 0, target.stderr
    return query(db, "SELECT id, num, name FROM t ORDER BY id")


def test_a_nullable_column_a_file_lacks_is_null_in_its_rows_on_every_lane(
    bin_path: Path, tmp_path: Path
) -> None:
    """Also where an earlier run had loaded a value there: the row is replaced, not merged."""
    loaded = {lane: _load(bin_path, tmp_path, lane) for lane in LANES}
    assert loaded["records"] == [(1, 10, "a"), (2, 20, "b"), (3, None, "c")]
    assert loaded["csv"] == loaded["records"]
    assert loaded["jsonl"] == loaded["records"]
