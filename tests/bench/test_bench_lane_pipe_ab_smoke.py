"""bench.lane_pipe_ab cannot rot: a tiny A/B whose build B writes smaller files
(`--batch-size-b`) loads the same rows as A, and the tap's config carries each side's file size.
No timing is asserted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import lane_pipe_ab  # noqa: E402


def test_b_with_smaller_files_loads_what_a_loads(capsys, tmp_path):
    work = tmp_path / "work"
    argv = ["--rows", "2000", "--pairs", "1", "--batch-size-b", "500", "--work-dir", str(work)]
    assert lane_pipe_ab.main(argv) == 0
    out = capsys.readouterr().out
    runs = [line for line in out.splitlines() if line.startswith("pair 1")]
    assert len(runs) == 2 and all(line.endswith(", ok") for line in runs), out
    sizes = {
        name: json.loads((work / f"run-{name}" / "tap.json").read_text())["batch_config"]
        for name in ("A", "B")
    }
    assert sizes["A"]["batch_size"] == 100_000 and sizes["B"]["batch_size"] == 500
