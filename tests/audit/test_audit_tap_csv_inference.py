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


def test_a_later_row_past_the_sample_s_maximum_widens_the_column(tmp_path: Path) -> None:
    """The inferred maximum holds the sample's rows; a bigger value after them widens the column
    to the DECIMAL holding it (taps/csv/widen.py), a new SCHEMA before it, one INFO line."""
    (tmp_path / "t.csv").write_text(
        "id,big\n1,18446744073709551615\n2,5\n3,99999999999999999999999\n"
    )
    tap = tmp_path / "tap.json"
    streams = [{"name": "t", "path": "t.csv", "key_properties": ["id"]}]
    tap.write_text(json.dumps({"base_dir": str(tmp_path), "sample_rows": 2, "streams": streams}))
    proc = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(tap)], capture_output=True, timeout=60
    )
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert (
        "t.csv data row 3, stream 't', column 'big': '99999999999999999999999' is past the "
        "sample's maximum 18446744073709551615 (inferred from the sample rows): the column is "
        "widened to DECIMAL(23,0)" in err
    ), err
    messages = [json.loads(line) for line in proc.stdout.splitlines()]
    schemas = [m["schema"]["properties"]["big"] for m in messages if m["type"] == "SCHEMA"]
    assert schemas[0] == {"type": ["null", "integer"], "maximum": 18446744073709551615}
    assert (schemas[1]["x-precision"], schemas[1]["x-scale"]) == (23, 0)
    assert [m["record"]["big"] for m in messages if m["type"] == "RECORD"] == [
        18446744073709551615,
        5,
        99999999999999999999999,
    ]


def test_a_declared_maximum_is_one_line_with_the_fix(tmp_path: Path) -> None:
    """A declared maximum is the user's contract: a bigger value is refused by the tap itself,
    naming what to change (a target would refuse it without naming tap-csv's fix)."""
    (tmp_path / "t.csv").write_text(
        "id,big\n1,18446744073709551615\n2,5\n3,99999999999999999999999\n"
    )
    tap = tmp_path / "tap.json"
    big = {"type": ["null", "integer"], "maximum": 18446744073709551615}
    streams = [
        {"name": "t", "path": "t.csv", "key_properties": ["id"], "column_types": {"big": big}}
    ]
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
    assert "column_types" in errors[0], errors[0]
