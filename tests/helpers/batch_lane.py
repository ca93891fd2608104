"""The fast lane's tests: run tap-mysql into a target through a real pipe, with or without
`batch_config`, and read the destination's rows back as text for a row-by-row comparison."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from helpers.mysql_tap import write_json

EDGE_DDL = """
CREATE TABLE edge (
  id INT PRIMARY KEY, biu BIGINT UNSIGNED, flag TINYINT(1), d65 DECIMAL(65,30), f FLOAT,
  dbl DOUBLE, vc VARCHAR(40), t TEXT, s SET('red','green','blue'), dt DATE,
  dtm DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME(6), j JSON, b10 BIT(10), vb VARBINARY(10)
)"""
EDGE_ROWS = [
    "INSERT INTO edge VALUES (1, 18446744073709551615, 1,"
    " '12345678901234567890123456789012345.123456789012345678901234567890', 1.5, 0.1,"
    " 'emoji 😀 tab\\t nl\\n cr\\r bs\\\\ q\"', '', 'red,blue', '1000-01-01',"
    " '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '-838:59:59.000000',"
    " '{\"n\": 12345678901234567890.123456789, \"a\": [1, \"x\"]}', b'1010101010', X'DEADBEEF')",
    "INSERT INTO edge (id, t) VALUES (2, NULL)",
    "INSERT INTO edge (id, vc, t, j) VALUES (3, '\"\"', 'NULL', '\"\"')",
    "INSERT INTO edge (id, vc, t, dbl) VALUES (4, ',', '\\\\N', -1.5e300)",
]


def batch_config(spool: Path, fmt: str, comp: str = "none", size: int = 2) -> dict[str, Any]:
    return {
        "encoding": {"format": fmt, "compression": comp},
        "storage": {"root": f"file://{spool}"},
        "batch_size": size,
    }


def pipe(
    bin_path: Path,
    tmp: Path,
    tap_config: dict[str, Any],
    catalog: dict[str, Any],
    target: str,
    target_config: dict[str, Any],
    name: str,
) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """`tap-mysql ... | target-X ...`: (the target's result, the tap's exit code)."""
    tap = subprocess.Popen(
        [
            str(bin_path / "tap-mysql"),
            "--config",
            str(write_json(tmp / f"{name}-tap.json", tap_config)),
            "--catalog",
            str(write_json(tmp / f"{name}-cat.json", catalog)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    done = subprocess.run(
        [
            str(bin_path / target),
            "--config",
            str(write_json(tmp / f"{name}-t.json", target_config)),
        ],
        stdin=tap.stdout,
        capture_output=True,
        timeout=300,
    )
    assert tap.stdout is not None
    tap.stdout.close()
    return done, tap.wait(timeout=60)
