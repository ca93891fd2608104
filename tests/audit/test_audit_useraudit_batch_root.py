"""A tap-csv `batch_config` whose storage folder does not exist is a config error said before
any message (found 2026-12-06, useraudit): tap-csv wrote the stream's SCHEMA and a STATE
(currently_syncing, a table version) and only then, at its first BATCH file, exit 2: the target
behind it made the table and committed that STATE, exit 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_tap_csv_missing_batch_folder_refused_before_any_message(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,v\n1,x\n2,y\n")
    missing = tmp_path / "nowhere"
    config = tmp_path / "tap.json"
    config.write_text(
        json.dumps(
            {
                "base_dir": str(tmp_path),
                "streams": [{"name": "a", "path": "a.csv", "key_properties": ["id"]}],
                "batch_config": {
                    "encoding": {"format": "csv", "compression": "none"},
                    "storage": {"root": missing.as_uri(), "prefix": ""},
                    "batch_size": 10,
                },
            }
        )
    )
    proc = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "", proc.stdout
    assert proc.stderr.strip().splitlines() == [
        f"tap-csv: error: config key batch_config.storage.root: folder {missing} "
        "does not exist (create it)"
    ], proc.stderr
