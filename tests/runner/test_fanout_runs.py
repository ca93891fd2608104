"""Fan-out with real processes, no server: the fake tap into target-duckdb (required) and a
second target (target-jsonl, or target-duckdb behind a wrapper that is killed or slow)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from helpers.runner_project import (
    BIN,
    KILLER_TARGET,
    RUNNER_DIR,
    Proj,
    duckdb_target,
    fake_integration,
)

SLOW_TARGET = [sys.executable, str(RUNNER_DIR / "slow_target.py")]


def jsonl_rows(folder: Path) -> list[tuple[int, str]]:
    lines = (folder / "items.jsonl").read_text().splitlines()
    return sorted({(r["id"], r["value"]) for r in map(json.loads, lines)})


def fanout(proj: Proj, second: dict[str, Any], **tap: Any) -> dict[str, Any]:
    raw = fake_integration(proj, **tap)
    raw.pop("target")
    raw["targets"] = [duckdb_target(proj), second]
    raw["retry"] = {"attempts": 1, "backoff_seconds": 0}
    proj.write({"integrations": {"fan": raw}})
    return raw


def killed_jsonl(proj: Proj, required: bool) -> dict[str, Any]:
    return {
        "name": "jsonl",
        "command": KILLER_TARGET,
        "required": required,
        "config": {
            "real": str(BIN / "target-jsonl"),
            "real_config": {"destination_path": str(proj.root / "out2"), "batch_size_rows": 40},
            "counter": str(proj.root / "killer.txt"),
            "fail_times": 1,
            "kill_after": 120,
        },
    }


def test_two_targets_get_every_row_and_keep_their_own_state(proj, expected_rows):
    fanout(proj, {"name": "target-jsonl", "config": {"destination_path": str(proj.root / "out2")}})
    done = proj.cli("run", "fan", "--quiet")
    assert done.returncode == 0, done.stderr
    assert proj.duckdb_rows() == expected_rows(300)
    assert jsonl_rows(proj.root / "out2") == expected_rows(300)
    shown = json.loads(proj.cli("state", "show", "fan").stdout)
    final = {"bookmarks": {"items": {"last_id": 300}}}
    assert shown == {"target-duckdb": final, "target-jsonl": final}


def test_a_failing_target_that_is_not_required_does_not_fail_the_run(proj, expected_rows):
    fanout(proj, killed_jsonl(proj, required=False))
    result = proj.run("fan")
    assert result.ok, result.error
    assert proj.duckdb_rows() == expected_rows(300)
    figures = result.targets["jsonl"]
    assert figures["exit_code"] != 0 and figures["required"] is False
    assert figures["behind"]["states"] > 0  # it is behind, and the record says by how much
    assert "not required target(s) failed and are behind: jsonl" in "\n".join(result.log)
    # the integration resumes from the oldest committed state: the failed target's own
    states = json.loads(proj.cli("state", "show", "fan").stdout)
    behind = states["jsonl"]["bookmarks"]["items"]["last_id"]
    assert 0 < behind < 300 == states["target-duckdb"]["bookmarks"]["items"]["last_id"]
    # the next run catches it up from its own state; the other merges the overlap
    again = proj.run("fan")
    assert again.ok, again.error
    assert proj.starts()[-1] == behind
    assert jsonl_rows(proj.root / "out2") == expected_rows(300)
    assert proj.duckdb_rows() == expected_rows(300)


def test_a_required_target_killed_fails_the_run_and_the_rerun_completes_both(proj, expected_rows):
    fanout(proj, killed_jsonl(proj, required=True))
    first = proj.run("fan")
    assert not first.ok
    assert "jsonl" in (first.error or "")
    second = proj.run("fan")
    assert second.ok, second.error
    assert proj.starts()[-1] > 0  # resumed, did not start over
    assert jsonl_rows(proj.root / "out2") == expected_rows(300)
    assert proj.duckdb_rows() == expected_rows(300)


def test_the_slow_target_sets_the_pace_and_its_wait_is_recorded(proj, expected_rows, monkeypatch):
    # one queued chunk per target (8 by default): 3 MB of input is then more than the copy
    # holds for the slow target, so the copy has to wait for it
    monkeypatch.setattr("tapwell.runner.fanout_copy.BUFFER_CHUNKS", 1)
    slow = {
        "name": "slow",
        "command": SLOW_TARGET,
        "config": {
            "real": str(BIN / "target-jsonl"),
            "real_config": {"destination_path": str(proj.root / "out2")},
            "batch": 4000,
            # 8 s of sleep in all: clearly slower than target-duckdb even on a loaded machine
            # (with 0.4 s, target-duckdb once waited longer at a load of 25 on 2 cores)
            "sleep": 0.8,
        },
    }
    fanout(proj, slow, rows=40000, state_every=1000)  # about 3 MB
    raw = __import__("yaml").safe_load((proj.root / "tapwell.yml").read_text())
    raw["integrations"]["fan"]["targets"][0] = duckdb_target(proj, batch_rows=20000)
    proj.write(raw)
    progress: list[str] = []
    result = proj.run("fan", progress=progress.append, progress_every=0.5)
    assert result.ok, result.error
    assert jsonl_rows(proj.root / "out2") == expected_rows(40000)
    assert proj.duckdb_rows() == expected_rows(40000)
    # the copy waited on the slow target (its queue was full), hardly on the other
    waited = {name: result.targets[name]["waited_seconds"] for name in ("slow", "target-duckdb")}
    assert waited["slow"] > 0.3 and waited["slow"] > waited["target-duckdb"], waited
    record = proj.load()
    from tapwell.runner.statestore import open_backend

    saved = open_backend(record, "fan").run(result.run_id)
    assert saved is not None and saved.targets["slow"]["waited_seconds"] == waited["slow"]
    assert saved.targets["slow"]["most_behind_states"] > 0
    # while it ran, the progress lines showed the slow target behind the tap
    lags = [ln for ln in progress if "target slow " in ln and "behind the tap" in ln]
    assert any(" 0 STATE message(s)" not in ln for ln in lags), progress


def test_run_one_target_alone(proj, expected_rows):
    fanout(proj, killed_jsonl(proj, required=False))
    assert proj.run("fan").ok
    done = proj.cli("run", "fan", "--target", "jsonl", "--quiet")
    assert done.returncode == 0, done.stderr
    assert jsonl_rows(proj.root / "out2") == expected_rows(300)
    states = json.loads(proj.cli("state", "show", "fan").stdout)
    assert states["jsonl"] == states["target-duckdb"]
    # both are at the end again: the next run starts there
    assert json.loads((proj.root / "state" / "fan.json").read_text()) == states["jsonl"]
    unknown = proj.cli("run", "fan", "--target", "nope")
    assert unknown.returncode == 2 and "has no target 'nope'" in unknown.stderr


def test_the_mapper_in_the_pipe(proj):
    fanout(proj, {"name": "target-jsonl", "config": {"destination_path": str(proj.root / "out2")}})
    raw = json.loads(
        json.dumps(__import__("yaml").safe_load((proj.root / "tapwell.yml").read_text()))
    )
    raw["integrations"]["fan"]["transform"] = {
        "stream_maps": {"items": {"value": "hmac_sha256(value)"}},
        "stream_map_config": {"hash_key": "k3y-never-logged"},
    }
    proj.write(raw)
    result = proj.run("fan")
    assert result.ok, result.error
    rows = jsonl_rows(proj.root / "out2")
    assert len(rows) == 300 and all(len(v) == 64 and not v.startswith("v") for _, v in rows)
    assert [v for _, v in proj.duckdb_rows()] == [v for _, v in rows]
    log = "\n".join(result.log)
    assert "k3y-never-logged" not in log and "v17" not in log


def test_a_hung_target_that_is_not_required_is_dropped_not_waited_for(proj, expected_rows):
    hung = {
        "name": "hung",
        "command": [sys.executable, "-c", "import time; time.sleep(600)"],  # never reads
        "required": False,
    }
    raw = fanout(proj, hung, rows=40000, state_every=1000)
    raw["targets"][0] = duckdb_target(proj, batch_rows=20000)
    raw["retry"]["stall_timeout_seconds"] = 6  # a hung secondary is dropped after half of it
    proj.write({"integrations": {"fan": raw}})
    result = proj.run("fan")
    assert result.ok, result.error
    assert proj.duckdb_rows() == expected_rows(40000)
    assert result.targets["hung"]["exit_code"] != 0
    assert "target hung took nothing for 3s: stopped" in "\n".join(result.log)


def test_transform_with_a_single_target(proj, expected_rows):
    raw = fake_integration(proj)
    raw["transform"] = {"stream_maps": {"items": {"value": "value.upper()"}}}
    proj.write({"integrations": {"one": raw}})
    result = proj.run("one")
    assert result.ok, result.error
    assert proj.duckdb_rows() == [(i, v.upper()) for i, v in expected_rows(300)]
    assert "fake-tap | mapper-stream-maps | target-duckdb" in result.log[0]


def test_a_failing_mapper_is_named_and_not_retried(proj):
    raw = fake_integration(proj)
    raw["transform"] = {"stream_maps": {"items": {"value": "int(value)"}}}
    proj.write({"integrations": {"one": raw}})
    done = proj.cli("run", "one", "--quiet")
    assert done.returncode == 65
    assert (
        "[mapper-stream-maps] mapper-stream-maps: error: input line 2, stream 'items', field 'value': expression 'int(value)' failed on this record (ValueError)"
        in done.stderr
    )
    # the mapper alone is named, with its code; bad input (65) is not retried
    assert done.stderr.splitlines()[-1].startswith(
        "tapwell: error: integration 'one' failed: mapper-stream-maps exit 65; bad input: not "
        "retried (run "
    ), done.stderr
