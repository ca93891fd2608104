"""Progress on stderr, and Singer METRIC lines, so nobody stares at silence.

A progress line is written at most every `every` seconds per process; METRIC lines follow the
singer-python shape: `METRIC: {"type": "counter", "metric": "record_count", "value": N,
"tags": {"stream": ...}}`.
"""

from __future__ import annotations

import sys
import time
from typing import IO, TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import logging


def configure_logging(name: str, level: str | None = None) -> logging.Logger:
    """Plain `name LEVEL message` lines on stderr; TAPWELL_LOG_LEVEL overrides."""
    import logging  # here: a tap that never logs does not pay its import at start-up
    import os

    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{name} %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel((level or os.environ.get("TAPWELL_LOG_LEVEL") or "INFO").upper())
    return logger


def write_metric(
    kind: str, metric: str, value: Any, tags: dict[str, Any], err: IO[str] | None = None
) -> None:
    body = {"type": kind, "metric": metric, "value": value, "tags": tags}
    (err or sys.stderr).write("METRIC: " + orjson.dumps(body).decode() + "\n")


class Progress:
    """Counts rows per stream; every few seconds prints `name: stream N rows (R rows/s)` and a
    record_count METRIC counter with the rows since the last one (increments, as singer-python
    does, so a runner can sum them while a long stream is still running); `done` reports the rest."""

    def __init__(self, name: str, every: float = 5.0, err: IO[str] | None = None) -> None:
        self.name = name
        self.every = every
        self.err = err or sys.stderr
        self.counts: dict[str, int] = {}
        self.started: dict[str, float] = {}
        self.reported: dict[str, int] = {}
        self._last = time.monotonic()

    def add(self, stream: str, n: int = 1) -> None:
        if stream not in self.counts:
            self.counts[stream] = 0
            self.started[stream] = time.monotonic()
        self.counts[stream] += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self.report(stream, now)

    def report(self, stream: str, now: float | None = None) -> None:
        now = now or time.monotonic()
        n = self.counts.get(stream, 0)
        rate = n / max(now - self.started.get(stream, now), 1e-9)
        self.err.write(f"{self.name}: {stream} {n:,} rows ({rate:,.0f} rows/s)\n")
        self._count_metric(stream)
        self.err.flush()

    def _count_metric(self, stream: str) -> None:
        delta = self.counts.get(stream, 0) - self.reported.get(stream, 0)
        if delta:
            write_metric("counter", "record_count", delta, {"stream": stream}, self.err)
            self.reported[stream] = self.counts.get(stream, 0)

    def done(self, stream: str) -> None:
        secs = time.monotonic() - self.started.get(stream, time.monotonic())
        self._count_metric(stream)
        write_metric(
            "timer",
            "sync_duration",
            round(secs, 3),
            {"stream": stream, "status": "succeeded"},
            self.err,
        )
        self.err.flush()
