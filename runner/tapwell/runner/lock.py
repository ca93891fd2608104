"""One run per integration at a time. The file backend takes an flock on state/NAME.lock; the
postgres backend takes a session advisory lock (statestore_pg). Either way the kernel releases
the lock when the runner dies, so a crash never leaves a stale lock, and the connectors inherit
it (tapwell.runner.guard), so it is released only once they are gone too.

Beside the lock the holder is written (`Holder`: pid, host, guard token). A start that finds the
lock held by a runner of this host that no longer exists is looking at connectors a killed
runner left behind: it kills them and waits for the lock instead of exiting 3.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import orjson

from tapwell.runner.guard import LOCK_WAIT_SECONDS, new_token, pid_alive, stop_leftovers, this_host
from tapwell.singer.errors import TapwellError


class LockHeld(TapwellError):
    """Another run of the same integration holds the lock (a cron overlap): exit at once."""

    exit_code = 3


@dataclass
class Holder:
    """Who holds (or last held) an integration's lock."""

    pid: int
    host: str
    token: str

    def to_bytes(self) -> bytes:
        return orjson.dumps({"pid": self.pid, "host": self.host, "token": self.token})

    @classmethod
    def parse(cls, raw: bytes) -> Holder | None:
        text = raw.decode(errors="replace").strip()
        if text.isdigit():  # written by an older tapwell: the pid alone
            return cls(int(text), this_host(), "")
        try:
            data = orjson.loads(text)
            return cls(int(data["pid"]), str(data["host"]), str(data["token"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    @property
    def gone(self) -> bool:
        """A runner of this host that no longer runs (another host's cannot be checked)."""
        return self.host == this_host() and not pid_alive(self.pid)


class RunLock(Protocol):
    """What a run hands to its connectors: the guard token and the descriptors to inherit."""

    token: str

    def inherit_fds(self) -> list[int]: ...


def take_over(
    holder: Holder | None, try_lock: Callable[[], bool], integration: str, where: str
) -> None:
    """The lock is held: by a live run (LockHeld, exit 3), or by what a dead runner of this
    host left behind (kill it, then wait up to LOCK_WAIT_SECONDS for `try_lock()` to succeed)."""
    if holder is None or not holder.gone:
        who = f"pid {holder.pid} on {holder.host}" if holder else "pid ?"
        raise LockHeld(
            f"integration {integration!r} is already running ({who}, {where}); "
            "this start exits without running"
        )
    stop_leftovers(holder.token)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not try_lock():
        if time.monotonic() > deadline:
            raise LockHeld(
                f"integration {integration!r}: the run of pid {holder.pid} died but its lock "
                f"({where}) is still held after {LOCK_WAIT_SECONDS:g}s; "
                "this start exits without running"
            )
        time.sleep(0.05)


class FileLock:
    def __init__(self, path: Path, integration: str) -> None:
        self.path = path
        self.integration = integration
        self.fd: int | None = None
        self.token = new_token()

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

        def try_lock() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        try:
            if not try_lock():
                take_over(
                    Holder.parse(os.pread(fd, 4096, 0)), try_lock, self.integration, str(self.path)
                )
            previous = Holder.parse(os.pread(fd, 4096, 0))
            if previous is not None and previous.host == this_host():
                stop_leftovers(previous.token)  # grandchildren of a killed run's connectors
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, Holder(os.getpid(), this_host(), self.token).to_bytes(), 0)
        self.fd = fd

    def inherit_fds(self) -> list[int]:
        return [] if self.fd is None else [self.fd]

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
