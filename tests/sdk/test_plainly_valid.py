"""`plainly_valid` (tap_cli) vouches for a config only when jsonschema finds nothing wrong with
it, so skipping jsonschema's import for such a config changes no verdict; a tap-csv sync with a
valid config does not import jsonschema at all (about 0.1 s of CPU at start-up)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from itertools import product
from pathlib import Path

import jsonschema
import pytest
from tapwell.sdk.tap_cli import plainly_valid
from tapwell.taps.csv.config import STREAM_SCHEMA

SCHEMAS = [
    {"type": "array", "items": STREAM_SCHEMA},
    {
        "type": "object",
        "required": ["host"],
        "additionalProperties": False,
        "properties": {
            "host": {"type": "string", "minLength": 1, "description": "where"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "mode": {"type": "string", "enum": ["a", "b"]},
            "ratio": {"type": ["null", "number"], "maximum": 1},
        },
    },
    {"type": "object", "additionalProperties": {"type": "string", "maxLength": 2}},
    {"type": "object", "properties": {"p": {"type": "string", "pattern": "^a"}}},
    {"type": "array", "items": [{"type": "string"}]},
]
VALUES = [
    None, True, 0, 1, 70000, 1.0, 0.5, Decimal("0.5"), float("nan"), "", "a", "abc", "b", [], {},
    [{"name": "s"}], [{"name": "s", "path": "x.csv", "delimiter": ";"}], [{"name": 5}],
    [{"path": "x.csv"}], [{"name": "s", "delimiter": ";;"}], [{"name": "s", "paths": ["a", 1]}],
    [{"name": "s", "key_properties": ["id"], "null_values": ["\\N"], "schema": {}}],
    {"host": "h"}, {"host": ""}, {"host": "h", "port": 0}, {"host": "h", "port": True},
    {"host": "h", "port": 80, "mode": "b", "ratio": None}, {"host": "h", "mode": "c"},
    {"host": "h", "ratio": 2}, {"host": "h", "other": 1}, {"x": "ab"}, {"x": "abc"}, {"p": "b"},
    ["a"], [1],
]  # fmt: skip


@pytest.mark.parametrize(("schema", "value"), list(product(SCHEMAS, VALUES)))
def test_a_vouched_config_is_one_jsonschema_finds_valid(schema, value):
    if plainly_valid(schema, value):
        assert not list(jsonschema.Draft7Validator(schema).iter_errors(value))


def test_the_usual_configs_are_vouched_for():
    assert plainly_valid(SCHEMAS[0], VALUES[16])
    assert plainly_valid(SCHEMAS[1], VALUES[26])
    assert not plainly_valid(SCHEMAS[1], VALUES[27])  # not in the enum


def test_a_sync_does_not_import_jsonschema(tmp_path: Path):
    (tmp_path / "t.csv").write_text("id,name\n1,a\n")
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"streams": [{"name": "t", "path": str(tmp_path / "t.csv"), "delimiter": ","}]})
    )
    code = (
        "import sys\n"
        "from tapwell.taps.csv.cli import main\n"
        "sys.argv = ['tap-csv', '--config', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('jsonschema' in sys.modules, file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(config)], capture_output=True, text=True, check=True
    )
    assert run.stderr.splitlines()[-1] == "False"
    assert '"type":"RECORD"' in run.stdout
