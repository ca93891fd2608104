"""tap-csv's refusal of a value its declared type cannot read (audit, 2026-12-06): today Python's
own words, `invalid literal for int() with base 10: 'abc'`, exit 1. The rule (DESIGN, Errors):
one line naming the file, line, stream and column, what is wrong and the fix; bad input exits
65."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
