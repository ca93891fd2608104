"""The README's first example, run as written, twice (issue 11.26): the files it names exist
(sample/tap.json, sample/duckdb.json: the demo integration's settings from tapwell.yml), the
first run has no state file yet, and the second resumes from the state the first one saved."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
    return next(b for b in blocks if "tap-csv --config" in b)


def counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            t: con.execute(f'SELECT count(*) FROM shop."{t}"').fetchone()[0]  # type: ignore[index]
            for t in ("customers", "orders", "order_items")
        }
    finally:
        con.close()


def test_the_example_files_are_the_demo_integrations_settings():
    demo = yaml.safe_load((ROOT / "tapwell.yml").read_text())["integrations"]["demo"]
    assert json.loads((ROOT / "sample" / "tap.json").read_text()) == demo["tap"]["config"]
    duck = json.loads((ROOT / "sample" / "duckdb.json").read_text())
    assert duck == {**demo["target"]["config"], "path": "warehouse/pipe.duckdb"}


def test_the_readme_pipe_example_runs_as_written_twice(tmp_path: Path):
    shutil.copy(ROOT / "tapwell.yml", tmp_path / "tapwell.yml")
    shutil.copytree(ROOT / "catalogs", tmp_path / "catalogs")
    shutil.copytree(ROOT / "sample", tmp_path / "sample")
    (tmp_path / "state").mkdir()
    (tmp_path / ".venv").symlink_to(
        Path(sys.executable).parent.parent
    )  # the README names .venv/bin
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = readme_example()

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = run()
    assert first.returncode == 0, first.stderr
    assert (
        "tap-csv: note: state file state/pipe.json does not exist yet; starting without "
        "bookmarks (a first run)"
    ) in first.stderr.splitlines()
    expected = {"customers": 500, "orders": 1500, "order_items": 3724}
    assert counts(tmp_path / "warehouse" / "pipe.duckdb") == expected
    saved = json.loads((tmp_path / "state" / "pipe.json").read_text())
    assert set(saved["bookmarks"]) == set(expected)

    second = run()
    assert second.returncode == 0, second.stderr
    assert "note:" not in second.stderr
    # the pipe's own METRIC lines (tap-csv's, then target-duckdb's; the runner prefixes its own):
    # only the rows at each stream's bookmark were sent again
    sent = [
        json.loads(line[len("METRIC: ") :])
        for line in second.stderr.splitlines()
        if line.startswith("METRIC: ") and '"record_count"' in line
    ]
    assert len(sent) == 6 and all(0 < m["value"] <= 2 for m in sent)
    assert counts(tmp_path / "warehouse" / "pipe.duckdb") == expected
    assert json.loads((tmp_path / "state" / "pipe.json").read_text()) == saved
    assert counts(tmp_path / "warehouse" / "demo.duckdb") == expected  # `tapwell run demo`
