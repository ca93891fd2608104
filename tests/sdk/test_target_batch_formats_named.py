"""A BATCH in a format the target does not read is one line naming every format it reads: its
loader's own (csv) and jsonl, which every target of the kit reads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "target,reads", [("target-duckdb", "csv, jsonl"), ("target-jsonl", "jsonl")]
)
def test_an_unread_batch_format_names_what_the_target_reads(
    bin_path: Path, tmp_path: Path, target: str, reads: str
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "p.parquet").write_bytes(b"PAR1")
    msgs = [
        {"type": "SCHEMA", "stream": "s", "schema": {"properties": {"id": {"type": "integer"}}},
         "key_properties": ["id"]},
        {"type": "BATCH", "stream": "s", "encoding": {"format": "parquet", "compression": "none"},
         "manifest": [f"file://{spool / 'p.parquet'}"]},
    ]  # fmt: skip
    cfg = tmp_path / "config.json"
    config = {"batch_root": str(spool), "path": str(tmp_path / "w.duckdb")}
    if target == "target-jsonl":
        config = {"batch_root": str(spool), "destination_path": str(tmp_path / "out")}
    cfg.write_text(json.dumps(config))
    done = subprocess.run(
        [str(bin_path / target), "--config", str(cfg)],
        input="".join(json.dumps(m) + "\n" for m in msgs),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 65, done.stderr
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert f"BATCH encoding 'parquet' is not supported here ({reads})" in line, line
