"""Time of `tapwell serve`'s schedule (`GET /api/schedule`, the /schedule page) on a project of 50
integrations, beside the anchor in the same run: the times computed as before this change, a new
croniter per time slot. Shown for the first read (one croniter per integration) and the next
reads (the series kept by the scheduler: only times not yet computed cost a croniter step).
Every way must list the same times, or the exit code is 1.

    .venv/bin/python -m bench.schedule [--integrations 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from tapwell.runner.project import load_project
from tapwell.runner.serve.scheduler import Scheduler, cron_next
from tapwell.runner.statestore import FileStateStore

SCHEDULES = [
    ("* * * * *", "UTC"),
    ("*/5 * * * *", "Europe/Paris"),
    ("15 2 * * *", "America/New_York"),
    ("0 * * * *", "Asia/Kolkata"),
    ("*/15 9-17 * * 1-5", "Europe/Paris"),
]


def project(root: Path, count: int) -> Scheduler:
    tap = {"name": "tap-csv", "config": {"files": []}}
    target = {"name": "target-jsonl", "config": {"destination_path": str(root / "out")}}
    raw: dict[str, Any] = {"integrations": {}}
    for i in range(count):
        expression, timezone = SCHEDULES[i % len(SCHEDULES)]
        raw["integrations"][f"i{i:02d}"] = {
            "tap": tap,
            "target": target,
            "schedule": expression,
            "timezone": timezone,
        }
    (root / "tapwell.yml").write_text(yaml.safe_dump(raw))
    loaded = load_project(root / "tapwell.yml")
    store = FileStateStore(root / "state")
    return Scheduler(root / "tapwell.yml", loaded, store, manager=None)  # type: ignore[arg-type]


def per_slot(scheduler: Scheduler, start: dt.datetime, end: dt.datetime) -> list[Any]:
    """The anchor: the schedule as computed before, a croniter built for every time slot."""
    out = []
    for name, first in scheduler.next_due.items():
        expression, timezone = scheduler._cron(name)
        when = first
        for _ in range(500):
            if when > end:
                break
            if when >= start:
                out.append((name, when))
            when = cron_next(expression, timezone, when)
    return sorted(out, key=lambda item: (item[1], item[0]))


def timed(fn: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def measure(scheduler: Scheduler, hours: int, repeat: int) -> bool:
    """One row of the table; False when the three ways list different times."""
    start = dt.datetime.now(dt.UTC)
    end = start + dt.timedelta(hours=hours)
    anchor, expected = timed(lambda: per_slot(scheduler, start, end), repeat)

    def first_read() -> Any:
        scheduler._series.clear()
        return scheduler.upcoming(start, end)

    first, got_first = timed(first_read, repeat)
    again, got_again = timed(lambda: scheduler.upcoming(start, end), repeat)
    print(
        f"{hours:5} {len(expected):6,} {anchor * 1000:12.1f} {first * 1000:9.1f} "
        f"{again * 1000:8.2f} {anchor / first:.1f}x, {anchor / again:.0f}x"
    )
    if expected == got_first == got_again:
        return True
    print(f"WRONG: the {hours} h schedules differ")
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--integrations", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"{args.integrations} integrations; median of {args.repeat} reads")
    print(f"{'hours':>5} {'times':>6} {'per slot ms':>12} {'first ms':>9} {'next ms':>8} ratios")
    with tempfile.TemporaryDirectory() as tmp:
        scheduler = project(Path(tmp), args.integrations)
        right = [measure(scheduler, hours, args.repeat) for hours in (24, 168)]
    sys.exit(0 if all(right) else 1)


if __name__ == "__main__":
    main()
