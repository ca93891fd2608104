"""A `path` that cannot be a DuckDB file is a config problem: exit 2 (never retried) with one line
naming the key and the fix, not a traceback. A missing folder is created (README, `path`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

DATA = lines(schema("t", {"id": {"type": "integer"}}), record("t", {"id": 1}), state({"n": 1}))


def _refused(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 2, result.stderr.decode()
    assert result.stdout == b""
    assert len(result.stderr.decode().strip().splitlines()) == 1, result.stderr.decode()
    return error_line(result)


def test_a_path_under_a_regular_file_is_a_config_error(bin_path, tmp_path):
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    for db in (plain / "x.duckdb", plain / "a" / "b" / "x.duckdb"):
        line = _refused(run_target(bin_path, tmp_path, DATA, db))
        assert line == (
            f"target-duckdb: error: config key path: {db} cannot be created, {plain} is a file, "
            "not a folder; give a path in a folder"
        )


def test_a_folder_is_a_config_error(bin_path, tmp_path):
    line = _refused(run_target(bin_path, tmp_path, DATA, tmp_path))
    assert line == (
        f"target-duckdb: error: config key path: {tmp_path} is a folder; name a file in it, "
        f"e.g. {tmp_path / 'warehouse.duckdb'}"
    )


def test_a_file_that_is_not_duckdb_is_a_config_error(bin_path, tmp_path):
    plain = tmp_path / "notes.txt"
    plain.write_text("hello\n" * 1000)
    line = _refused(run_target(bin_path, tmp_path, DATA, plain))
    assert line.startswith(f"target-duckdb: error: cannot open DuckDB file {plain}: ")
    assert plain.read_text() == "hello\n" * 1000


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop root")
def test_a_folder_this_user_cannot_write_is_a_config_error(bin_path, tmp_path):
    """Run as nobody (root writes anywhere), as a user without rights on the folder would."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the target as another user")
    home = Path(tempfile.mkdtemp())  # pytest's own tmp_path is root's only
    os.chmod(home, 0o755)
    locked = home / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    cfg = home / "config.json"
    cfg.write_text('{"path": "%s"}' % (locked / "sub" / "w.duckdb"))
    cfg.chmod(0o644)
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        + [str(bin_path / "target-duckdb"), "--config", str(cfg)],
        input=DATA,
        capture_output=True,
        timeout=300,
    )
    shutil.rmtree(home)
    line = _refused(result)
    assert line == (
        f"target-duckdb: error: config key path: {locked / 'sub' / 'w.duckdb'} cannot be created, "
        f"folder {locked} is not writable; give a path in a folder this user can write, or change "
        "its permissions"
    )


def test_missing_folders_are_created(bin_path, tmp_path):
    db = tmp_path / "a" / "b" / "w.duckdb"
    result = run_target(bin_path, tmp_path, DATA, db)
    assert result.returncode == 0, result.stderr.decode()
    assert query(db, "SELECT id FROM t") == [(1,)]
