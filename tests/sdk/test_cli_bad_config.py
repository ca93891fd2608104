"""Every executable given a --config that is a folder, unreadable, empty, not JSON or a JSON list
says so in one line naming the file and the fix, exit 2, nothing on stdout (tapwell.singer.config
.load_config reads every connector's config). mapper-stream-maps printed an IsADirectoryError
traceback for a folder; an unreadable file was click's three-line usage error; an empty file was
"not valid JSON: Input is a zero-length, empty document"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
COMMANDS = [
    ["tap-csv", "--config", "C", "--discover"],
    ["tap-mysql", "--config", "C", "--discover"],
    ["tap-postgres", "--config", "C", "--discover"],
    ["tap-postgres", "--config", "C", "--doctor"],
    ["tap-rest", "--config", "C", "--discover"],
    ["target-jsonl", "--config", "C"],
    ["target-duckdb", "--config", "C"],
    ["target-postgres", "--config", "C"],
    ["target-postgres", "--config", "C", "--read-state"],
    ["mapper-stream-maps", "--config", "C"],
]
CASES = {
    "adir": "config file adir is a folder, not a file: give the path of the file",
    "empty.json": "config file empty.json is empty: write a JSON object in it ({} at least)",
    "text.json": "config file text.json is not valid JSON: invalid literal, expected 'null': "
    "line 1 column 1 (char 0)",
    "list.json": "config file list.json must hold a JSON object ({...}), not a list",
}


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A folder anyone may enter (the unreadable case runs as another user when root)."""
    path = Path(tempfile.mkdtemp(prefix="tapwell-bad-config-"))
    path.chmod(0o755)
    (path / "adir").mkdir()
    (path / "empty.json").write_text(" \n")
    (path / "text.json").write_text("not json\n")
    (path / "list.json").write_text('[{"host": "x"}]\n')
    (path / "denied.json").write_text("{}")
    (path / "denied.json").chmod(0)
    yield path
    shutil.rmtree(path)


def _run(
    argv: list[str], cwd: Path, config: str, prefix: tuple[str, ...] = ()
) -> tuple[int, list[str], str]:
    argv = [config if a == "C" else a for a in argv]
    done = subprocess.run(
        [*prefix, str(BIN / argv[0]), *argv[1:]],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stderr.splitlines(), done.stdout


@pytest.mark.parametrize("config", list(CASES))
@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_bad_config_file_is_one_line(folder: Path, argv: list[str], config: str) -> None:
    line = f"{argv[0]}: error: {CASES[config]}"
    assert _run(argv, folder, config) == (2, [line], "")


def _as_another_user() -> tuple[str, ...]:
    """What runs a command as a user the chmod 000 file denies (root reads it all the same)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root, and no setpriv to run as another user")
    return (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.mark.parametrize("argv", [*COMMANDS, ["tapwell", "--project", "C", "runs"]], ids=" ".join)
def test_an_unreadable_config_file_is_one_line(folder: Path, argv: list[str]) -> None:
    what = "project file" if argv[0] == "tapwell" else "config file"
    line = (
        f"{argv[0]}: error: {what} denied.json cannot be read (permission denied): make it "
        "readable by this user (chmod u+r denied.json, or run as its owner)"
    )
    assert _run(argv, folder, "denied.json", _as_another_user()) == (2, [line], "")
