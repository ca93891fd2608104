"""Found walking the targets as a user (audit, 2026-12-06): every refusal is one line naming the
input line, the stream and the field, and says what to do about it, on both targets and in both
`nested` modes. Lines are compared whole, so a message that loses its fix fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.tiers import services_param

BIN = Path(sys.executable).parent
FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
SCHEMA = (
    '{"type":"SCHEMA","stream":"o","schema":{"type":"object","properties":{'
    '"id":{"type":"integer"},"n":{"type":["null","integer"]},'
    '"amt":{"type":["null","number"],"multipleOf":0.01,"maximum":1000},'
    '"addr":{"type":["null","object"],"properties":{"city":{"type":["null","string"]}}}}},'
    '"key_properties":["id"]}'
)
GOOD = '{"type":"RECORD","stream":"o","record":{"id":1}}\n{"type":"STATE","value":{"pos":1}}'

CASES = {
    "string-for-integer": (
        '{"type":"RECORD","stream":"o","record":{"id":"4"}}',
        f"stdin line 4, stream 'o', field 'id': '4' is not integer {FIX}",
    ),
    "scalar-for-object": (
        '{"type":"RECORD","stream":"o","record":{"id":2,"addr":"Lyon"}}',
        f"stdin line 4, stream 'o', field 'addr': 'Lyon' is not object {FIX}",
    ),
    "off-step": (
        '{"type":"RECORD","stream":"o","record":{"id":2,"amt":1.234}}',
        "stdin line 4, stream 'o', field 'amt': 1.234 is not a multiple of 0.01 (the schema's "
        f"multipleOf) {FIX}",
    ),
    "missing-key": (
        '{"type":"RECORD","stream":"o","record":{"n":1}}',
        "stdin line 4, stream 'o', field 'id': key property is missing or null (every record "
        "needs its key properties: fix the source, or the SCHEMA's key_properties)",
    ),
    "malformed": (
        '{"type":"RECORD","stream":"o","record":{"id":2,',
        "stdin line 4: not valid JSON (unexpected end of data at character 48): every line must "
        "be one whole JSON message; fix the program that wrote it",
    ),
}


def run(target: str, config: dict[str, Any], text: str, tmp_path: Path) -> tuple[int, list[str]]:
    import json

    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    proc = subprocess.run(
        [str(BIN / target), "--config", str(path)],
        input=text.encode(),
        capture_output=True,
        timeout=120,
    )
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    return proc.returncode, [line for line in err.splitlines() if not line.startswith("METRIC")]


def config_for(target: str, mode: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    if target == "target-duckdb":
        return {"path": str(tmp_path / "w.duckdb"), "nested": mode}
    return {**request.getfixturevalue("pg_db"), "nested": mode}


TARGETS = ["target-duckdb", services_param("target-postgres")]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("mode", ["json", "tables"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_refusal_is_one_line_with_line_stream_field_and_fix(
    target: str, mode: str, case: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    bad, expected = CASES[case]
    config = config_for(target, mode, tmp_path, request)
    code, lines = run(target, config, f"{SCHEMA}\n{GOOD}\n{bad}\n", tmp_path)
    assert code == 65
    assert lines == [f"{target}: error: {expected}"]


@pytest.mark.services
@pytest.mark.parametrize("mode", ["json", "tables"])
def test_postgres_numeric_overflow_names_the_precision_and_the_fix(
    mode: str, tmp_path: Path, pg_db: dict[str, Any]
) -> None:
    bad = '{"type":"RECORD","stream":"o","record":{"id":2,"amt":100000}}'
    code, lines = run(
        "target-postgres", {**pg_db, "nested": mode}, f"{SCHEMA}\n{GOOD}\n{bad}\n", tmp_path
    )
    assert code == 65
    assert lines == [
        "target-postgres: error: stdin line 4, stream 'o', field 'amt': value does not fit the "
        "column: numeric field overflow; A field with precision 5, scale 2 must round to an "
        "absolute value less than 10^3 (fix the value at the source, or change the field's type "
        "in the SCHEMA: a wider maximum, or more digits)"
    ]


@pytest.mark.parametrize(
    "bad",
    [
        '{"type":"RECORD","stream":"o","record":{"id":2,"n":9223372036854775808}}',
        '{"type":"RECORD","stream":"o","record":{"id":2,"amt":100000}}',
    ],
    ids=["bigint", "decimal"],
)
def test_duckdb_column_refusals_say_the_fix(bad: str, tmp_path: Path) -> None:
    config = {"path": str(tmp_path / "w.duckdb")}
    code, lines = run("target-duckdb", config, f"{SCHEMA}\n{GOOD}\n{bad}\n", tmp_path)
    assert code == 65 and len(lines) == 1
    assert "fix the value at the source" in lines[0], lines[0]
