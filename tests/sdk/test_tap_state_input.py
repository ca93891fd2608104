"""The state a tap is given (`--state FILE`), as a user's bad day leaves it: every tap built on
tapwell.sdk.tap_cli (tap-csv, the light-API taps; tap-mysql in tests/taps/mysql) refuses a state file
of the wrong shape with one line naming the bad key and the fix, exit 2, and nothing on stdout:
no SCHEMA, no ACTIVATE_VERSION, so no target retires a row. A state file that does not exist yet
is a first run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.state_shapes import GENERIC_SHAPES

ROOT = Path(__file__).resolve().parents[2]

# Bookmarks of a stream the tap syncs that are objects, but hold what its replication key cannot
# use (the light tap API checks them, for tap-csv too): (bookmark, the line after "error: ").
_FIX = "correct it, or remove bookmarks.customers from the state to sync the stream from the start"
VALUE_SHAPES: list[tuple[dict[str, Any], str]] = [
    (
        {"replication_key": "updated_at", "replication_key_value": "yesterday"},
        'state: bookmarks.customers.replication_key_value is "yesterday", not a date-time '
        f"(RFC 3339, e.g. 2024-01-31T12:00:00+00:00) for replication key 'updated_at'; {_FIX}",
    ),
    (
        {"replication_key_value": 20240101},
        "state: bookmarks.customers.replication_key_value is 20240101, not a date-time",
    ),
    (
        {"replication_key_value": True},
        "state: bookmarks.customers.replication_key_value is true, not a date-time",
    ),
    (
        {"replication_key_value": {"at": "2024-01-01"}},
        'state: bookmarks.customers.replication_key_value is {"at":"2024-01-01"}, not a date-time',
    ),
    (
        {"replication_key": ["updated_at"], "replication_key_value": "2024-01-01"},
        f'state: bookmarks.customers.replication_key is ["updated_at"], not a string; {_FIX}',
    ),
]


def demo_config(tmp_path: Path) -> Path:
    config = yaml.safe_load((ROOT / "tapwell.yml").read_text())["integrations"]["demo"]["tap"][
        "config"
    ]
    path = tmp_path / "tap.json"
    path.write_text(json.dumps({**config, "base_dir": str(ROOT / "sample" / "data")}))
    return path


def light_config(tmp_path: Path, rows: dict[str, Any]) -> Path:
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    path = tmp_path / "light.json"
    path.write_text(json.dumps({"data": str(tmp_path / "rows.json")}))
    return path


def tap_csv(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    exe = Path(sys.executable).parent / "tap-csv"
    cmd = [str(exe), "--config", str(demo_config(tmp_path)), *args]
    return subprocess.run(cmd, capture_output=True, timeout=120)


def tap_light(tmp_path: Path, *args: str, rows: Any = None) -> subprocess.CompletedProcess[bytes]:
    rows = rows if rows is not None else {"customers": [], "users": []}
    cmd = [
        sys.executable,
        "-m",
        "helpers.light_taps",
        "--config",
        str(light_config(tmp_path, rows)),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    return subprocess.run([*cmd, *args], capture_output=True, timeout=120, env=env)


def assert_refused(proc: subprocess.CompletedProcess[bytes], tap: str, expected: str) -> None:
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2, err
    assert proc.stdout == b"", "nothing may be written before the state is checked"
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{tap}: error: "), err
    assert expected in lines[0], err


@pytest.mark.parametrize(("content", "expected"), GENERIC_SHAPES)
def test_tap_csv_refuses_a_corrupt_state_file(tmp_path: Path, content: bytes, expected: str):
    state = tmp_path / "state.json"
    state.write_bytes(content)
    proc = tap_csv(
        tmp_path, "--catalog", str(ROOT / "catalogs" / "demo.json"), "--state", str(state)
    )
    assert_refused(proc, "tap-csv", "tap-csv: error: " + expected.replace("{path}", str(state)))


@pytest.mark.parametrize(("content", "expected"), GENERIC_SHAPES)
def test_a_light_api_tap_refuses_a_corrupt_state_file(
    tmp_path: Path, content: bytes, expected: str
):
    state = tmp_path / "state.json"
    state.write_bytes(content.replace(b"customers", b"users"))
    proc = tap_light(tmp_path, "--state", str(state))
    expected = expected.replace("{path}", str(state)).replace("customers", "users")
    assert_refused(proc, "tap-light", "tap-light: error: " + expected)


def test_a_bookmark_of_a_stream_not_synced_is_carried_along(tmp_path: Path):
    """Only the bookmarks of the streams a run syncs are the tap's to judge."""
    state = tmp_path / "state.json"
    other = {"version": "not ours to judge", "replication_key_value": {"at": 1}}
    state.write_text(json.dumps({"bookmarks": {"elsewhere": other}}))
    proc = tap_csv(
        tmp_path, "--catalog", str(ROOT / "catalogs" / "demo.json"), "--state", str(state)
    )
    assert proc.returncode == 0, proc.stderr.decode()
    final = json.loads(proc.stdout.splitlines()[-1])["value"]
    assert final["bookmarks"]["elsewhere"] == other


@pytest.mark.parametrize(("bookmark", "expected"), VALUE_SHAPES)
def test_a_bookmark_value_of_the_wrong_type_is_refused_before_any_message(
    tmp_path: Path, bookmark: dict[str, Any], expected: str
):
    state = tmp_path / "state.json"
    # The bad bookmark is on the first stream, and the second: either way nothing is written.
    for stream in ("customers", "order_items"):
        state.write_text(json.dumps({"bookmarks": {stream: bookmark}}))
        proc = tap_csv(
            tmp_path, "--catalog", str(ROOT / "catalogs" / "demo.json"), "--state", str(state)
        )
        assert_refused(proc, "tap-csv", expected.replace("customers", stream))

    state.write_text(json.dumps({"bookmarks": {"users": bookmark}}))
    proc = tap_light(tmp_path, "--state", str(state))
    assert_refused(proc, "tap-light", expected.replace("customers", "users"))


def test_a_start_date_that_does_not_parse_is_a_config_error(tmp_path: Path):
    config = tmp_path / "light.json"
    rows = tmp_path / "rows.json"
    rows.write_text("{}")
    config.write_text(json.dumps({"data": str(rows), "start_date": "last tuesday"}))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.light_taps", "--config", str(config)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert_refused(
        proc,
        "tap-light",
        'config key start_date: "last tuesday" is not a date-time (RFC 3339, e.g. '
        "2024-01-31T12:00:00+00:00) for replication key 'updated_at'",
    )


def test_a_state_file_that_does_not_exist_yet_is_a_first_run(tmp_path: Path):
    """The user's first two runs: `--state state.json` before the file exists, then with the
    state the first run ended with."""
    state = tmp_path / "state.json"
    catalog = str(ROOT / "catalogs" / "demo.json")
    first = tap_csv(tmp_path, "--catalog", catalog, "--state", str(state))
    err = first.stderr.decode()
    assert first.returncode == 0, err
    assert (
        f"tap-csv: note: state file {state} does not exist yet; starting without bookmarks "
        "(a first run)"
    ) in err.splitlines()
    messages = [json.loads(line) for line in first.stdout.splitlines()]
    assert sum(m["type"] == "RECORD" for m in messages) == 500 + 1500 + 3724
    state.write_text(json.dumps(messages[-1]["value"]))

    second = tap_csv(tmp_path, "--catalog", catalog, "--state", str(state))
    assert second.returncode == 0, second.stderr.decode()
    assert "note:" not in second.stderr.decode()
    again = [json.loads(line) for line in second.stdout.splitlines()]
    # only the rows at each stream's bookmark come again (>=), nothing older
    assert 0 < sum(m["type"] == "RECORD" for m in again) <= 6
