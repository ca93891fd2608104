"""`python -m bench.embedded_timeline [--rows N] [--set KEY=VALUE ...] [--each]`: where
target-duckdb's time goes on the embedded series' saved Singer stream (bench/embedded_data.py),
thread by thread.

The target runs in this process on the stream, its methods timed where they are called (nothing
else changes): each load (in the reader's thread or behind it, with the thread's own CPU
seconds), each SQL statement the loader runs, the Arrow table of a batch's lines, and how long
the reader waits for the load behind it. The totals per thread and step tell which thread is the
critical path (a reader that waits is ahead of its loader); `--each` prints every load and every
statement past 10 ms on one timeline. DuckDB's own worker threads do not show by name: the
process's CPU seconds at the end less the two threads' are theirs.
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import embedded_data as data

Event = tuple[str, str, float, float]  # thread, step, start, end (seconds since the start)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedded_timeline")
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--set", action="append", default=[], help="a target setting, KEY=JSON")
    p.add_argument("--each", action="store_true", help="print the timeline, not only totals")
    args = p.parse_args(argv)
    singer = data.singer_file(args.rows)
    events: list[Event] = []
    t0 = time.monotonic()
    cpu: dict[str, float] = collections.defaultdict(float)

    def note(step: str, start: float) -> None:
        events.append((threading.current_thread().name, step, start - t0, time.monotonic() - t0))

    from tapwell.sdk import target_loop
    from tapwell.targets.duckdb import loader, raw

    def timed(owner: Any, name: str, thread_cpu: bool = False) -> None:
        real: Callable[..., Any] = getattr(owner, name)

        def wrapper(*a: Any, **k: Any) -> Any:
            start, c = time.monotonic(), time.thread_time()
            try:
                return real(*a, **k)
            finally:
                note(name, start)
                if thread_cpu:
                    cpu[_who(threading.current_thread().name)] += time.thread_time() - c

        setattr(owner, name, wrapper)

    class Connection:
        """The loader's connection, each statement timed."""

        def __init__(self, con: Any) -> None:
            self._con = con

        def execute(self, sql: str, *a: Any) -> Any:
            start = time.monotonic()
            try:
                return self._con.execute(sql, *a)
            finally:
                note("sql " + " ".join(sql.split()[:3])[:40], start)

        def cursor(self) -> Connection:  # a second connection (load_ahead), timed too
            return Connection(self._con.cursor())

        def __getattr__(self, name: str) -> Any:
            return getattr(self._con, name)

    connect = loader.connect
    loader.connect = lambda path: Connection(connect(path))  # type: ignore[assignment]
    timed(loader.DuckDBLoader, "load", thread_cpu=True)
    if hasattr(loader.DuckDBLoader, "_check_ahead"):  # a batch's lines checked before its turn
        timed(loader.DuckDBLoader, "_check_ahead", thread_cpu=True)
    timed(raw, "lines_table")
    timed(loader.DuckDBLoader, "close")
    timed(target_loop.TargetLoop, "_read")
    timed(target_loop.TargetLoop, "_wait_behind")
    with tempfile.TemporaryDirectory() as tmp:
        config = {"path": str(Path(tmp) / "w.duckdb")}
        for item in args.set:
            key, _, value = item.partition("=")
            config[key] = json.loads(value)
        cfg = Path(tmp) / "config.json"
        cfg.write_text(json.dumps(config))
        from tapwell.targets.duckdb.cli import main as target

        with open(singer, "rb") as stdin, open(Path(tmp) / "out", "wb") as out:
            sys.stdin, sys.stdout = _Text(stdin), _Text(out)  # type: ignore[assignment]
            try:
                target(["--config", str(cfg)], standalone_mode=False)
            except SystemExit as exc:  # the target's exit: 0 when it loaded everything
                if exc.code:
                    raise
            finally:
                sys.stdin, sys.stdout = sys.__stdin__, sys.__stdout__
    end = time.monotonic() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report(events, end, usage.ru_utime + usage.ru_stime, cpu, args.each)
    return 0


def _who(thread: str) -> str:
    return "reader" if thread == threading.main_thread().name else "behind"


class _Text:
    """A binary file where the target wants sys.stdin / sys.stdout (it reads .buffer)."""

    def __init__(self, f: Any) -> None:
        self.buffer = f

    def fileno(self) -> int:
        return int(self.buffer.fileno())


def report(
    events: list[Event], end: float, process_cpu: float, cpu: dict[str, float], each: bool
) -> None:
    totals: dict[tuple[str, str], list[float]] = collections.defaultdict(lambda: [0.0, 0])
    for thread, step, a, b in events:
        total = totals[(_who(thread), step)]
        total[0] += b - a
        total[1] += 1
    print(f"{'wall s':>8} {'times':>6}  thread  step")
    for (who, step), (seconds, n) in sorted(totals.items(), key=lambda kv: -kv[1][0])[:25]:
        print(f"{seconds:8.3f} {int(n):6d}  {who:6s}  {step}")
    loads = ", ".join(f"{who} {c:.3f}" for who, c in sorted(cpu.items()))
    print(
        f"end {end:.3f} s wall, process CPU {process_cpu:.3f} s; thread CPU inside loads: {loads}"
    )
    if each:
        for thread, step, a, b in events:
            if not step.startswith("sql") or b - a > 0.01:
                print(f"{a:8.3f} {b:8.3f}  {_who(thread):6s}  {step}")


if __name__ == "__main__":
    sys.exit(main())
