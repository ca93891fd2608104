"""Bookmarks of the light tap API keep every digit (issue 11.9): a number replication key past 15
significant digits and an integer one past 64 bits are saved exactly in STATE and resumed from
exactly, so a resumed sync neither skips rows nor sends older ones again. The user's path: a tap
on tapwell.sdk.tap run as a command, its final STATE saved as the state file, run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tapwell.singer.wire import loads

ROOT = Path(__file__).resolve().parents[2]

DEC = "12345678901234567.123"  # a float makes it 1.2345678901234568e+16
DEC_NEXT = "12345678901234567.124"
DEC_BELOW = "12345678901234567.122"
BIG = 2**70 + 1  # past 64 bits; a float makes it 1.1805916207174113e+21


def run(tmp_path: Path, rows_json: str, state: bytes | None) -> tuple[list[Any], bytes]:
    """One run of the light-API tap on `rows_json`; (messages, the final STATE value's bytes)."""
    (tmp_path / "rows.json").write_text(rows_json)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"data": str(tmp_path / "rows.json")}))
    cmd = [sys.executable, "-m", "helpers.light_taps", "--config", str(config)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    catalog = tmp_path / "catalog.json"
    found = subprocess.run([*cmd, "--discover"], capture_output=True, check=True, env=env)
    cat = json.loads(found.stdout)
    cat["streams"] = [s for s in cat["streams"] if s["tap_stream_id"] in ("amounts", "counters")]
    for s in cat["streams"]:
        s["metadata"][0]["metadata"]["selected"] = True
    catalog.write_text(json.dumps(cat))
    cmd += ["--catalog", str(catalog)]
    if state is not None:
        (tmp_path / "state.json").write_bytes(state)
        cmd += ["--state", str(tmp_path / "state.json")]
    proc = subprocess.run(cmd, capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.splitlines()
    last = lines[-1]
    assert last.startswith(b'{"type":"STATE","value":') and last.endswith(b"}")
    return [loads(line) for line in lines], last[len(b'{"type":"STATE","value":') : -1]


def keys(messages: list[Any], stream: str, field: str) -> list[str]:
    return [
        str(m["record"][field]) for m in messages if m["type"] == "RECORD" and m["stream"] == stream
    ]


def test_bookmarks_past_15_digits_and_64_bits_are_saved_and_resumed_exactly(tmp_path: Path):
    rows = f"""{{"amounts": [{{"id": 1, "amount": 1.5}}, {{"id": 2, "amount": {DEC}}}],
                "counters": [{{"id": 1, "n": 7}}, {{"id": 2, "n": {BIG}}}]}}"""
    first, state = run(tmp_path, rows, None)
    assert keys(first, "amounts", "amount") == ["1.5", DEC]
    assert keys(first, "counters", "n") == ["7", str(BIG)]
    assert f'"amounts":{{"replication_key":"amount","replication_key_value":{DEC}}}' in (
        state.decode()
    )
    assert f'"counters":{{"replication_key":"n","replication_key_value":{BIG}}}' in (state.decode())

    # Resumed: only the rows at the bookmark come again (>=), nothing older.
    second, state = run(tmp_path, rows, state)
    assert keys(second, "amounts", "amount") == [DEC]
    assert keys(second, "counters", "n") == [str(BIG)]

    # New rows one unit past (and below) the bookmark in the last digit: the ones past it come.
    rows = f"""{{"amounts": [{{"id": 2, "amount": {DEC}}}, {{"id": 3, "amount": {DEC_NEXT}}},
                             {{"id": 4, "amount": {DEC_BELOW}}}],
                "counters": [{{"id": 2, "n": {BIG}}}, {{"id": 3, "n": {BIG + 1}}},
                             {{"id": 4, "n": {BIG - 1}}}]}}"""
    third, state = run(tmp_path, rows, state)
    assert keys(third, "amounts", "amount") == [DEC, DEC_NEXT]
    assert keys(third, "counters", "n") == [str(BIG), str(BIG + 1)]
    assert f'"replication_key_value":{DEC_NEXT}}}' in state.decode()
    assert f'"replication_key_value":{BIG + 1}}}' in state.decode()
