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
