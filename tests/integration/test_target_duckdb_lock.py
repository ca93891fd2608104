"""A DuckDB file held by another process (a notebook, a second integration) is a temporary failure
(issues 11.17, 20.12): one line with a hint, exit 75 so the runner retries, and the next try,
once the other connection is closed, loads everything."""

from __future__ import annotations

import subprocess

from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin
con.close()
"""


def test_a_file_locked_by_another_process_is_temporary(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    data = lines(schema("t", {"id": {"type": "integer"}}), record("t", {"id": 1}), state({"n": 1}))
    holder = subprocess.Popen(
        [str(bin_path / "python"), "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        locked = run_target(bin_path, tmp_path, data, db)
        assert locked.returncode == 75, locked.stderr.decode()
        line = error_line(locked)
        assert line.startswith(
            f"target-duckdb: error: DuckDB file {db} is in use by another process"
        )
        assert "close its connection" in line
        assert len(locked.stderr.decode().strip().splitlines()) == 1
        assert locked.stdout == b""  # no state: nothing was committed
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    again = run_target(bin_path, tmp_path, data, db)
    assert again.returncode == 0, again.stderr.decode()
    assert again.stdout.decode().splitlines() == ['{"n":1}']
    assert query(db, "SELECT id FROM t") == [(1,)]
