"""tap-postgres into a singer-sdk target: the every-type table piped into meltanolabs-target-csv
(from PyPI, in a venv of its own under bench/.venvs), which validates each record against its
SCHEMA as every singer-sdk target does. Every SCHEMA is valid draft 7; every row lands."""

from __future__ import annotations

import csv
import decimal
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_tap import BIN, TYPES_DDL, TYPES_ROWS, discover, select, sql, write_json

pytestmark = [pytest.mark.services, pytest.mark.slow]

TARGET_CSV = "meltanolabs-target-csv==0.5.0"


def _target_csv() -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from bench.venvs import Anchor, InstallError, ensure

    try:
        return (
            ensure(Anchor("meltanolabs-target-csv", (TARGET_CSV,), ("target-csv",))) / "target-csv"
        )
    except InstallError as exc:
        pytest.skip(f"cannot install {TARGET_CSV} from PyPI: {exc}")
        raise


def test_every_type_lands_in_a_singer_sdk_target(pg_db: dict[str, Any], tmp_path: Path) -> None:
    import jsonschema

    target = _target_csv()
    sql(pg_db, "CREATE SCHEMA src", TYPES_DDL, TYPES_ROWS)
    src = {**pg_db, "filter_schemas": "src"}
    catalog = select(discover(tmp_path, src), "all_types")
    tap = subprocess.run(
        [str(BIN / "tap-postgres"), "--config", str(write_json(tmp_path / "tap.json", src)),
         "--catalog", str(write_json(tmp_path / "catalog.json", catalog))],
        capture_output=True, timeout=300,
    )  # fmt: skip
    assert tap.returncode == 0, tap.stderr.decode()
    out_dir = tmp_path / "csv-out"
    config = write_json(
        tmp_path / "target.json",
        {"output_path": str(out_dir), "file_naming_scheme": "{stream_name}.csv"},
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    load = subprocess.run(
        [str(target), "--config", str(config)],
        input=tap.stdout,
        capture_output=True,
        timeout=300,
        env=env,
    )
    assert load.returncode == 0, load.stderr.decode()[-3000:]

    lines = [json.loads(line, parse_float=decimal.Decimal) for line in tap.stdout.splitlines()]
    schema = next(m for m in lines if m["type"] == "SCHEMA")["schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    sent = [m["record"] for m in lines if m["type"] == "RECORD"]
    with open(out_dir / "all_types.csv", newline="", encoding="utf-8") as f:
        landed = list(csv.DictReader(f))
    assert len(sent) == len(landed) == 3
    first = next(r for r in landed if r["id"] == "1")
    assert first["n"] == "123456789012345678901234567890.123456789012345678901234567890"
    assert first["t"] == 'emoji 😀 tab\t nl\n "q" \\ back' and first["by"] == "\\x00ff01"
