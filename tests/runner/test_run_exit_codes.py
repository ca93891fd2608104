"""`tapwell run` exits with the class of the failure that ended the run, as DESIGN.md lists them,
so that cron, a Kubernetes CronJob or a wrapper script can tell what to do next: 2 fix the
configuration, 65 fix the data, 75 try again later, 1 anything else. Before, every failure but a
configuration error exited 1: a CSV with `abc` in a decimal column looked like a crash.

Real processes: tap-csv and target-duckdb, and tiny connectors as scripts (fake_tap.py, and
targets given as `python -c`). The run history keeps the stage's own code, as it did."""

from __future__ import annotations

import json

import pytest
from helpers.runner_project import duckdb_target, fake_integration, picky_target_command
from tapwell.runner.retry import run_exit_code


def picky_target(code: int, **extra: object) -> dict[str, object]:
    return {"name": "picky-target", "command": picky_target_command(code), **extra}


def last_line(done) -> str:
    return done.stderr.strip().splitlines()[-1]


def history(proj, name: str) -> dict:
    done = proj.cli("runs", name, "--limit", "1", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["runs"][0]


def csv_project(proj, amount: str) -> None:
    data = proj.root / "data"
    data.mkdir(exist_ok=True)
    amounts = {i: amount if i == 3 else f"{i}.50" for i in range(1, 6)}
    rows = [f"{i},{a},2024-01-0{i}T00:00:00+00:00" for i, a in amounts.items()]
    (data / "orders.csv").write_text("id,amount,updated_at\n" + "\n".join(rows) + "\n")
    stream = {
        "name": "orders",
        "path": "orders.csv",
        "key_properties": ["id"],
        "replication_key": "updated_at",
        "column_types": {"amount": {"type": ["null", "number"], "multipleOf": 0.01}},
    }
    tap = {"name": "tap-csv", "config": {"base_dir": str(data), "streams": [stream]}}
    proj.write({"integrations": {"csv": {"tap": tap, "target": duckdb_target(proj)}}})


def test_a_csv_with_abc_in_a_decimal_column_exits_65_with_one_line(proj):
    csv_project(proj, "abc")
    done = proj.cli("run", "csv")
    assert done.returncode == 65, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 2, done.stderr
    assert "line 4, stream 'orders', column 'amount': 'abc' is not a number" in lines[0]
    assert last_line(done).startswith(
        "tapwell: error: integration 'csv' failed: tap-csv exit 65; bad input: not retried (run "
    ), done.stderr
    run = history(proj, "csv")
    assert run["status"] == "failed" and run["attempts"] == 1
    assert run["error"].startswith("tap-csv: ") and "(exit 65)" in run["error"], run["error"]
    saved = proj.cli("state", "show", "csv")
    # no STATE past the last commit: nothing of the stream, or a bookmark before the bad row
    assert "2024-01-03" not in saved.stdout + saved.stderr
    csv_project(proj, "3.50")  # fixed: the next run loads it and exits 0
    done = proj.cli("run", "csv")
    assert done.returncode == 0, done.stderr


def test_a_target_refusing_a_record_exits_65_and_is_not_retried(proj):
    raw = fake_integration(proj, rows=50, target=picky_target(65))
    proj.write({"integrations": {"p": raw}})
    done = proj.cli("run", "p")
    assert done.returncode == 65, done.stderr
    assert "picky-target exit 65; bad input: not retried" in last_line(done)
    assert len(proj.starts()) == 1
    assert "7 is refused (exit 65)" in history(proj, "p")["error"]


def test_a_failing_mapper_exits_65(proj):
    raw = fake_integration(proj)
    raw["transform"] = {"stream_maps": {"items": {"value": "int(value)"}}}
    proj.write({"integrations": {"m": raw}})
    done = proj.cli("run", "m", "--quiet")
    assert done.returncode == 65, done.stderr
    assert "mapper-stream-maps exit 65; bad input: not retried" in last_line(done)


@pytest.mark.parametrize("side", ["tap", "target"])
def test_a_configuration_error_of_either_side_exits_2(proj, side):
    if side == "tap":
        raw = fake_integration(proj, mode="config", password="s3cret-pw")
    else:
        raw = fake_integration(proj, rows=50, target=picky_target(2))
    proj.write({"integrations": {"c": raw}})
    done = proj.cli("run", "c")
    assert done.returncode == 2, done.stderr
    assert "a configuration or authentication error: not retried" in last_line(done)
    assert "s3cret-pw" not in done.stderr


def test_temporary_failures_that_use_up_the_attempts_exit_75(proj):
    raw = fake_integration(proj, mode="tempfail", fail_times=10, fail_after=10)
    raw["retry"]["attempts"] = 2
    proj.write({"integrations": {"t": raw}})
    done = proj.cli("run", "t")
    assert done.returncode == 75, done.stderr
    assert "fake-tap exit 75; gave up after 2 attempts" in last_line(done)
    assert len(proj.starts()) == 2
    run = history(proj, "t")
    assert run["attempts"] == 2
    assert (
        run["error"] == "fake-tap: deadlock detected, try again (exit 75; gave up after 2 attempts)"
    )


def test_a_stall_in_every_attempt_exits_75(proj):
    raw = fake_integration(proj, mode="stall", fail_times=10, fail_after=10)
    raw["retry"].update(attempts=2, stall_timeout_seconds=1)
    proj.write({"integrations": {"s": raw}})
    done = proj.cli("run", "s")
    assert done.returncode == 75, done.stderr
    assert "stalled: no output for 1s" in last_line(done) and "gave up after 2 attempts" in (
        last_line(done)
    )


@pytest.mark.parametrize("mode", ["tempfail", "die"])
def test_a_retry_that_then_succeeds_exits_0(proj, expected_rows, mode):
    proj.write(
        {"integrations": {"r": fake_integration(proj, mode=mode, fail_times=1, fail_after=60)}}
    )
    done = proj.cli("run", "r")
    assert done.returncode == 0, done.stderr
    assert "attempt 1 failed" in done.stderr and "succeeded" in last_line(done)
    assert len(proj.starts()) == 2 and proj.duckdb_rows() == expected_rows(300)


@pytest.mark.parametrize(
    ("mode", "head"),
    [("die", "fake-tap exit 1"), ("kill", "fake-tap killed by SIGKILL")],
)
def test_a_crash_or_a_signal_exits_1(proj, mode, head):
    raw = fake_integration(proj, mode=mode, fail_times=10, fail_after=10)
    raw["retry"]["attempts"] = 2
    proj.write({"integrations": {"d": raw}})
    done = proj.cli("run", "d")
    assert done.returncode == 1, done.stderr
    assert f"failed: {head}; gave up after 2 attempts" in last_line(done)


def test_a_connector_exiting_3_exits_1_not_the_lock_held_code(proj):
    # 3 is the runner's own "another run holds the lock": a connector's unknown code is not it
    raw = fake_integration(proj, rows=50, target=picky_target(3))
    raw["retry"]["attempts"] = 1
    proj.write({"integrations": {"u": raw}})
    done = proj.cli("run", "u")
    assert done.returncode == 1, done.stderr
    assert "picky-target exit 3; gave up after 1 attempt" in last_line(done)


def test_fanout_an_optional_target_failing_exits_0_a_required_one_its_class(proj, expected_rows):
    raw = fake_integration(proj, rows=300)
    raw.pop("target")
    raw["targets"] = [duckdb_target(proj), picky_target(65, required=False)]
    proj.write({"integrations": {"f": raw}})
    done = proj.cli("run", "f", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "not required target(s) failed and are behind: picky-target (exit 65" in done.stderr
    assert proj.duckdb_rows() == expected_rows(300)
    assert history(proj, "f")["status"] == "succeeded"

    raw["targets"][1] = picky_target(65)  # required (the default): the run's failure
    proj.write({"integrations": {"f": raw}})
    done = proj.cli("run", "f", "--quiet", "--full-refresh")
    assert done.returncode == 65, done.stderr
    assert "picky-target exit 65; bad input: not retried" in last_line(done)


@pytest.mark.parametrize(
    ("code", "stalled", "config", "exits"),
    [
        (None, False, False, 1),  # failed before any attempt, not a configuration error
        (None, False, True, 2),  # the catalog or a connector vanished between attempts
        (1, False, False, 1),
        (-9, False, False, 1),
        (137, False, False, 1),
        (2, False, True, 2),
        (65, False, False, 65),
        (75, False, False, 75),
        (-9, True, False, 75),
    ],
)
def test_run_exit_code_table(code, stalled, config, exits):
    assert run_exit_code(code, stalled, config) == exits
