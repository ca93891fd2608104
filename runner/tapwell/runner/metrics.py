"""Record counts from the connectors' METRIC lines: what the progress lines and the run's
figures are made of."""

from __future__ import annotations

import threading
import time

import orjson


class Metrics:
    """record_count counters per stream from METRIC lines, kept apart for the tap and the
    target. Every counter is an increment (singer-python, singer-sdk and our connectors'
    Progress emit the rows since their previous counter, the rest at the end), so they are
    summed; the rate on the progress line is over the rows counted since the previous line."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {"tap": {}, "target": {}}
        self.lock = threading.Lock()
        self.last_tick = time.monotonic()
        self.at_last_tick: dict[str, int] = {}

    def feed(self, role: str, line: str) -> None:
        at = line.find("METRIC: ")
        if at < 0:
            return
        try:
            body = orjson.loads(line[at + 8 :])
        except orjson.JSONDecodeError:
            return
        value = body.get("value") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or body.get("metric") != "record_count"
            or not isinstance(value, int)
            or isinstance(value, bool)
        ):
            return
        tags = body.get("tags") or {}
        stream = str(tags.get("stream") or tags.get("endpoint") or tags.get("name") or "?")
        with self.lock:
            counts = self.counts.setdefault(role, {})
            counts[stream] = counts.get(stream, 0) + value

    def rows(self) -> dict[str, int]:
        """Rows per stream the target reports loading; never the tap's count (what a tap sent
        is not what landed: a target that refuses the first SCHEMA loads nothing)."""
        with self.lock:
            return dict(self.counts["target"])

    def rows_of(self, role: str) -> dict[str, int]:
        """Rows per stream one process (by its role) reports."""
        with self.lock:
            return dict(self.counts.get(role) or {})

    def sent(self) -> dict[str, int]:
        """Rows per stream the tap reports sending."""
        with self.lock:
            return dict(self.counts["tap"])

    def lines(self, name: str) -> list[str]:
        """One `tapwell: NAME: stream N rows (R rows/s)` per stream, R over the time since the
        previous lines; the target's count where it reports one, else the tap's."""
        now = time.monotonic()
        with self.lock:
            merged = {**self.counts["tap"], **self.counts["target"]}
            secs = max(now - self.last_tick, 1e-3)
            out = [
                f"tapwell: {name}: {s} {n:,} rows ({(n - self.at_last_tick.get(s, 0)) / secs:,.0f} rows/s)"
                for s, n in sorted(merged.items())
            ]
            self.last_tick, self.at_last_tick = now, merged
        return out or [f"tapwell: {name}: running, no record counts yet"]

    def line(self, name: str) -> str:
        return "\n".join(self.lines(name))
