"""What `tapwell run` hides inside its own process figures: the peak RSS of the tap and the
target it spawns (each process's VmHWM, read from /proc while they run) and the most disk the
fast lane's spool folder held at once, sampled every 50 ms by a thread beside the run."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

PERIOD_S = 0.05


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    stat = _read(f"/proc/{pid}/stat")
    try:
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (IndexError, ValueError):
        return 0


def _hwm_mb(pid: int) -> float:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sizes(folder: Path) -> dict[str, int]:
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):  # deleted by the target since the listing
                out[path] = os.stat(path).st_size
    return out


class LaneWatch:
    """Peak RSS per child executable of runs whose runner names `project`, and the spool's
    largest size. Use as a context manager around the run; `figures()` afterwards."""

    def __init__(self, project: Path, names: tuple[str, ...], spool_parent: Path) -> None:
        self.project = str(project)
        self.names = names
        self.spool_parent = spool_parent
        self.peak_mb: dict[str, float] = {}
        self.spool_bytes = 0
        self.file_sizes: dict[str, int] = {}  # every spool file seen: its largest size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> LaneWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _ours(self, pid: int) -> bool:
        """Whether an ancestor of `pid` is the runner on our project."""
        seen = 0
        while pid > 1 and seen < 8:
            pid = _ppid(pid)
            if self.project in _read(f"/proc/{pid}/cmdline").replace("\0", " "):
                return True
            seen += 1
        return False

    def _loop(self) -> None:
        while not self._stop.wait(PERIOD_S):
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                argv = _read(f"/proc/{entry}/cmdline").split("\0")
                exe = next((n for n in self.names for a in argv[:2] if a.endswith("/" + n)), None)
                if exe is None or not self._ours(int(entry)):
                    continue
                self.peak_mb[exe] = max(self.peak_mb.get(exe, 0.0), _hwm_mb(int(entry)))
            if self.spool_parent.is_dir():
                sizes = _sizes(self.spool_parent)
                self.spool_bytes = max(self.spool_bytes, sum(sizes.values()))
                for path, size in sizes.items():
                    self.file_sizes[path] = max(size, self.file_sizes.get(path, 0))

    def figures(self) -> dict[str, Any]:
        return {
            "peak_rss_mb": {k: round(v, 1) for k, v in sorted(self.peak_mb.items())},
            "spool_peak_mb": round(self.spool_bytes / 2**20, 1),
            "spool_written_mb": round(sum(self.file_sizes.values()) / 2**20, 1),
        }
