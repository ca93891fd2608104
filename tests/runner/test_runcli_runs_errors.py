"""`tapwell runs` shows the root cause first in its ERROR column (11.23): the column used to end
right before it, after `tap exit N, target exit M: [target-postgres] target-postgr...`."""

from __future__ import annotations

import socket

import pytest
from tapwell.runner.runs_view import root_cause_first


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_runs_table_starts_the_error_with_its_cause(proj):
    (proj.root / "data").mkdir()
    (proj.root / "data" / "t.csv").write_text("id,name\n1,a\n")
    target = {"host": "127.0.0.1", "port": free_port(), "user": "postgres", "dbname": "nope"}
    proj.write(
        {
            "integrations": {
                "csv": {
                    "tap": {
                        "name": "tap-csv",
                        "config": {
                            "base_dir": "data",
                            "streams": [{"name": "t", "path": "t.csv", "key_properties": ["id"]}],
                        },
                    },
                    "target": {"name": "target-postgres", "config": target},
                    "retry": {"attempts": 2, "backoff_seconds": 0},
                }
            }
        }
    )
    assert proj.cli("run", "csv").returncode != 0
    done = proj.cli("runs", "csv")
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    error = row[header.index("ERROR") :]
    assert error.startswith("target-postgres: cannot connect to PostgreSQL at 127.0.0.1"), row


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (
            "tap exit 0, target exit 2: [target-postgres] target-postgres: error: password "
            "authentication failed (gave up after 3 attempts)",
            "target-postgres: password authentication failed (tap exit 0, target exit 2; gave up "
            "after 3 attempts)",
        ),
        (
            "tap exit 1, target exit -15: [tap-x] ValueError: bad row",
            "tap-x: ValueError: bad row (tap exit 1, target exit -15)",
        ),
        ("tap exit 1, target exit 0", "tap exit 1, target exit 0"),
        # as runs record it since tapwell.runner.failure: the stage that failed alone
        (
            "target-postgres exit 2: password authentication failed (gave up after 3 attempts)",
            "target-postgres: password authentication failed (exit 2; gave up after 3 attempts)",
        ),
        (
            "target loader exit 1: ValueError: x (the same error in 2 attempts in a row)",
            "target loader: ValueError: x (exit 1; the same error in 2 attempts in a row)",
        ),
        (
            "tap-x killed by SIGKILL (gave up after 1 attempt)",
            "tap-x killed by SIGKILL (gave up after 1 attempt)",
        ),
        (
            "stalled: no output for 900s, killed (tap exit -9, target exit -9)",
            "stalled: no output for 900s, killed (tap exit -9, target exit -9)",
        ),
        ("interrupted", "interrupted"),
        (None, None),
    ],
)
def test_root_cause_first(error, shown):
    assert root_cause_first(error) == shown


def test_a_reader_closing_the_pipe_early_is_not_an_error(tmp_path):
    """`tapwell runs | head` printed `tapwell: error: the reading end of the pipe closed` when
    head left first; tapwell's own commands now end quietly with 141, as `git log | head` does.
    Connectors keep their line (test_target_duckdb_overlap)."""
    import os
    import subprocess

    from helpers.runner_project import BIN

    (tmp_path / "tapwell.yml").write_text(
        "integrations:\n  a: {tap: tap-csv, target: target-jsonl}\n"
    )
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        for args in (["runs"], ["runs", "--json"]):
            done = subprocess.run(
                [str(BIN / "tapwell"), "--project", str(tmp_path), *args],
                stdout=write,
                stderr=subprocess.PIPE,
                timeout=120,
            )
            assert (done.returncode, done.stderr) == (141, b""), done.stderr
    finally:
        os.close(write)
