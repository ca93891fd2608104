"""tap-csv's inferred types and the default pipeline (audit, 2026-12-06): a CSV column of
integers past 2^63 (a BIGINT UNSIGNED export) is inferred as plain `integer`, so target-duckdb
makes it BIGINT and refuses the first such row: tap-csv | target-duckdb fails on a file that
tap-csv read without a word. The inferred schema should say what the sample showed (a `maximum`
or `minimum` past 64 bits, which targets turn into HUGEINT / NUMERIC)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_integers_past_64_bits_load_through_the_default_pipeline(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,big\n1,18446744073709551615\n2,-5\n")
    tap = tmp_path / "tap.json"
    tap.write_text(
        json.dumps(
            {
                "base_dir": str(tmp_path),
                "streams": [{"name": "t", "path": "t.csv", "key_properties": ["id"]}],
            }
        )
    )
    target = tmp_path / "dd.json"
    target.write_text(json.dumps({"path": str(tmp_path / "w.duckdb")}))
    out = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(tap)], capture_output=True, timeout=60, check=True
    ).stdout
    proc = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(target)],
        input=out,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        rows = con.execute("SELECT id, big::VARCHAR FROM t ORDER BY id").fetchall()
    assert rows == [(1, "18446744073709551615"), (2, "-5")]


def test_a_later_row_past_the_sample_s_maximum_is_one_line_with_the_fix(tmp_path: Path) -> None:
    """The inferred maximum holds the sample's rows; a bigger value after them is refused by the
    tap itself, naming what to change (a target would refuse it without naming tap-csv's fix)."""
    (tmp_path / "t.csv").write_text(
        "id,big\n1,18446744073709551615\n2,5\n3,99999999999999999999999\n"
    )
    tap = tmp_path / "tap.json"
    streams = [{"name": "t", "path": "t.csv", "key_properties": ["id"]}]
    tap.write_text(json.dumps({"base_dir": str(tmp_path), "sample_rows": 2, "streams": streams}))
    proc = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(tap)], capture_output=True, timeout=60
    )
    errors = [line for line in proc.stderr.decode().splitlines() if "error" in line]
    assert proc.returncode == 65 and len(errors) == 1, proc.stderr.decode()
    assert (
        "t.csv line 4, stream 't', column 'big': 99999999999999999999999 is above the column's "
        "maximum 18446744073709551615" in errors[0]
    ), errors[0]
    assert "column_types" in errors[0] and "sample_rows" in errors[0], errors[0]
    schema = next(json.loads(line) for line in proc.stdout.splitlines() if b'"SCHEMA"' in line)[
        "schema"
    ]
    assert schema["properties"]["big"] == {
        "type": ["null", "integer"],
        "maximum": 18446744073709551615,
    }
