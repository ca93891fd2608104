"""What a run shows while it goes on: its log, written to the history store line by line with a
timestamp (so `tapwell logs --follow` and serve's log stream can follow it), and per-stage
figures sampled once a second (tap and target CPU % and RSS, rows and rows/s per stream, the
bytes waiting in the tap -> target pipe), stored with the run record.

Used by every `tapwell run` (cron, CronJob, serve): pure standard library and Linux /proc, so a
run needs none of serve's extras. Where /proc is missing the figures are simply absent.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import termios
import threading
import time
from typing import Any

from tapwell.runner.attempt import Metrics
from tapwell.runner.history import RunRecord, log_line
from tapwell.runner.processes import reaped_peak_rss
from tapwell.runner.statestore import StateBackend

MAX_SAMPLES = 720  # past this the series is thinned to every other sample (bounded memory)
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_figures(pid: int) -> tuple[float, int, int] | None:
    """(CPU seconds used, RSS bytes, peak RSS bytes) of a process from /proc; None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open(f"/proc/{pid}/status", "rb") as f:
            status = f.read()
    except OSError:
        return None
    if fields[0] == b"Z":
        return None
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
    kib = {}
    for line in status.splitlines():
        if line.startswith((b"VmRSS:", b"VmHWM:")):
            kib[line[:5]] = int(line.split()[1])
    return cpu, kib.get(b"VmRSS", 0) * 1024, kib.get(b"VmHWM", 0) * 1024


def pipe_bytes(reader_pid: int) -> int | None:
    """Bytes waiting in the pipe that is `reader_pid`'s stdin (FIONREAD on it, opened through
    /proc for an instant: the runner keeps no end of the tap -> target pipe open, so a target
    that dies still sends SIGPIPE to the tap). None when it is not a pipe or is gone."""
    try:
        fd = os.open(f"/proc/{reader_pid}/fd/0", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        buf = array.array("i", [0])
        fcntl.ioctl(fd, termios.FIONREAD, buf, True)
        return int(buf[0])
    except OSError:
        return None
    finally:
        os.close(fd)


class LiveRun:
    """The log tee and the sampler of one run. `log` takes each (already redacted) log line;
    `watch(role, pid)` is called when a connector starts; `close()` before the record's last
    save stops both threads and leaves the figures in `record.stages`."""

    def __init__(
        self,
        store: StateBackend,
        record: RunRecord,
        prefixes: dict[str, str],
        *,
        flush_every: float = 0.2,
        sample_every: float = 1.0,
        save_every: float = 5.0,
    ) -> None:
        self.store = store
        self.record = record
        self.prefixes = prefixes  # "[tap-csv]" -> "tap", "[target-duckdb]" -> "target"
        self.metrics = Metrics()
        self.pending: list[str] = []
        self.pids: dict[str, int] = {}
        self.samples: list[dict[str, Any]] = []
        self.cpu_last: dict[str, tuple[float, float]] = {}
        self.peaks: dict[str, int] = {}
        self.lock = threading.Lock()
        self.sample_soon = False
        self.stop = threading.Event()
        self.wake = threading.Event()  # set for the first line, and to stop
        self.woken = False
        self.started = time.monotonic()
        self.every = (flush_every, sample_every, save_every)
        self.thread = threading.Thread(target=self._loop, daemon=True, name="tapwell-live")
        self.thread.start()

    def log(self, line: str) -> None:
        stamped = log_line(line)
        role = self.prefixes.get(line.partition(" ")[0])
        if role is not None:
            self.metrics.feed(role, line)
        with self.lock:
            self.pending.append(stamped)
        if not self.woken:
            self.woken = True
            self.wake.set()  # the first line goes out at once: a follower sees the run start

    def watch(self, role: str, pid: int) -> None:
        with self.lock:
            previous = self.pids.get(role)  # the stage of an earlier attempt, reaped by now
            peak = reaped_peak_rss(previous) if previous is not None else None
            if peak:
                self.peaks[role] = max(self.peaks.get(role, 0), peak)
            self.pids[role] = pid
            self.cpu_last.pop(role, None)
            self.sample_soon = True  # a first sample right after the start: short runs get figures

    def close(self) -> None:
        self.stop.set()
        self.wake.set()
        self.thread.join(timeout=10)
        self._flush()
        self._exact_peaks()
        self.record.stages = self.stages()

    def _exact_peaks(self) -> None:
        """Each reaped stage's peak RSS from the kernel (wait4's ru_maxrss), which the 1 s samples
        miss for a stage that lives under a second; the samples stay for the charts."""
        with self.lock:
            for role, pid in self.pids.items():
                peak = reaped_peak_rss(pid)
                if peak:
                    self.peaks[role] = max(self.peaks.get(role, 0), peak)

    def _loop(self) -> None:
        flush_every, sample_every, save_every = self.every
        next_sample = time.monotonic()
        # the first figures a save_every in: at the start they are empty, and the run's own
        # first save has just written the record (a run shorter than that saves it twice, not 3)
        next_save = next_sample + save_every
        while True:
            self.wake.wait(flush_every)
            self.wake.clear()
            if self.stop.is_set():
                break
            self._flush()
            now = time.monotonic()
            if now >= next_sample or self.sample_soon:
                self.sample_soon = False
                next_sample = now + sample_every
                self._sample(now)
            if now >= next_save:
                next_save = now + save_every
                self._save_figures()

    def _flush(self) -> None:
        with self.lock:
            lines, self.pending = self.pending, []
        if not lines:
            return
        try:
            self.store.append_log(self.record.id, lines)
        except Exception:  # noqa: BLE001  the live copy is best effort; record.log keeps every line
            with self.lock:
                self.pending = lines + self.pending

    def _save_figures(self) -> None:
        """The figures so far, on a copy of the record: the run's own saves stay the truth."""
        import dataclasses

        with contextlib.suppress(Exception):
            self.store.save_run(dataclasses.replace(self.record, stages=self.stages()))

    def _sample(self, now: float) -> None:
        with self.lock:
            pids = dict(self.pids)
        sample: dict[str, Any] = {"t": round(now - self.started, 1), "rows": self._rows()}
        for role, pid in pids.items():
            figures = proc_figures(pid)
            if figures is None:
                continue
            cpu, rss, peak = figures
            before = self.cpu_last.get(role)
            self.cpu_last[role] = (now, cpu)
            percent = (cpu - before[1]) / max(now - before[0], 1e-3) * 100 if before else None
            self.peaks[role] = max(self.peaks.get(role, 0), peak or rss)
            sample[role] = {"cpu": None if percent is None else round(percent, 1), "rss": rss}
        if "target" in pids:
            waiting = pipe_bytes(pids["target"])
            if waiting is not None:
                sample["pipe_bytes"] = waiting
        previous = self.samples[-1] if self.samples else None
        if previous is not None:
            # a stream's first count: its rows came since the run's start, not in one interval
            sample["rows_per_s"] = {
                s: round(
                    (n - previous["rows"].get(s, 0))
                    / max(sample["t"] - (previous["t"] if s in previous["rows"] else 0.0), 1e-3),
                    1,
                )
                for s, n in sample["rows"].items()
            }
        with self.lock:
            self.samples.append(sample)
            if len(self.samples) > MAX_SAMPLES:
                self.samples = self.samples[::2]

    def _rows(self) -> dict[str, int]:
        """Rows per stream so far: the target's count where it reports one, else the tap's."""
        return {**self.metrics.sent(), **self.metrics.rows()}

    def stages(self) -> dict[str, Any]:
        """The time series and a summary: peak RSS and mean/max CPU per stage, the pipe's mean
        and max fill, rows and mean rows/s per stream."""
        with self.lock:
            samples = list(self.samples)
            peaks = dict(self.peaks)
        seconds = max(time.monotonic() - self.started, 1e-3)
        summary: dict[str, Any] = {"seconds": round(seconds, 1)}
        for role in ("tap", "target"):
            cpus = [s[role]["cpu"] for s in samples if role in s and s[role]["cpu"] is not None]
            if role in peaks or cpus:
                summary[role] = {
                    "peak_rss": peaks.get(role, 0),
                    "cpu_avg": round(sum(cpus) / len(cpus), 1) if cpus else None,
                    "cpu_max": max(cpus) if cpus else None,
                }
        pipe = [s["pipe_bytes"] for s in samples if "pipe_bytes" in s]
        if pipe:
            summary["pipe_bytes_max"] = max(pipe)
            summary["pipe_bytes_avg"] = round(sum(pipe) / len(pipe))
            summary["pipe_bytes_last"] = pipe[-1]
        rows = self._rows()
        summary["rows"] = rows
        summary["rows_per_s"] = {s: round(n / seconds, 1) for s, n in rows.items()}
        return {"summary": summary, "samples": samples}
