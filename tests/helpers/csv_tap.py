"""tap-csv run as a user runs it, on one stream over one small file, for tests of its config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def run_tap_csv(
    tmp_path: Path, text: str, stream: dict[str, Any], *args: str
) -> subprocess.CompletedProcess[str]:
    """`tap-csv --config tap.json ARGS` on t.csv holding `text`, a stream named t keyed by id with
    the entries of `stream` (which may replace those)."""
    (tmp_path / "t.csv").write_text(text)
    config = tmp_path / "tap.json"
    entry = {"name": "t", "path": "t.csv", "key_properties": ["id"], **stream}
    config.write_text(json.dumps({"base_dir": str(tmp_path), "streams": [entry]}))
    return subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def lane_config(
    tmp_path: Path, lane: str, stream: dict[str, Any], path: str = "t.csv", batch_size: int = 0
) -> Path:
    """tap-csv's config of one stream t over `path` keyed by id, with the entries of `stream`
    (which may replace those), in `lane`: records (RECORD lines), csv or jsonl (BATCH files in
    tmp_path/spool, of `batch_size` rows when given)."""
    entry = {"name": "t", "path": path, "key_properties": ["id"], **stream}
    config: dict[str, Any] = {"base_dir": str(tmp_path), "streams": [entry]}
    if lane != "records":
        spool = tmp_path / "spool"
        spool.mkdir(exist_ok=True)
        config["batch_config"] = {
            "encoding": {"format": lane, "compression": "none"},
            "storage": {"root": spool.as_uri()},
        }
        if batch_size:
            config["batch_config"]["batch_size"] = batch_size
    out = tmp_path / f"{lane}.json"
    out.write_text(json.dumps(config))
    return out


def run_csv_lane(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tap-csv --config CONFIG ARGS`, its output as text."""
    return subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def tap_csv_into_duckdb(
    bin_path: Path, tmp_path: Path, name: str, cfg: dict[str, Any], state: Path | None = None
) -> tuple[bytes, Path]:
    """tap-csv --config C --catalog D [--state S] | target-duckdb, as a user runs it: (the tap's
    output, the database). The catalog is discovered once per tmp_path and kept for later runs."""
    tap_cfg = tmp_path / f"{name}.json"
    tap_cfg.write_text(json.dumps(cfg))
    catalog = tmp_path / "catalog.json"
    if not catalog.exists():
        found = subprocess.run(
            [str(bin_path / "tap-csv"), "--config", str(tap_cfg), "--discover"],
            capture_output=True,
            check=True,
        )
        catalog.write_bytes(found.stdout)
    tap = subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(tap_cfg), "--catalog", str(catalog)]
        + (["--state", str(state)] if state else []),
        capture_output=True,
        timeout=300,
    )
    assert tap.returncode == 0, tap.stderr.decode()
    db = tmp_path / f"{name}.duckdb"
    target_cfg = tmp_path / f"{name}-target.json"
    target_cfg.write_text(json.dumps({"path": str(db)}))
    target = subprocess.run(
        [str(bin_path / "target-duckdb"), "--config", str(target_cfg)],
        input=tap.stdout,
        capture_output=True,
        timeout=300,
    )
    assert target.returncode == 0, target.stderr.decode()
    return tap.stdout, db
