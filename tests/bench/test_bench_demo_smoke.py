"""A tiny run of `python -m bench.demo` (one repeat) in a copy of the example project, so the
README's demo figure can be measured again. No timing is asserted; figures belong to the bench."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import demo  # noqa: E402


def test_the_demo_bench_runs_a_first_load_and_a_rerun(capsys, tmp_path):
    for name in ("tapwell.yml", "catalogs", "sample"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    demo.main(["--repeats", "1", "--project", f"copy={tmp_path}"])
    out = capsys.readouterr().out
    lines = {x.split("  ")[0]: x for x in out.splitlines()}
    for key in ("copy first load", "copy re-run"):
        assert key in lines and "nan" not in lines[key], out
    assert (tmp_path / "warehouse" / "demo.duckdb").exists()
    assert "load average before" in out and "anchor python -c pass" in out
