"""The anchors' virtualenvs: each anchor installs from PyPI into its own venv under
bench/.venvs/<name>, once; a marker file records what was installed so later runs reuse it.

An anchor that cannot install is not fatal: `ensure` returns the exact error and the harness
records it beside the other tools' figures.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


@dataclass(frozen=True)
class Anchor:
    """One anchor venv: the pip requirements that go into it and the executables it must provide."""

    name: str
    requirements: tuple[str, ...]
    executables: tuple[str, ...]
    pip_args: tuple[str, ...] = ()  # e.g. --ignore-requires-python for a package capped below 3.11

    @property
    def root(self) -> Path:
        return VENVS / self.name

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def marker(self) -> Path:
        return self.root / ".installed"


# Versions pinned so figures from different days compare like with like. Each is the newest
# release that installs on Python 3.11 (meltanolabs-tap-mysql has only a pre-release on PyPI).
ANCHORS: dict[str, Anchor] = {
    a.name: a
    for a in (
        Anchor("pipelinewise-tap-mysql", ("pipelinewise-tap-mysql==1.6.0",), ("tap-mysql",)),
        Anchor(
            "pipelinewise-target-postgres",
            ("pipelinewise-target-postgres==2.1.2",),
            ("target-postgres",),
        ),
        Anchor("meltanolabs-tap-mysql", ("meltanolabs-tap-mysql==0.0.1a1",), ("tap-mysql",)),
        # the PostgreSQL -> PostgreSQL series (bench/pg_series.py): their CDC needs wal2json
        # 2.1.0 declares Python < 3.10 but runs on 3.11 (its last release; tested here)
        Anchor(
            "pipelinewise-tap-postgres",
            ("pipelinewise-tap-postgres==2.1.0",),
            ("tap-postgres",),
            ("--ignore-requires-python",),
        ),
        Anchor(
            "meltanolabs-tap-postgres", ("meltanolabs-tap-postgres==0.10.0",), ("tap-postgres",)
        ),
        Anchor(
            "meltanolabs-target-postgres",
            ("meltanolabs-target-postgres==0.8.1",),
            ("target-postgres",),
        ),
    )
}


class InstallError(Exception):
    """An anchor could not be installed; the message is pip's own last lines."""


def _run(cmd: list[str], log: Path) -> None:
    with log.open("ab") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-8:]
        raise InstallError(f"{' '.join(cmd[:4])}... exited {proc.returncode}: " + " | ".join(tail))


def ensure(anchor: Anchor, say: object = print) -> Path:
    """Install `anchor` into its venv unless the marker says it is already there; return its bin."""
    wanted = "\n".join(anchor.requirements)
    if anchor.marker.exists() and anchor.marker.read_text() == wanted:
        return anchor.bin
    VENVS.mkdir(parents=True, exist_ok=True)
    log = VENVS / f"{anchor.name}.install.log"
    log.write_text("")
    if callable(say):
        say(
            f"bench: installing {' '.join(anchor.requirements)} into {anchor.root} (once; log {log})"
        )
    if not (anchor.bin / "python").exists():
        _run([PYTHON, "-m", "venv", str(anchor.root)], log)
    pip = [str(anchor.bin / "python"), "-m", "pip", "install", "-q"]
    _run([*pip, "--upgrade", "pip", "setuptools<70", "wheel"], log)
    _run([*pip, *anchor.pip_args, *anchor.requirements], log)
    missing = [e for e in anchor.executables if not (anchor.bin / e).exists()]
    if missing:
        raise InstallError(f"{anchor.name} installed but provides no {', '.join(missing)}")
    anchor.marker.write_text(wanted)
    return anchor.bin


def installed_versions(anchor: Anchor) -> dict[str, str]:
    """The installed versions of the anchor's own distributions, read from its venv."""
    names = [r.split("==")[0].split(">")[0].split("<")[0] for r in anchor.requirements]
    code = (
        "import importlib.metadata as m, sys\nfor n in sys.argv[1:]:\n    print(n, m.version(n))\n"
    )
    proc = subprocess.run(
        [str(anchor.bin / "python"), "-c", code, *names], capture_output=True, text=True
    )
    return dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
