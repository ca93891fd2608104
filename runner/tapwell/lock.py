"""One run per integration at a time. The file backend takes an flock on state/NAME.lock (released
by the kernel when the process dies, so a crash never leaves a stale lock); the postgres backend
takes a session advisory lock (released when the connection closes)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from tapwell.errors import TapwellError


class LockHeld(TapwellError):
    """Another run of the same integration holds the lock (a cron overlap): exit at once."""

    exit_code = 3


class FileLock:
    def __init__(self, path: Path, integration: str) -> None:
        self.path = path
        self.integration = integration
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockHeld(
                f"integration {self.integration!r} is already running (pid {holder}, lock {self.path}); "
                "this start exits without running"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd

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
