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
