"""Wide pipes between a tap and a target (tapwell.sdk.pipes): the helper itself, and that our
executables widen the pipe on their side of `tap | target`."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

import pytest
from tapwell.sdk.pipes import PIPE_BYTES, _max_size, widen_pipe

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="Linux pipes only")


def pipe_size(fd: int) -> int:
    return int(fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ))


def wide() -> int:
    return min(PIPE_BYTES, _max_size())


def test_widen_pipe_grows_a_pipe_and_leaves_other_files_alone(tmp_path: Path) -> None:
    r, w = os.pipe()
    try:
        assert pipe_size(w) < wide()
        assert widen_pipe(w) == wide() == pipe_size(r)
        with open(w, "wb", closefd=False) as f:
            assert widen_pipe(f) == wide()  # a file object: its descriptor
    finally:
        os.close(r)
        os.close(w)
    with open(tmp_path / "plain", "wb") as f:
        assert widen_pipe(f) is None
    assert widen_pipe(10_000) is None  # not open: nothing happens


def test_widen_pipe_never_shrinks_a_wider_pipe() -> None:
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, wide())
        assert widen_pipe(w, 4096) == wide() == pipe_size(w)
    finally:
        os.close(r)
        os.close(w)


def test_target_widens_its_stdin(bin_path: Path, tmp_path: Path) -> None:
    """A tap from anywhere (singer-sdk, a shell script) piped into our target gets the wide pipe."""
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"destination_path": str(tmp_path / "out")}))
    target = subprocess.Popen(
        [str(bin_path / "target-jsonl"), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert target.stdin is not None and target.stdout is not None
    try:
        target.stdin.write(b'{"type":"STATE","value":{"x":1}}\n')
        target.stdin.flush()
        assert json.loads(target.stdout.readline()) == {"x": 1}  # it is reading: widened by now
        assert pipe_size(target.stdin.fileno()) == wide()
    finally:
        target.stdin.close()
        target.wait(timeout=30)


def test_tap_widens_its_stdout(bin_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    stream = {"name": "orders", "path": "orders.csv", "key_properties": ["id"]}
    config.write_text(json.dumps({"base_dir": str(ROOT / "sample" / "data"), "streams": [stream]}))
    tap = subprocess.Popen(
        [str(bin_path / "tap-csv"), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert tap.stdout is not None
    try:
        assert json.loads(tap.stdout.readline())["type"] in ("SCHEMA", "STATE")
        assert pipe_size(tap.stdout.fileno()) == wide()
    finally:
        tap.stdout.read()
        tap.wait(timeout=30)
