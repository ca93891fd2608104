"""A file named on a connector's command line that exists but cannot be read (a folder, a file
without read permission) is one line naming the file and the fix, exit 2, and nothing on stdout:
never an IsADirectoryError or PermissionError traceback. Root reads a chmod 000 file all the same,
so the permission case is driven through the error itself."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from tapwell.sdk.cli_util import cannot_read, files_named
from tapwell.singer.errors import ConfigError

BIN = Path(sys.executable).parent
FOLDER = "is a folder, not a file: give the path of the file"


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["target-jsonl", "--config", "adir"], f"target-jsonl: error: config file adir {FOLDER}"),
        (["target-duckdb", "--config", "adir"], f"target-duckdb: error: config file adir {FOLDER}"),
        (
            ["target-jsonl", "--config", "ok.json", "--input", "adir"],
            f"target-jsonl: error: input file adir {FOLDER}",
        ),
        (
            ["target-jsonl", "--config", "ok.json", "--input", "missing.singer"],
            "target-jsonl: error: input file missing.singer does not exist: check the path",
        ),
        (["tap-csv", "--config", "adir"], f"tap-csv: error: config file adir {FOLDER}"),
        (
            ["tap-csv", "--config", "ok.json", "--catalog", "adir"],
            f"tap-csv: error: catalog file adir {FOLDER}",
        ),
    ],
)
def test_a_folder_given_as_a_file_is_one_line(tmp_path, argv, line):
    (tmp_path / "adir").mkdir()
    (tmp_path / "ok.json").write_text("{}")
    done = run(argv, tmp_path)
    assert (done.returncode, done.stderr.splitlines(), done.stdout) == (2, [line], "")


def test_a_file_without_read_permission_names_the_fix():
    denied = PermissionError(errno.EACCES, "Permission denied", "conf/tap.json")
    with pytest.raises(ConfigError) as caught, files_named({"config file": ["conf/tap.json"]}):
        raise denied
    assert str(caught.value) == (
        "config file conf/tap.json cannot be read (permission denied): make it readable by this "
        "user (chmod u+r conf/tap.json, or run as its owner)"
    )
    assert caught.value.exit_code == 2


def test_other_files_errors_pass_as_they_are():
    """A file the user did not name (a database's own, a full disk) is not called theirs."""
    other = PermissionError(errno.EACCES, "Permission denied", "warehouse/x.duckdb")
    with pytest.raises(PermissionError), files_named({"config file": ["tap.json"]}):
        raise other
    assert str(cannot_read("env_file:", "s.env", OSError(errno.EIO, "I/O error"))) == (
        "env_file: s.env cannot be read (I/O error): check the path"
    )
