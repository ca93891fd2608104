"""The map a newcomer reads matches the tree: runner/README.md's table names every module of the
three layers (a module added without a word there fails here), and every repository path the
READMEs write in backquotes exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("singer", "sdk", "runner")


def _row(layer: str) -> str:
    text = (ROOT / "runner" / "README.md").read_text(encoding="utf-8")
    (row,) = [x for x in text.splitlines() if x.startswith(f"| `tapwell.{layer}` |")]
    return row


@pytest.mark.parametrize("layer", LAYERS)
def test_the_runner_readme_names_every_module_of_each_layer(layer: str) -> None:
    folder = ROOT / "runner" / "tapwell" / layer
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    modules |= {f"{p.name}/" for p in folder.iterdir() if (p / "__init__.py").exists()}
    row = _row(layer)
    named = set(re.findall(r"`([a-z_]+/?)`", row))
    # `statestore` (+ `_pg`, `_rules`): a suffix stands for the module before it
    named |= {f"statestore{s}" for s in named if s.startswith("_")}
    assert sorted(modules - named) == []


def test_every_path_the_readmes_write_exists() -> None:
    files = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    top = r"(?:runner|taps|targets|mappers|tests|deploy|catalogs|sample)/"
    missing = []
    for name in files:
        text = (ROOT / name).read_text(encoding="utf-8")
        for path in re.findall(rf"`({top}[A-Za-z0-9_./-]+)`", text):
            if "NAME" in path or "*" in path or "..." in path:
                continue
            if not (ROOT / path.rstrip("/")).exists():
                missing.append(f"{name}: {path}")
    assert missing == []
