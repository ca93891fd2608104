"""tap-mysql into a singer-sdk target (issue 11, item 5): the every-type edge-value table piped
into meltanolabs-target-csv (from PyPI, in a venv of its own, cached under bench/.venvs like the
benchmark's anchors), which validates each record against its SCHEMA as every singer-sdk target
does. It used to die on the first SCHEMA ("True is not of type 'number'", draft 4's boolean
`exclusiveMaximum`) and then on DECIMAL(65,30)'s `multipleOf` (DivisionImpossible). Every row
must land, each value as singer-sdk writes it."""

from __future__ import annotations

import csv
import decimal
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.mariadb_server import unavailable
from helpers.mysql_tap import discover, every_type_table, select, write_json

pytestmark = [pytest.mark.services, pytest.mark.slow]

TARGET_CSV = "meltanolabs-target-csv==0.5.0"


def _target_csv() -> Path:
    """target-csv's executable, installed once into its own venv."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from bench.venvs import Anchor, InstallError, ensure

    try:
        return ensure(Anchor("meltanolabs-target-csv", (TARGET_CSV,), ("target-csv",))) / (
            "target-csv"
        )
    except InstallError as exc:
        unavailable(f"cannot install {TARGET_CSV} from PyPI: {exc}")
        raise


def _as_singer_sdk_writes(value: Any, prop: dict[str, Any]) -> str:
    """One value as target-csv writes it: singer-sdk reads numbers as Decimal and date-times as
    datetime, and the csv module writes str() of each (an empty cell for null)."""
    if value is None:
        return ""
    if prop.get("format") == "date-time" and isinstance(value, str):
        return str(datetime.fromisoformat(value))
    return str(value)


def test_every_edge_value_lands_in_a_singer_sdk_target(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    target = _target_csv()
    every_type_table(mysql_db)
    catalog = select(discover(bin_path, tmp_path, mysql_db), "every_type")
    out_dir = tmp_path / "csv-out"
    target_config = write_json(
        tmp_path / "target.json",
        {"output_path": str(out_dir), "file_naming_scheme": "{stream_name}.csv"},
    )
    tap = subprocess.run(
        [
            str(bin_path / "tap-mysql"),
            "--config",
            str(write_json(tmp_path / "tap.json", mysql_db)),
            "--catalog",
            str(write_json(tmp_path / "catalog.json", catalog)),
        ],
        capture_output=True,
        timeout=300,
    )
    assert tap.returncode == 0, tap.stderr.decode()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    load = subprocess.run(
        [str(target), "--config", str(target_config)],
        input=tap.stdout,
        capture_output=True,
        timeout=300,
        env=env,
    )
    assert load.returncode == 0, load.stderr.decode()[-3000:]

    lines = [json.loads(line, parse_float=decimal.Decimal) for line in tap.stdout.splitlines()]
    props = next(m for m in lines if m["type"] == "SCHEMA")["schema"]["properties"]
    sent = [m["record"] for m in lines if m["type"] == "RECORD"]
    with open(out_dir / "every_type.csv", newline="", encoding="utf-8") as f:
        landed = list(csv.DictReader(f))
    assert len(sent) == len(landed) == 3
    for record, row in zip(sent, landed, strict=True):
        assert set(row) == set(record)
        for name, value in record.items():
            assert row[name] == _as_singer_sdk_writes(value, props[name]), (record["id"], name)
    # spot checks that the comparison above is not vacuous
    first = landed[0]
    assert first["d65"] == "99999999999999999999999999999999999.999999999999999999999999999999"
    assert first["biu"] == "18446744073709551615" and first["vc"] == "émoji 😀 tab\t nl\n"
    assert first["tt"] == "" and landed[2]["tt"] == ""  # empty string and null: both empty in CSV
