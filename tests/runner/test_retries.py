"""Failures with real processes: a tap killed mid-stream, a target killed mid-batch, a tap that
fails twice then succeeds, a stalled tap, a configuration error. Every retry resumes from the
last state the target committed, and no row is lost or duplicated (the DuckDB table is
compared row by row)."""

from __future__ import annotations

from helpers.runner_project import BIN, KILLER_TARGET, duckdb_target, fake_integration


def test_tap_fails_twice_then_succeeds(proj, expected_rows):
    proj.write(
        {
            "integrations": {
                "flaky": fake_integration(proj, mode="die", fail_times=2, fail_after=110)
            }
        }
    )
    result = proj.run("flaky")
    assert result.ok, result.error
    assert result.attempts == 3
    starts = proj.starts()
    assert starts[0] == 0 and 0 < starts[1] <= 110 and starts[1] <= starts[2] <= 220
    assert proj.duckdb_rows() == expected_rows(300)
    assert proj.load() and proj.cli("state", "show", "flaky").stdout.count('"last_id": 300') == 1


def test_tap_killed_mid_stream_resumes(proj, expected_rows):
    proj.write(
        {"integrations": {"k": fake_integration(proj, mode="kill", fail_times=1, fail_after=130)}}
    )
    result = proj.run("k")
    assert result.ok and result.attempts == 2
    assert proj.starts()[1] > 0  # the second attempt resumed, it did not start over
    assert proj.duckdb_rows() == expected_rows(300)


def test_target_killed_mid_batch_resumes(proj, expected_rows):
    real = duckdb_target(proj, batch_rows=40)
    target = {
        "name": "killer-target",
        "command": KILLER_TARGET,
        "config": {
            "real": str(BIN / "target-duckdb"),
            "real_config": real["config"],
            "kill_after": 170,
            "counter": str(proj.root / "target-attempts.txt"),
            "fail_times": 1,
        },
    }
    proj.write({"integrations": {"t": fake_integration(proj, target=target)}})
    result = proj.run("t")
    assert result.ok, result.error
    assert result.attempts == 2
    assert 0 < proj.starts()[1] < 170
    assert proj.duckdb_rows() == expected_rows(300)
    assert any("killing the target" in line for line in result.log)


def test_stalled_tap_is_killed_and_retried(proj, expected_rows):
    raw = fake_integration(proj, mode="stall", fail_times=1, fail_after=60)
    raw["retry"]["stall_timeout_seconds"] = 1.5
    proj.write({"integrations": {"s": raw}})
    result = proj.run("s")
    assert result.ok and result.attempts == 2
    assert any("no output for 1.5s" in line for line in result.log)
    assert proj.duckdb_rows() == expected_rows(300)


def test_tempfail_exhausts_attempts(proj):
    raw = fake_integration(proj, mode="tempfail", fail_times=10, fail_after=10)
    raw["retry"]["attempts"] = 3
    proj.write({"integrations": {"tf": raw}})
    done = proj.cli("run", "tf")
    assert done.returncode == 75  # temporary, its attempts used up: try again later
    assert "gave up after 3 attempts" in done.stderr and "deadlock detected" in done.stderr
    assert len(proj.starts()) == 3


def test_config_error_is_not_retried_and_secret_hidden(proj):
    proj.write(
        {"integrations": {"c": fake_integration(proj, mode="config", password="hunter2-secret")}}
    )
    done = proj.cli("run", "c")
    assert done.returncode == 2, done.stderr
    assert "authentication failed" in done.stderr
    assert "hunter2-secret" not in done.stderr
    run_id = proj.cli("runs", "c").stdout.splitlines()[1].split()[0]
    assert "failed" in proj.cli("runs", "c").stdout
    log = proj.cli("logs", run_id).stdout
    assert "[fake-tap]" in log and "hunter2-secret" not in log and "***" in log
    assert not proj.counter.exists()  # one attempt, which failed before counting


def test_exit_codes_of_unknown_integration_and_bad_project(proj):
    proj.write({"integrations": {"a": fake_integration(proj)}})
    done = proj.cli("run", "nope")
    assert (
        done.returncode == 2
        and "no integration 'nope'" in done.stderr
        and "known: a" in done.stderr
    )
    proj.write({"integrations": {"a": {**fake_integration(proj), "schedul": "* * * * *"}}})
    done = proj.cli("run", "a")
    assert done.returncode == 2
    assert "integrations.a has an unknown key 'schedul': remove it or use one of:" in done.stderr


def test_configs_are_private_temporary_files(proj):
    import json
    from pathlib import Path

    inspect = proj.root / "inspect.json"
    proj.write({"integrations": {"p": fake_integration(proj, rows=30, inspect=str(inspect))}})
    assert proj.run("p").ok
    assert proj.run("p").ok  # the second run hands over a state file too
    seen = json.loads(inspect.read_text())
    assert (seen["mode"], seen["dir_mode"]) == (0o600, 0o700)
    assert seen["state"] is not None and Path(seen["state"]).parent == Path(seen["path"]).parent
    assert (
        not Path(seen["path"]).exists() and not Path(seen["path"]).parent.exists()
    )  # removed afterwards
