"""A connector that fails the same way on every attempt, before committing anything, is not
retried until the attempts run out: the same error line twice in a row stops the run, also when
the line carries its logger's time (pipelinewise-target-postgres: `time=2026-12-07 18:11:29 ...
level=ERROR message=Invalid configuration:`), and the reason on the lines after such a line
(`* Required key is missing from config: [password]`) reaches the terminal. Errors that differ in
more than their times are retried as before."""

from __future__ import annotations

import json
import sys

from helpers.runner_project import fake_integration

# pipelinewise-target-postgres's config check, as it prints it: a timestamped line ending with ':'
# and the reason on the next line, then exit 1
CONFIG_ERROR = (
    "import datetime, sys\n"
    "now = datetime.datetime.now()\n"
    "sys.stderr.write(f'time={now:%Y-%m-%d %H:%M:%S.%f} name=target_postgres level=ERROR '\n"
    "                 'message=Invalid configuration:\\n')\n"
    "sys.stderr.write('   * Required key is missing from config: [password]\\n')\n"
    "sys.exit(1)\n"
)
# a failure whose line differs in more than its time: a counter of the attempts
DIFFERENT_EACH_TIME = (
    "import pathlib, sys\n"
    "seen = pathlib.Path('attempts.seen')  # in the project's folder\n"
    "n = int(seen.read_text()) if seen.exists() else 0\n"
    "seen.write_text(str(n + 1))\n"
    "sys.stderr.write(f'target: error: deadlock detected, process {n} waits\\n')\n"
    "sys.exit(1)\n"
)


def write(proj, script, attempts=4):
    raw = fake_integration(proj, rows=50)
    raw["target"] = {"name": "pw-target", "command": [sys.executable, "-c", script]}
    raw["retry"] = {"attempts": attempts, "backoff_seconds": 0}
    proj.write({"integrations": {"p": raw}})


def run_record(proj):
    [path] = [p for p in (proj.root / "state" / ".runs").glob("*.json") if p.name[0] != "."]
    return json.loads(path.read_text())


def test_a_config_error_with_its_loggers_time_stops_after_two_attempts(proj):
    write(proj, CONFIG_ERROR)
    done = proj.cli("run", "p")
    assert done.returncode == 1, done.stderr
    err = done.stderr.splitlines()
    reason = "Required key is missing from config: [password]"
    assert [ln for ln in err if reason in ln] == [
        ln for ln in err if ln.startswith("[tapwell] attempt 1 failed: pw-target exit 1: time=")
    ], done.stderr  # said once, in attempt 1's line, after its first line
    assert err[-1].startswith(
        "tapwell: error: integration 'p' failed: pw-target exit 1; the same error in 2 attempts "
        "in a row, nothing committed (run "
    ), done.stderr
    record = run_record(proj)
    assert record["attempts"] == 2, done.stderr  # not 4: the same error twice in a row
    assert record["error"].endswith(
        "message=Invalid configuration: * Required key is missing from config: [password] "
        "(the same error in 2 attempts in a row)"
    ), record["error"]


def test_errors_that_differ_in_more_than_their_time_are_retried(proj):
    write(proj, DIFFERENT_EACH_TIME, attempts=3)
    done = proj.cli("run", "p")
    assert done.returncode == 1, done.stderr
    assert run_record(proj)["attempts"] == 3, done.stderr
    assert "gave up after 3 attempts" in done.stderr
