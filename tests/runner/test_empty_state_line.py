"""An empty state (`{}`) from the target, as a tap with nothing selected or nothing to sync sends
it, is no news when there is no saved state it could replace: the run log keeps one line, the
terminal shows none. After a good saved state it is said on the terminal, as text (never a
Python bytes repr), and the good state stays."""

from __future__ import annotations

import json
import sys

from helpers.runner_project import duckdb_target, fake_integration

# a target that reads everything, then prints an empty state, as one echoing the tap's `{}` does
EMPTY_STATE_TARGET = "import sys\nfor _ in sys.stdin.buffer: pass\nprint('{}', flush=True)\n"
LINE = "[tapwell] ignored a target state line (an empty state): {}"


def run_log(proj, done):
    run_id = done.stderr.rsplit("(run ", 1)[1].split(")")[0]
    return proj.cli("logs", run_id).stdout


def test_an_empty_state_with_nothing_saved_is_for_the_log_alone(proj):
    raw = fake_integration(proj, rows=5)
    raw["target"] = {"name": "echo-target", "command": [sys.executable, "-c", EMPTY_STATE_TARGET]}
    proj.write({"integrations": {"e": raw}})
    done = proj.cli("run", "e")
    assert done.returncode == 0, done.stderr
    assert "ignored" not in done.stderr and "b'" not in done.stderr, done.stderr
    assert done.stderr.startswith("tapwell: e succeeded in "), done.stderr
    assert "no state to save" in done.stderr
    assert LINE in run_log(proj, done)


def test_an_empty_state_after_a_good_one_is_said_as_text(proj):
    raw = fake_integration(proj, rows=30)
    proj.write({"integrations": {"e": raw}})
    assert proj.cli("run", "e").returncode == 0
    good = json.loads(proj.cli("state", "show", "e").stdout)
    raw["target"] = {"name": "echo-target", "command": [sys.executable, "-c", EMPTY_STATE_TARGET]}
    proj.write({"integrations": {"e": raw}})
    done = proj.cli("run", "e")
    assert done.returncode == 0, done.stderr
    assert [ln for ln in done.stderr.splitlines() if "ignored" in ln] == [LINE], done.stderr
    assert json.loads(proj.cli("state", "show", "e").stdout) == good


# a tap with nothing to sync (nothing selected): its one message is an empty state
NOTHING_TAP = 'import sys\nsys.stdout.write(\'{"type": "STATE", "value": {}}\\n\')\n'


def fanout_line(name):
    return f"[tapwell] ignored a state line of {name} (an empty state): {{}}"


def fanout(proj, tap=None):
    """A fan-out into target-duckdb and target-jsonl, from `tap` (default: one with nothing to
    sync)."""
    raw = {
        "tap": tap or {"name": "nothing-tap", "command": [sys.executable, "-c", NOTHING_TAP]},
        "targets": [
            duckdb_target(proj),
            {"name": "target-jsonl", "config": {"destination_path": str(proj.root / "out2")}},
        ],
        "retry": {"attempts": 1, "backoff_seconds": 0},
    }
    proj.write({"integrations": {"fan": raw}})


def test_a_fanout_empty_state_with_nothing_saved_is_for_the_log_alone(proj):
    fanout(proj)
    done = proj.cli("run", "fan")
    assert done.returncode == 0, done.stderr
    # the tap's {} is no STATE a target could be behind on
    assert "ignored" not in done.stderr and "behind" not in done.stderr, done.stderr
    assert done.stderr.startswith("tapwell: fan succeeded in "), done.stderr
    assert "no state to save" in done.stderr
    log = run_log(proj, done)
    assert fanout_line("target-duckdb") in log and fanout_line("target-jsonl") in log


def test_a_fanout_empty_state_after_a_good_one_is_said(proj):
    fanout(proj, fake_integration(proj, rows=30)["tap"])
    assert proj.cli("run", "fan").returncode == 0
    good = json.loads(proj.cli("state", "show", "fan").stdout)
    fanout(proj)
    done = proj.cli("run", "fan")
    assert done.returncode == 0, done.stderr
    said = sorted(ln for ln in done.stderr.splitlines() if "ignored" in ln)
    assert said == [fanout_line("target-duckdb"), fanout_line("target-jsonl")], done.stderr
    assert json.loads(proj.cli("state", "show", "fan").stdout) == good
