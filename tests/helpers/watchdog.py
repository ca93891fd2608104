"""Throwaway servers die with the test process that started them, even when it is killed -9.

`Watchdog(pid_file, remove=[...])` starts a small supervisor (this file run as a script, in its
own session so a signal to pytest's process group spares it) that blocks reading a pipe whose
write end only the test process holds. However the test process ends, the read returns: after
`release()` (the test stopped its server itself) the supervisor just exits; on a bare EOF (the
test process died) it stops the server named by `pid_file` (`signal`, then SIGKILL after 5 s)
and removes the `remove` folders. pg_ctl starts PostgreSQL in a session of its own, so without
this a killed pytest left the server running, holding its port and temp dir.

`mark_owner(folder)` and `remove_stale(prefix, pid_file_name)` are the second line: a folder
records the test process that owns it; at the next start, folders whose owner is gone (the
supervisor was killed too) have their server stopped and are removed. Folders without an owner
file are never touched (another checkout's tests, or not ours to judge).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_DONE = b"released\n"
OWNER_FILE = "owner.pid"


class Watchdog:
    def __init__(self, pid_file: Path, remove: list[Path], sig: int = signal.SIGKILL) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(pid_file), str(int(sig)), *map(str, remove)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def release(self) -> None:
        """The server was stopped by its owner: the supervisor leaves without doing anything."""
        if self.proc.stdin is None or self.proc.stdin.closed:
            return
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(_DONE)
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart); None
    when there is no such process or only its zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def mark_owner(folder: Path) -> None:
    """Record this process as the folder's owner (read by `remove_stale`)."""
    pid = os.getpid()
    (folder / OWNER_FILE).write_text(f"{pid} {_start_time(pid)}\n")


def _alive(pid: int, started: str | None) -> bool:
    now = _start_time(pid)
    return now is not None and (started is None or now == started)


def server_pid(pid_file: Path) -> int | None:
    """The pid on the first line of a server's pid file (postmaster.pid, mariadbd's --pid-file)."""
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_server(pid_file: Path, sig: int) -> None:
    """Send `sig` to the server of `pid_file`, then SIGKILL if it is still there after 5 s."""
    pid = server_pid(pid_file)
    if pid is None:
        return
    started = _start_time(pid)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while _alive(pid, started) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid, started):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove_stale(prefix: str, pid_file_name: str, sig: int = signal.SIGKILL) -> None:
    """Stop the servers of, and remove, the temp folders named `prefix*` whose owner is gone."""
    for base in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            pid_text, started = (base / OWNER_FILE).read_text().split()
            owner = int(pid_text)
        except (OSError, ValueError):
            continue  # no owner file: not ours to judge
        if _alive(owner, started):
            continue
        for pid_file in base.glob(f"**/{pid_file_name}"):
            stop_server(pid_file, sig)
        shutil.rmtree(base, ignore_errors=True)


def _supervise(pid_file: Path, sig: int, remove: list[Path]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for pytest
    said = sys.stdin.buffer.read()
    if said == _DONE:
        return
    stop_server(pid_file, sig)
    for folder in remove:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    _supervise(Path(sys.argv[1]), int(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
