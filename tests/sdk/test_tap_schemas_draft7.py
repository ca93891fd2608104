"""Every SCHEMA tap-csv and a light-API tap emit is JSON Schema draft 7 (issue 11.5): numeric
exclusive bounds, and no `multipleOf` that singer-sdk's validator cannot evaluate (it divides in
Decimal's 28 digits: 1E-30 for DECIMAL(65,30) fails with DivisionImpossible on every record).
The decimal column types our targets derive stay what the tap declared."""

from __future__ import annotations

import decimal
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from tapwell.singer.schema import logical_type

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEC65 = "12345678901234567890123456789012345.123456789012345678901234567890"

# Draft 4's form, as singer-io taps (and catalogs written for them) declare decimals.
DRAFT4_PRICE = {
    "type": ["null", "number"],
    "multipleOf": 0.01,
    "maximum": 1000,
    "exclusiveMaximum": True,
    "minimum": -1000,
    "exclusiveMinimum": True,
}
DECIMAL_65_30 = {
    "type": ["null", "number"],
    "multipleOf": 1e-30,
    "maximum": 1e35,
    "exclusiveMaximum": True,
    "minimum": -1e35,
    "exclusiveMinimum": True,
}


def parsed(out: bytes) -> list[dict[str, Any]]:
    """Messages as singer-sdk reads them: every JSON float a Decimal."""
    return [json.loads(line, parse_float=decimal.Decimal) for line in out.splitlines()]


def check_messages(messages: list[dict[str, Any]]) -> int:
    """Each SCHEMA is draft 7, and singer-sdk's validator accepts each RECORD against it."""
    from singer_sdk.sinks.core import JSONSchemaValidator

    validators: dict[str, Any] = {}
    count = 0
    for m in messages:
        if m["type"] == "SCHEMA":
            jsonschema.Draft7Validator.check_schema(m["schema"])
            validators[m["stream"]] = JSONSchemaValidator(m["schema"])
            count += 1
        elif m["type"] == "RECORD":
            validators[m["stream"]].validate(m["record"])
    return count


def tap_csv(config: dict[str, Any], tmp_path: Path, *args: str) -> bytes:
    path = tmp_path / "tap.json"
    path.write_text(json.dumps(config))
    proc = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(path), *args], capture_output=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def demo_config() -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "tapwell.yml").read_text())["integrations"]["demo"]["tap"][
        "config"
    ]
    return {**config, "base_dir": str(ROOT / "sample" / "data")}


def declared_config(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "prices.csv").write_text(
        f"id,price,big\n1,999.99,{DEC65}\n2,-0.01,0.000000000000000000000000000001\n3,,\n"
    )
    return {
        "base_dir": str(tmp_path),
        "streams": [
            {
                "name": "prices",
                "path": "prices.csv",
                "key_properties": ["id"],
                "column_types": {"price": DRAFT4_PRICE, "big": DECIMAL_65_30},
            }
        ],
    }


@pytest.mark.parametrize("which", ["demo", "edge", "declared"])
def test_every_schema_tap_csv_emits_is_draft7_and_singer_sdk_validates_its_records(
    tmp_path: Path, which: str
):
    config = {
        "demo": demo_config,
        "edge": lambda: {
            "base_dir": str(ROOT / "tests" / "fixtures" / "csv"),
            "streams": [{"name": "edge", "path": "edge.csv", "key_properties": ["id"]}],
        },
        "declared": lambda: declared_config(tmp_path),
    }[which]()
    catalog = json.loads(tap_csv(config, tmp_path, "--discover"))
    for entry in catalog["streams"]:
        jsonschema.Draft7Validator.check_schema(entry["schema"])
    assert check_messages(parsed(tap_csv(config, tmp_path))) == len(catalog["streams"])


def test_declared_draft4_decimals_keep_their_meaning_and_column_types(tmp_path: Path):
    out = parsed(tap_csv(declared_config(tmp_path), tmp_path))
    schema = next(m["schema"] for m in out if m["type"] == "SCHEMA")
    price, big = schema["properties"]["price"], schema["properties"]["big"]
    assert price["exclusiveMaximum"] == 1000 and price["exclusiveMinimum"] == -1000
    assert price["multipleOf"] == decimal.Decimal("0.01")  # checkable: kept
    assert "multipleOf" not in big  # 1E-30 would fail every record in singer-sdk
    assert logical_type(price) == logical_type(DRAFT4_PRICE)  # DECIMAL(5,2)
    assert logical_type(big) == logical_type({**DECIMAL_65_30, "x-precision": 65, "x-scale": 30})
    assert (logical_type(big).precision, logical_type(big).scale) == (65, 30)
    # draft 7's meaning of the bounds: 999.99 is in, 1000 is out
    check = jsonschema.Draft7Validator(schema)
    assert check.is_valid({"id": 1, "price": decimal.Decimal("999.99")})
    assert not check.is_valid({"id": 1, "price": 1000})
    records = [m["record"] for m in out if m["type"] == "RECORD"]
    assert str(records[0]["big"]) == DEC65  # every digit still there


def test_every_schema_a_light_api_tap_emits_is_draft7(tmp_path: Path):
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps({"prices": [{"id": 1, "price": 999.99}], "users": []}))
    config = tmp_path / "light.json"
    config.write_text(json.dumps({"data": str(rows)}))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    cmd = [sys.executable, "-m", "helpers.light_taps", "--config", str(config)]
    found = subprocess.run([*cmd, "--discover"], capture_output=True, env=env, check=True)
    streams = json.loads(found.stdout)["streams"]
    for entry in streams:
        jsonschema.Draft7Validator.check_schema(entry["schema"])
    synced = subprocess.run(cmd, capture_output=True, env=env, check=True)
    messages = parsed(synced.stdout)
    assert check_messages(messages) == len(streams)
    prices = next(
        m["schema"] for m in messages if m["type"] == "SCHEMA" and m["stream"] == "prices"
    )
    assert prices["properties"]["price"]["exclusiveMaximum"] == 1000


def test_a_decimal_bounded_on_one_side_keeps_no_step_singer_sdk_cannot_check(tmp_path: Path):
    # The README's own shape (`multipleOf` and `maximum` only) at DECIMAL(38,6): the widest value
    # over the step is 10^38, so singer-sdk's validator failed with DivisionImpossible on a record
    # with 38 digits (target-csv, target-jsonl: a traceback on the first row). The missing
    # `minimum` used to count as "unbounded: keep the step".
    wide = "12345678901234567890123456789012.123456"
    (tmp_path / "wide.csv").write_text(f"id,amount\n1,{wide}\n2,-0.000001\n")
    declared = {"type": ["null", "number"], "multipleOf": 0.000001, "maximum": 1e32}
    config = {
        "base_dir": str(tmp_path),
        "streams": [
            {
                "name": "wide",
                "path": "wide.csv",
                "key_properties": ["id"],
                "column_types": {"amount": declared},
            }
        ],
    }
    messages = parsed(tap_csv(config, tmp_path))
    assert check_messages(messages) == 1
    amount = next(m for m in messages if m["type"] == "SCHEMA")["schema"]["properties"]["amount"]
    assert "multipleOf" not in amount
    assert (logical_type(amount).precision, logical_type(amount).scale) == (38, 6)
    assert str(next(m for m in messages if m["type"] == "RECORD")["record"]["amount"]) == wide
