"""Connectors that never outlive the run that started them.

A runner killed with SIGKILL cannot stop its tap and target, and the next run of the same
integration must never load beside them. Three measures, each covering what the others miss:

- every connector is started through util-linux `setpriv --pdeathsig KILL`, so the kernel kills
  it the moment the runner dies (Linux; elsewhere the other two measures remain);
- every connector inherits the lock (the flock'd file descriptor, or the PostgreSQL session's
  socket), so the kernel releases the lock only when the last of them is gone;
- every connector runs with `TAPWELL_RUN_GUARD=<token>` in its environment, the token is written
  beside the lock, and a run that finds the lock held by a dead runner of this host (or takes a
  lock whose previous holder died) kills whatever still carries the token (grandchildren of a
  connector, which hold neither the lock nor a death signal) and waits for the lock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import orjson

GUARD_ENV = "TAPWELL_RUN_GUARD"
LOCK_WAIT_SECONDS = 30.0  # how long a start waits for the leftovers of a dead runner to go
RUN_DIR_PREFIX = "tapwell-run-"
_SETPRIV = shutil.which("setpriv")


def this_host() -> str:
    return os.uname().nodename  # gethostname's value, without importing socket for it


def new_token() -> str:
    return orjson.dumps([this_host(), os.getpid(), os.urandom(6).hex()]).decode()


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc: trust kill(0)


def dies_with_runner(argv: list[str]) -> list[str]:
    """argv run under `setpriv --pdeathsig KILL` where util-linux has it (it keeps the death
    signal across its exec of the connector, so the connector's pid is the one started)."""
    if _SETPRIV is None:
        return argv
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *argv]


def guarded_env(token: str) -> dict[str, str]:
    return {**os.environ, GUARD_ENV: token}


def guarded_pids(token: str) -> list[int]:
    """Processes of this user whose environment carries the run's guard token."""
    marker = f"{GUARD_ENV}={token}".encode() + b"\0"
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if marker in f.read() + b"\0":
                        found.append(int(entry.name))
            except OSError:
                continue
    return [pid for pid in found if pid_alive(pid)]


def stop_leftovers(token: str, wait: float = LOCK_WAIT_SECONDS) -> int:
    """Kill every process still carrying the token and wait until they are gone; the count."""
    if not token:
        return 0
    pids = guarded_pids(token)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(pids)


def run_dir() -> str:
    """A private temporary folder for one attempt's config files, named after this runner's pid
    so that a later run can tell the folders a killed runner left behind (remove_stale_run_dirs)."""
    remove_stale_run_dirs()
    path = tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-")
    os.chmod(path, 0o700)
    return path


def remove_stale_run_dirs(root: str | None = None) -> list[str]:
    """Remove the temporary folders of runners of this user that are gone (killed runs leave
    their 0600 config files, secrets included, behind)."""
    removed = []
    base = Path(root or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for path in base.glob(f"{RUN_DIR_PREFIX}*"):
            pid_text = path.name[len(RUN_DIR_PREFIX) :].split("-", 1)[0]
            try:
                owner = path.lstat().st_uid
            except OSError:
                continue
            if not pid_text.isdigit() or owner != os.getuid() or not path.is_dir():
                continue
            if path.is_symlink() or pid_alive(int(pid_text)):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed
