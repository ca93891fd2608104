"""What `tapwell run` prints and reports: deterministic failures are not retried again and again,
rows are what the target committed (never the tap's count), the terminal gets one line per
attempt, warnings, errors and progress, while METRIC lines and tracebacks stay in the run log."""

from __future__ import annotations

import json
import re
import sys

from helpers.runner_project import fake_integration

REFUSE_SCHEMA = (
    "import sys\n"
    "def load(line):\n"
    "    raise ValueError('cannot create table for stream items: type refused')\n"
    "load(sys.stdin.readline())\n"
)
MALFORMED = (
    "import sys\n"
    "sys.stdin.readline()\n"
    "sys.stderr.write('t65: error: input line 1, stream items: not valid JSON\\n')\n"
    "sys.exit(65)\n"
)


def _write(proj, script, attempts=3):
    raw = fake_integration(proj, rows=300)
    raw["target"] = {"name": "picky-target", "command": [sys.executable, "-c", script]}
    raw["retry"] = {"attempts": attempts, "backoff_seconds": 0}
    proj.write({"integrations": {"p": raw}})


def _record(proj):
    return json.loads(
        next(
            p for p in (proj.root / "state" / ".runs").glob("*.json") if p.name[0] != "."
        ).read_text()
    )


def test_target_refusing_the_first_schema_is_not_retried_again_and_again(proj):
    _write(proj, REFUSE_SCHEMA, attempts=4)
    for n in (1, 2):  # run twice, as a user would
        done = proj.cli("run", "p")
        assert done.returncode == 1
        assert len(proj.starts()) == 2 * n  # the same error twice in a row: no third attempt
        err = done.stderr
        assert "Traceback" not in err and '  File "' not in err
        assert len([ln for ln in err.splitlines() if "attempt 1 failed" in ln]) == 1
        # the cause (a traceback's last line, which the terminal hides) once: in attempt 1's line
        assert err.count("ValueError: cannot create table for stream items") == 1, err
        assert err.splitlines()[-1].startswith(
            "tapwell: error: integration 'p' failed: picky-target exit 1; the same error in 2 "
            "attempts in a row, nothing committed (run "
        ), err
        # (run ids hold the start time's digits: "T030044..." is not a row count)
        counts = re.sub(r"\d{8}T\d{6,12}-[0-9a-f]{6}", "RUN", err)
        assert "300" not in counts.replace("the tap sent items 300", "")
        assert len(err.splitlines()) <= 6, err
    record = _record(proj)
    assert record["rows"] == {} and record["attempt_rows"] == [{}, {}]
    log = proj.cli("logs", record["id"]).stdout
    assert "Traceback (most recent call last):" in log  # the run log keeps it all
    assert "the same error as the attempt before, with nothing committed: not retried" in log
    assert "rows: none reported" in log
    table = proj.cli("runs", "p").stdout.splitlines()
    assert " 0 " in table[1] and "earlier" not in table[1]


def test_malformed_input_exit_65_is_not_retried(proj):
    _write(proj, MALFORMED)
    done = proj.cli("run", "p")
    assert done.returncode == 65, done.stderr
    assert len(proj.starts()) == 1
    assert "t65: error: input line 1, stream items: not valid JSON" in done.stderr
    assert "not retried" in done.stderr


def test_terminal_shows_warnings_and_progress_not_metrics(proj, expected_rows):
    raw = fake_integration(proj, rows=120, slow=0.3, warn="items has no replication key")
    proj.write({"integrations": {"w": raw}})
    done = proj.cli("run", "w", "--progress-every", "0.2")
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert "METRIC" not in err
    assert "fake-tap WARNING items has no replication key" in err
    assert "tapwell: w: items " in err  # a progress line per stream
    assert "attempt 1 from id" not in err  # a connector's info lines stay in the run log
    log = proj.cli("logs", _record(proj)["id"]).stdout
    assert "METRIC: " in log and "attempt 1 from id" in log

    quiet = proj.cli("run", "w", "--quiet", "--progress-every", "0.2", "--full-refresh")
    assert quiet.returncode == 0, quiet.stderr
    assert "fake-tap WARNING items has no replication key" in quiet.stderr
    assert "tapwell: w: items " not in quiet.stderr and "METRIC" not in quiet.stderr
    assert proj.duckdb_rows() == expected_rows(120)


def test_a_run_has_a_stall_timeout_by_default(proj):
    proj.write({"integrations": {"d": fake_integration(proj, rows=10)}})
    assert "stall_timeout_seconds" not in (proj.root / "tapwell.yml").read_text()
    done = proj.cli("run", "d")
    assert done.returncode == 0, done.stderr
    log = proj.cli("logs", _record(proj)["id"]).stdout  # the run's start line: the log's alone
    assert "an attempt silent for 1800s is stopped and retried" in log


# a target that loads and echoes each STATE but prints no METRIC line (target-jsonl, many
# singer-python targets)
SILENT_TARGET = (
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    m = json.loads(line)\n"
    "    if m['type'] == 'STATE':\n"
    "        print(json.dumps(m['value']), flush=True)\n"
)


def test_a_target_without_record_counts_is_not_a_run_of_zero_rows(proj):
    raw = fake_integration(proj, rows=120)
    raw["target"] = {"name": "silent-target", "command": [sys.executable, "-c", SILENT_TARGET]}
    proj.write({"integrations": {"s": raw}})
    done = proj.cli("run", "s")
    assert done.returncode == 0, done.stderr
    last = done.stderr.splitlines()[-1]
    # it loaded them: the user is told the target reports no count, and what the tap sent
    assert "0 rows" not in last, done.stderr
    assert "rows not reported by the target (the tap sent 120)" in last, done.stderr
    log = proj.cli("logs", _record(proj)["id"]).stdout
    assert "rows: none reported by the target (the tap sent items 120)" in log
    assert _record(proj)["rows"] == {}  # the record keeps only what a target reported


# a tap that writes its SCHEMA, an info line and a METRIC line, then is killed (the OOM killer,
# kill -9)
KILLED_TAP = (
    "import os, sys\n"
    "sys.stderr.write('killed-tap INFO created replication slot s\\n')\n"
    'print(\'{"type":"SCHEMA","stream":"items","schema":{"type":"object",'
    '"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}\', flush=True)\n'
    'sys.stderr.write(\'METRIC: {"type":"counter","metric":"record_count","value":0}\\n\')\n'
    "sys.stderr.flush()\n"
    "os.kill(os.getpid(), 9)\n"
)


def test_a_killed_tap_is_named_as_killed_not_by_its_last_metric_line(proj):
    raw = fake_integration(proj, rows=10)
    raw["tap"] = {"name": "killed-tap", "command": [sys.executable, "-c", KILLED_TAP]}
    raw["retry"] = {"attempts": 1, "backoff_seconds": 0}
    proj.write({"integrations": {"k": raw}})
    done = proj.cli("run", "k")
    assert done.returncode == 1, done.stderr
    assert "METRIC" not in done.stderr, done.stderr  # the terminal never shows METRIC lines
    last = done.stderr.splitlines()[-1]
    assert last.startswith(
        "tapwell: error: integration 'k' failed: killed-tap killed by SIGKILL; gave up after 1 "
        "attempt (run "
    ), last
    assert "created replication slot" not in last  # an info line is no reason
