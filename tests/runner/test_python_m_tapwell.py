"""`python -m tapwell` is the `tapwell` command: tapwell serve starts its runs that way when the
console script is not beside the interpreter (it used to name tapwell.runner.cli, which has no
`__main__` guard: every such run exited 0 having done nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tapwell.runner.serve import manager


def test_python_m_tapwell_runs_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tapwell", "--project", str(tmp_path / "tapwell.yml"), "run", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "no project file" in done.stderr


def test_serve_falls_back_to_python_m_tapwell(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(manager.sys, "executable", str(tmp_path / "python"))
    assert manager.tapwell_exe() == [str(tmp_path / "python"), "-m", "tapwell"]
