"""MeteredPopen reaps with os.wait4 through Popen's private hooks (_internal_poll, _try_wait):
these tests fail if a Python release renames them, instead of run figures silently losing the
connectors' peak memory."""

from __future__ import annotations

import subprocess
import sys
import time

from tapwell.runner.processes import MeteredPopen, reaped_peak_rss

HOLD_64MB = (
    "b = bytearray(64 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); import sys; sys.exit(3)"
)


def test_wait_keeps_the_exit_code_and_the_peak() -> None:
    proc = MeteredPopen([sys.executable, "-c", HOLD_64MB], stdout=subprocess.DEVNULL)
    assert proc.wait(60) == 3
    peak = reaped_peak_rss(proc.pid)
    assert peak is not None and peak >= 64 * 1024 * 1024


def test_poll_keeps_the_exit_code_and_the_peak() -> None:
    proc = MeteredPopen([sys.executable, "-c", HOLD_64MB], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.returncode == 3
    peak = reaped_peak_rss(proc.pid)
    assert peak is not None and peak >= 64 * 1024 * 1024


def test_a_running_child_has_no_peak_yet() -> None:
    proc = MeteredPopen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert proc.poll() is None
        assert reaped_peak_rss(proc.pid) is None
    finally:
        proc.kill()
        proc.wait(30)
