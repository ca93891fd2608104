"""target-duckdb writes a csv BATCH's rows into the file right after their commit, while the tap
writes its next file, instead of leaving them in the WAL for the exit (up to checkpoint_threshold,
64MB: 0.25-1 s on the critical path of the csv lane after the last batch)."""

from __future__ import annotations

import json
import select
import subprocess
from pathlib import Path

from helpers.duckdb_target import query


def test_csv_batch_rows_leave_the_wal_before_the_next_message(
    tmp_path: Path, bin_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    f = spool / "f.csv"
    f.write_text(
        '"id","v"\n' + "".join(f'"{i}","row {i} ☃"\n' for i in range(20_000)), encoding="utf-8"
    )
    db = tmp_path / "w.duckdb"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"path": str(db), "batch_root": str(spool)}))
    msgs = [
        {"type": "SCHEMA", "stream": "s", "key_properties": ["id"],
         "schema": {"properties": {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}}},
        {"type": "BATCH", "stream": "s", "encoding": {"format": "csv", "compression": "none"},
         "manifest": [f"file://{f}"]},
        {"type": "STATE", "value": {"done": 1}},
    ]  # fmt: skip
    target = subprocess.Popen(
        [str(bin_path / "target-duckdb"), "--config", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert target.stdin and target.stdout
    try:
        target.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in msgs))
        target.stdin.flush()
        # the STATE line comes after the batch's commit; stdin stays open (the tap is still busy)
        ready, _, _ = select.select([target.stdout], [], [], 60)
        assert ready, "no STATE line within 60 s"
        assert json.loads(target.stdout.readline()) == {"done": 1}
        wal = Path(str(db) + ".wal")
        assert not wal.exists() or wal.stat().st_size == 0, wal.stat().st_size
    finally:
        target.stdin.close()
        target.wait(timeout=60)
    assert target.returncode == 0, target.stderr.read().decode() if target.stderr else ""
    assert query(db, "SELECT count(*), max(v) FROM s") == [(20_000, "row 9999 ☃")]
