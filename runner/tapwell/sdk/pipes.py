"""Wider OS pipes between a tap and a target.

A Linux pipe holds 64 KiB: about 160 RECORD lines. A tap that writes faster than its target
reads then blocks every 160 rows, and each side is woken and put to sleep again thousands of
times a second; with two cores shared by the tap, the target and both database servers, that
switching cost a tenth of an end-to-end sync (`make bench`, 1M rows: 120-143k rows/s with the
default pipe, 133-165k with 1 MiB, interleaved runs). Four MiB was no better than one.

Either end may widen the pipe, so the tap widens its stdout, the target its stdin and the
runner the pipe it makes: a tap or target from elsewhere still gets a wide pipe from ours.
"""

from __future__ import annotations

import fcntl
import os
import stat
from typing import IO, Any

PIPE_BYTES = 1 << 20
READ_BUFFER = 1 << 18  # the target's read buffer on stdin: fewer, larger reads


def widen_pipe(fd: int | IO[Any], size: int = PIPE_BYTES) -> int | None:
    """Grow the pipe behind `fd` (a descriptor, or a file object with one) to `size` bytes, or
    to the system's limit for unprivileged processes when that is smaller; a pipe already that
    wide is left alone. Returns the pipe's size, or None when `fd` is not a pipe or the system
    does not allow it (nothing else changes: the pipe just stays as it was)."""
    setsz = getattr(fcntl, "F_SETPIPE_SZ", None)
    getsz = getattr(fcntl, "F_GETPIPE_SZ", None)
    if setsz is None or getsz is None:  # not Linux
        return None
    try:
        if not isinstance(fd, int):
            fd = fd.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return None
        current = int(fcntl.fcntl(fd, getsz))
        size = min(size, _max_size())
        if current >= size:
            return current  # never shrink a pipe someone else widened
        return int(fcntl.fcntl(fd, setsz, size))
    except (OSError, ValueError):
        return None


def _max_size() -> int:
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            return int(f.read())
    except (OSError, ValueError):
        return PIPE_BYTES
