"""tap-csv into target-duckdb loads the same rows, types and values through RECORD lines and the
csv BATCH lane for the fields users have in an integer column inferred from its sample: a later
'1e3' widens it to DECIMAL(19,0) (a HUGEINT in DuckDB), and the csv lane refused the row tap-csv
wrote ('1E+3', as its RECORD line spells it) where RECORD lines load 1000."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import column_types, query

VALUES = ["1e3", "5.", ".5", "1E+400", " 12", "+5", "-0", "1_000", "0x10", "00012", "", "\\N"]


def _sync(bin_path: Path, tmp_path: Path, lane: str) -> tuple[str, list[Any]]:
    """One tap-csv | target-duckdb run of the stream in `lane`: the column's type and values."""
    stream = {
        "name": "t",
        "path": str(tmp_path / "t.csv"),
        "key_properties": ["id"],
        "null_values": ["\\N"],
    }
    config: dict[str, Any] = {"streams": [stream], "sample_rows": 2}
    if lane == "csv":
        (tmp_path / "spool").mkdir()
        config["batch_config"] = {
            "encoding": {"format": "csv", "compression": "none"},
            "storage": {"root": (tmp_path / "spool").as_uri()},
        }
    (tmp_path / f"{lane}.json").write_text(json.dumps(config))
    db = tmp_path / f"{lane}.duckdb"
    (tmp_path / f"{lane}-dd.json").write_text(json.dumps({"path": str(db)}))
    tap = subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(tmp_path / f"{lane}.json")],
        capture_output=True,
        timeout=120,
    )
    assert tap.returncode == 0, tap.stderr.decode()
    out = subprocess.run(
        [str(bin_path / "target-duckdb"), "--config", str(tmp_path / f"{lane}-dd.json")],
        input=tap.stdout,
        capture_output=True,
        timeout=120,
    )
    assert out.returncode == 0, f"{lane}: {out.stderr.decode()}"
    return column_types(db, "t")["x"], query(db, "SELECT id, x FROM t ORDER BY id")


@pytest.mark.parametrize("value", VALUES)
def test_both_lanes_load_a_late_value_of_an_inferred_integer_column_alike(
    bin_path: Path, tmp_path: Path, value: str
) -> None:
    quoted = '"' + value + '"'
    (tmp_path / "t.csv").write_text(f"id,x\n1,7\n2,8\n3,{quoted}\n4,9\n")
    assert _sync(bin_path, tmp_path, "records") == _sync(bin_path, tmp_path, "csv")


def test_1e3_widens_the_column_to_a_hugeint_holding_1000(bin_path: Path, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,x\n1,7\n2,8\n3,1e3\n4,9\n")
    assert _sync(bin_path, tmp_path, "csv") == ("HUGEINT", [(1, 7), (2, 8), (3, 1000), (4, 9)])
