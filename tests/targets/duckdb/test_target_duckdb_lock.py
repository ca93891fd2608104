"""A DuckDB file held by another process (a notebook, a second integration) is a temporary failure
(issues 11.17, 20.12): one line with a hint, exit 75 so the runner retries, and the next try,
once the other connection is closed, loads everything."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml
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
        assert line.startswith(f"target-duckdb: error: DuckDB file {db} is in use by process ")
        assert f"process {holder.pid} (" in line and "close its connection" in line
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


ROOT = Path(__file__).resolve().parents[3]


def test_tapwell_run_retries_a_load_whose_file_is_held(bin_path, tmp_path):
    """`tapwell run demo` while a notebook holds warehouse/demo.duckdb: every attempt ends in the
    target's one line (exit 75, so the runner tries again instead of giving up at once as it
    does on a config error), said once; once the notebook closes, the next run loads."""
    shutil.copytree(ROOT / "catalogs", tmp_path / "catalogs")
    shutil.copytree(ROOT / "sample" / "data", tmp_path / "sample" / "data")
    (tmp_path / "state").mkdir()
    (tmp_path / "warehouse").mkdir()
    project = yaml.safe_load((ROOT / "tapwell.yml").read_text())
    project["integrations"]["demo"]["retry"] = {"attempts": 3, "backoff_seconds": 0}
    (tmp_path / "tapwell.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    db = tmp_path / "warehouse" / "demo.duckdb"
    run = [str(bin_path / "tapwell"), "--project", str(tmp_path), "run", "demo"]
    holder = subprocess.Popen(
        [str(bin_path / "python"), "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        held = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert held.returncode not in (0, 2), held.stderr
    output = (held.stdout + held.stderr).splitlines()
    tries = [x for x in output if x.startswith("[target-duckdb]") and "is in use by process" in x]
    # the target's line once (the same line from each attempt is said once on the terminal) and
    # the runner's: retried, where a config error (exit 2) is tried once
    assert len(tries) == 1, output
    assert any("exit 75; gave up after 3 attempts" in x for x in output), output
    assert "Traceback" not in held.stderr
    again = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr
    assert query(db, "SELECT count(*) FROM shop.orders") == [(1500,)]
