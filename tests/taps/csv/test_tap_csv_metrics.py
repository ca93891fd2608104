"""tap-csv's METRIC sync_duration is the stream's sync, on every lane: the csv lane's clock
started only once every file was written, so it said 0.0 s and the tap's progress line (in
`tapwell run`'s log) read '450,000 rows (299,401,193,356 rows/s)'.

No figure is timed here: the test holds the tap inside the stream's sync for a second (its
files not consumed, with max_pending_files 1; or its RECORD lines not read, the pipe full), so a
metric of the sync is at least that."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

HELD = 1.0  # seconds the test keeps the tap waiting inside the sync


def _durations(stderr: str) -> dict[str, float]:
    out = {}
    for line in stderr.splitlines():
        if line.startswith("METRIC: "):
            body = json.loads(line[len("METRIC: ") :])
            if body["metric"] == "sync_duration":
                out[body["tags"]["stream"]] = body["value"]
    return out


def _held_sync(bin_path: Path, tmp_path: Path, fmt: str) -> dict[str, float]:
    """tap-csv in the `fmt` BATCH lane, its files consumed (deleted, as a target does) only
    HELD seconds after the tap is waiting for them: the streams' sync_duration."""
    (tmp_path / "t.csv").write_text("id,v\n" + "".join(f"{i},x{i}\n" for i in range(1000)))
    spool = tmp_path / "spool"
    spool.mkdir()
    lane: dict[str, Any] = {
        "encoding": {"format": fmt, "compression": "none"},
        "storage": {"root": spool.as_uri()},
        "batch_size": 250,
        "max_pending_files": 1,
    }
    stream = {"name": "t", "path": "t.csv", "key_properties": ["id"]}
    config = {"base_dir": str(tmp_path), "streams": [stream], "batch_config": lane}
    (tmp_path / "tap.json").write_text(json.dumps(config))
    tap = subprocess.Popen(
        [str(bin_path / "tap-csv"), "--config", str(tmp_path / "tap.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert tap.stdout is not None
    batches = 0
    for line in tap.stdout:
        if json.loads(line)["type"] != "BATCH":
            continue
        batches += 1
        if batches == 1:
            continue  # kept: with the second, two files pending, the tap waits before a third
        if batches == 2:
            time.sleep(HELD)
        for f in spool.iterdir():
            f.unlink()
    _, err = tap.communicate(timeout=120)
    assert tap.returncode == 0, err
    assert batches == 4
    return _durations(err)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_sync_duration_covers_the_streams_sync_on_the_batch_lanes(
    bin_path: Path, tmp_path: Path, fmt: str
) -> None:
    durations = _held_sync(bin_path, tmp_path, fmt)
    assert durations["t"] >= HELD


def test_sync_duration_covers_the_streams_sync_on_record_lines(
    bin_path: Path, tmp_path: Path
) -> None:
    """The first chunk of lines (250 rows of 10 KB) is more than the pipe holds (1 MB at most):
    the tap waits inside its write while the test reads nothing (the clock started after it)."""
    wide = "x" * 10_000
    (tmp_path / "t.csv").write_text("id,v\n" + "".join(f"{i},{wide}\n" for i in range(500)))
    stream = {"name": "t", "path": "t.csv", "key_properties": ["id"]}
    (tmp_path / "tap.json").write_text(json.dumps({"base_dir": str(tmp_path), "streams": [stream]}))
    tap = subprocess.Popen(
        [str(bin_path / "tap-csv"), "--config", str(tmp_path / "tap.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert tap.stdout is not None
    assert json.loads(tap.stdout.readline())["type"] == "SCHEMA"  # the stream's sync started
    time.sleep(HELD)
    out, err = tap.communicate(timeout=120)
    assert tap.returncode == 0, err
    assert out.count(b'"type":"RECORD"') == 500
    assert _durations(err.decode())["t"] >= HELD
