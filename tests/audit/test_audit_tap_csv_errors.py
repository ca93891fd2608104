"""tap-csv's refusal of a value its declared type cannot read (audit, 2026-12-06): today Python's
own words, `invalid literal for int() with base 10: 'abc'`, exit 1. The rule (DESIGN, Errors):
one line naming the file, line, stream and column, what is wrong and the fix; bad input exits
65."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def test_a_value_the_declared_type_cannot_read_is_one_line_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("id,n\n1,5\n2,abc\n")
    config = tmp_path / "tap.json"
    config.write_text(
        json.dumps(
            {
                "base_dir": str(tmp_path),
                "streams": [
                    {
                        "name": "b",
                        "path": "bad.csv",
                        "key_properties": ["id"],
                        "column_types": {"n": {"type": ["null", "integer"]}},
                    }
                ],
            }
        )
    )
    proc = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(config)], capture_output=True, timeout=60
    )
    errors = [line for line in proc.stderr.decode().splitlines() if "error" in line]
    assert proc.returncode == 65
    assert len(errors) == 1 and "Traceback" not in proc.stderr.decode()
    assert "line 3, stream 'b', column 'n': 'abc' is not an integer" in errors[0], errors[0]
    assert "column_types" in errors[0], errors[0]  # the fix: the file, or the declared type


@pytest.mark.parametrize(
    ("declared", "text", "problem"),
    [
        ({"type": ["null", "number"]}, "1,5x", "'1,5x' is not a number"),
        ({"type": ["null", "string"], "format": "date"}, "2020-13-01", "is not a date"),
        ({"type": ["null", "string"], "format": "date-time"}, "noon", "'noon' is not a date-time"),
        ({"type": ["null", "boolean"]}, "maybe", "'maybe' is not a boolean"),
        ({"type": ["null", "object"]}, "{oops", "'{oops' is not a JSON document"),
    ],
    ids=["number", "date", "date-time", "boolean", "object"],
)
def test_every_declared_type_names_the_value_and_the_fix(
    tmp_path: Path, declared: dict[str, object], text: str, problem: str
) -> None:
    (tmp_path / "bad.csv").write_text(f'id,v\n1,\n2,"{text}"\n')
    config = tmp_path / "tap.json"
    stream = {"name": "b", "path": "bad.csv", "column_types": {"v": declared}}
    config.write_text(json.dumps({"base_dir": str(tmp_path), "streams": [stream]}))
    proc = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(config)], capture_output=True, timeout=60
    )
    errors = [line for line in proc.stderr.decode().splitlines() if "error" in line]
    assert proc.returncode == 65 and len(errors) == 1, proc.stderr.decode()
    assert "line 3, stream 'b', column 'v': " in errors[0] and problem in errors[0], errors[0]
    assert "fix the file, or declare the column's type in column_types" in errors[0], errors[0]
