"""`tapwell run` says each problem once, by the stage that failed: the connector's own line as it
printed it, then one runner line naming that stage and its exit code. Before, a target's config
error was printed three times (its line, the attempt's line, the last line, each with the
connector's line) and blamed on "tap exit -9", the runner's own kill of the tap after the target
died. The run record, `tapwell runs` and `tapwell logs` keep the same single cause."""

from __future__ import annotations

import json
import re
import sys

import pytest
from helpers.runner_project import fake_integration, picky_target_command
from tapwell.runner.attempt import AttemptResult
from tapwell.runner.project import RetryPolicy
from tapwell.runner.retry import classify

RUN_ID = re.compile(r"\d{8}T\d{12}-[0-9a-f]{6}")
START = "an attempt silent for 1800s is stopped and retried"


def terminal(done) -> list[str]:
    """The run's stderr lines, its run id written RUN and its time S."""
    text = re.sub(r"succeeded in \d+\.\d\ds", "succeeded in S", done.stderr)
    return RUN_ID.sub("RUN", text).splitlines()


def record(proj, name: str) -> dict:
    done = proj.cli("runs", name, "--limit", "1", "--json")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["runs"][0]["id"]
    shown = proj.cli("runs", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def logs(proj, run_id: str) -> str:
    done = proj.cli("logs", run_id)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_target_config_error_is_said_once_and_not_blamed_on_the_tap(proj):
    raw = fake_integration(proj, rows=300, slow=0.3)  # the tap still runs when the target dies
    raw["target"]["config"]["memory_limit"] = "lots'"
    proj.write({"integrations": {"c": raw}})
    cause = (
        'config key memory_limit: "lots\'" is not a size; write it as DuckDB does, e.g. '
        '"512MB" or "2GB"'
    )
    for _ in (1, 2):  # as a user would: the same output each time
        done = proj.cli("run", "c")
        assert done.returncode == 2, done.stderr
        assert terminal(done) == [
            f"[target-duckdb] target-duckdb: error: {cause}",
            "tapwell: error: integration 'c' failed: target-duckdb exit 2; a configuration or "
            "authentication error: not retried (run RUN; `tapwell logs RUN`)",
        ]
    run = record(proj, "c")
    assert run["error_full"] == f"target-duckdb exit 2: {cause}"
    assert run["error"] == f"target-duckdb: {cause} (exit 2)"  # as `tapwell serve` shows it
    log = logs(proj, run["id"])
    assert (
        "[tapwell] attempt 1 failed: target-duckdb exit 2; a configuration or authentication "
        "error: not retried" in log
    )
    assert "-9" not in RUN_ID.sub("RUN", log)  # the tap the runner stopped is no cause
    assert log.count(cause) == 1


def test_a_secret_in_a_tap_config_error_is_masked_and_said_once(proj):
    raw = fake_integration(proj, mode="config", password="${TW_TAP_PASSWORD}")
    proj.write({"integrations": {"s": raw}})
    secret = "pw-7Hq2-never-printed"
    done = proj.cli("run", "s", env={"TW_TAP_PASSWORD": secret})
    assert done.returncode == 2, done.stderr
    assert terminal(done) == [
        "[fake-tap] fake-tap: error: authentication failed (password *** refused)",
        "tapwell: error: integration 's' failed: fake-tap exit 2; a configuration or "
        "authentication error: not retried (run RUN; `tapwell logs RUN`)",
    ]
    run = record(proj, "s")
    assert run["error_full"] == "fake-tap exit 2: authentication failed (password *** refused)"
    assert secret not in done.stdout + done.stderr + json.dumps(run) + logs(proj, run["id"])


KILLS_ITSELF = (
    "import os, sys\n"
    "for i, line in enumerate(sys.stdin):\n"
    "    if i == 60:\n"
    "        os.kill(os.getpid(), 9)\n"
)


def test_a_killed_target_is_the_cause_not_the_tap_stopped_after_it(proj):
    raw = fake_integration(proj, rows=300, slow=0.2)
    raw["target"] = {"name": "target-x", "command": [sys.executable, "-c", KILLS_ITSELF]}
    raw["retry"] = {"attempts": 1, "backoff_seconds": 0}
    proj.write({"integrations": {"k": raw}})
    done = proj.cli("run", "k")
    assert done.returncode == 1, done.stderr
    assert terminal(done) == [
        "tapwell: error: integration 'k' failed: target-x killed by SIGKILL; gave up after 1 "
        "attempt (run RUN; `tapwell logs RUN`)",
    ]
    assert record(proj, "k")["error_full"] == "target-x killed by SIGKILL (gave up after 1 attempt)"


def test_a_fanout_target_refusing_a_record_is_said_once(proj):
    raw = fake_integration(proj, rows=300, slow=0.1)
    duckdb = raw.pop("target")
    raw["targets"] = [
        duckdb,
        {"name": "picky-target", "command": picky_target_command(65)},
    ]
    proj.write({"integrations": {"f": raw}})
    done = proj.cli("run", "f")
    assert done.returncode == 65, done.stderr
    lines = terminal(done)
    assert lines[:1] == [
        "[picky-target] picky-target: error: input line 8, stream items, field id: 7 is refused",
    ], lines
    assert len(lines) == 2, "\n".join(
        lines
    )  # no per-target figures, no "behind" line for the failed one
    assert re.fullmatch(
        r"tapwell: error: integration 'f' failed: picky-target exit 65; bad input: not retried"
        r"(; rows committed: items \d+)? \(run RUN; `tapwell logs RUN`\)",
        lines[1],
    ), lines
    run = record(proj, "f")
    assert run["error_full"] == (
        "picky-target exit 65: input line 8, stream items, field id: 7 is refused"
    )
    assert "kept the copy waiting" in logs(proj, run["id"])  # the figures are in the run log


def test_retried_attempts_name_the_stage_and_its_code_once_each(proj):
    proj.write({"integrations": {"t": fake_integration(proj, mode="tempfail", fail_times=2)}})
    done = proj.cli("run", "t")
    assert done.returncode == 0, done.stderr
    deadlock = "[fake-tap] fake-tap: error: deadlock detected, try again"
    assert terminal(done) == [
        deadlock,
        "[tapwell] attempt 1 failed: fake-tap exit 75; retrying in 0s from the last saved state "
        "(3 checkpoint(s) so far; the tap sent items 100)",
        # the same line of attempt 2 is in the run log, not said again
        "[tapwell] attempt 2 failed: fake-tap exit 75; retrying in 0s from the last saved state "
        "(6 checkpoint(s) so far; the tap sent items 100)",
        "tapwell: t succeeded in S after 3 attempts: 100 rows in the last attempt, 200 in "
        f"earlier failed ones, state saved to {proj.root / 'state' / 't.json'} (run RUN)",
    ]
    log = logs(proj, RUN_ID.search(done.stderr).group())  # the run's start and end, for the record
    assert f"[tapwell] run {RUN_ID.search(done.stderr).group()}: t (" in log and START in log
    assert "succeeded after 3 attempt(s); rows: items 100 (and 200 in the earlier failed" in log


@pytest.mark.parametrize(
    ("codes", "stopped", "culprit", "retriable", "config"),
    [
        ((-9, 2), True, "target", False, True),  # the runner stopped the tap: the target's 2
        ((-9, 65), False, "tap", True, False),  # killed from outside: the target read half a line
        ((-13, 1), False, "target", True, False),  # the tap's broken pipe follows the target
        ((1, -9), False, "target", True, False),  # a killed target; the tap's BrokenPipeError
        ((65, -13), False, "tap", False, False),  # the tap's own bad input; the target's pipe
        ((2, 0), False, "tap", False, True),
        ((0, 75), False, "target", True, False),
    ],
)
def test_the_culprit_and_its_code_decide(codes, stopped, culprit, retriable, config):
    attempt = AttemptResult(*codes, source_stopped=stopped)
    verdict = classify(attempt, RetryPolicy())
    assert (verdict.culprit, verdict.retriable, verdict.terminal_config) == (
        culprit,
        retriable,
        config,
    )
