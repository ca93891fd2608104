"""tap-csv infers a column of codes with leading zeros (zip codes, product codes: `02134`, `007`)
as an integer and sends 2134 and 7 (audit, 2026-12-06): the zeros are gone, and `02134` and
`2134` become one value, so with the column as the key one row replaces the other in the
target without a word (3 rows in the file, 2 in the table). Now a sampled value with
a zero before another digit makes the column a string."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_codes_with_leading_zeros_arrive_as_written(tmp_path: Path) -> None:
    (tmp_path / "zip.csv").write_text("zip,city\n02134,Boston\n2134,Elsewhere\n10001,NYC\n")
    tap = tmp_path / "tap.json"
    stream = {"name": "zip", "path": "zip.csv", "key_properties": ["zip"]}
    tap.write_text(json.dumps({"base_dir": str(tmp_path), "streams": [stream]}))
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

    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.sql("select zip::varchar, city from zip order by city").fetchall()
    assert rows == [("02134", "Boston"), ("2134", "Elsewhere"), ("10001", "NYC")]
