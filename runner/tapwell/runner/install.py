"""`tapwell install`: each third-party connector (one with `pip_url` in tapwell.yml) in a
virtualenv of its own, so one connector's dependencies never break another's."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tapwell.runner.project import Connector, Project
from tapwell.singer.errors import ConfigError


def _marker(venv: Path) -> Path:
    return venv / ".tapwell-pip-url"


def install_connector(
    connector: Connector, *, force: bool = False, log: Callable[[str], None] = print
) -> bool:
    """Create the venv and pip-install the connector; False when it is already installed."""
    if connector.venv is None or not connector.pip_url:
        raise ConfigError(
            f"{connector.name}: give pip_url (what to pip install) to install it into a venv"
        )
    venv = connector.venv
    exe = venv / "bin" / connector.command[0]
    if (
        not force
        and exe.exists()
        and _marker(venv).exists()
        and _marker(venv).read_text() == connector.pip_url
    ):
        return False
    log(f"tapwell: installing {connector.pip_url} into {venv}")
    if not (venv / "bin" / "python").exists():
        _check(
            subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True),
            "python -m venv",
        )
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    _check(
        subprocess.run([*pip, *connector.pip_url.split()], capture_output=True),
        f"pip install {connector.pip_url}",
    )
    if not exe.exists():
        raise ConfigError(
            f"{connector.pip_url} installed no {connector.command[0]!r} in {venv / 'bin'}: set the connector's command"
        )
    _marker(venv).write_text(connector.pip_url)
    return True


def _check(proc: subprocess.CompletedProcess[bytes], what: str) -> None:
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()[-3:]
        raise ConfigError(f"{what} failed (exit {proc.returncode}): {' | '.join(tail)}")


def install(
    project: Project, names: list[str], *, force: bool = False, log: Callable[[str], None] = print
) -> int:
    """Install the pip_url connectors of the named integrations (all when none is named)."""
    count = 0
    for name in names or project.names:
        for connector in project.connector_specs(name):
            if connector.pip_url:
                count += install_connector(connector, force=force, log=log)
    return count
