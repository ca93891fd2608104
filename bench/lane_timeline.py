"""`python -m bench.lane_timeline [--rows N] [--bin DIR] [--runs R] [--env KEY=VALUE]`: the csv
lane's critical path, file by file: tap-csv (bench.lane_pipe_ab's `batch_config`: 100,000-row
files, max_pending_files 2, durable false) | target-duckdb, on one clock.

The tap's stdout passes through this process, which notes when each BATCH message arrives and hands
it on to the target at once (a few dozen lines: the relay costs nothing that shows); a thread looks
at the spool folder every 5 ms, noting when each file appears (the tap opened it), its size, and
when it goes (the target deletes it after its commit). Printed per file: its size, when the tap
opened and announced it, when the target had committed it and how long after its BATCH message that
was (the target behind the tap when that grows) and the target's own time on it (from its
announcement or the commit before, whichever is later; "behind": announced while the target still
loaded another); the target's waits for files after the first; then the tap's exit, the target's
exit, the tail between them (the target alone: its last loads and the close's checkpoint), how long
the tap waited for the target at max_pending_files (the gaps past 30 ms between a BATCH message and
the next file's opening) and each process's CPU s (os.wait4). The load is checked as
bench.lane_pipe_ab does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.lane_pipe_ab import BATCH_SIZE, BIN, HERE, configs, digest

# A gap longer than this between a file's BATCH message and the next file's opening is the tap
# waiting at max_pending_files (it writes only a STATE line in between; the look is every 5 ms).
WAIT = 0.03
Seen = dict[str, list[float]]  # a spool file's name: [first seen, largest size, gone]


def _watch(spool: Path, start: float, seen: Seen, stop: threading.Event) -> None:
    while not stop.is_set():
        now = time.perf_counter() - start
        names = set()
        for entry in os.scandir(spool):
            names.add(entry.name)
            got = seen.setdefault(entry.name, [now, 0.0, 0.0])
            with contextlib.suppress(OSError):  # deleted since the listing
                got[1] = max(got[1], entry.stat().st_size)
        for name, got in seen.items():
            if name not in names and not got[2]:
                got[2] = now
        time.sleep(0.005)


def _relay(
    tap: subprocess.Popen[bytes], target: subprocess.Popen[bytes], start: float
) -> tuple[list[tuple[float, str]], float]:
    """The tap's stdout into the target's stdin: (each BATCH's (arrival, file path), the tap's
    end of output)."""
    assert tap.stdout is not None and target.stdin is not None
    batches: list[tuple[float, str]] = []
    rest = b""
    while chunk := os.read(tap.stdout.fileno(), 1 << 16):
        now = time.perf_counter() - start
        target.stdin.write(chunk)
        target.stdin.flush()
        *lines, rest = (rest + chunk).split(b"\n")
        for line in lines:
            if line.startswith(b'{"type":"BATCH"'):
                url = json.loads(line)["manifest"][0]
                batches.append((now, url.removeprefix("file://")))
    target.stdin.close()
    return batches, time.perf_counter() - start


def run(
    rows: int, d: Path, bin_dir: str, env: dict[str, str], batch_size: int = BATCH_SIZE
) -> None:
    tap_cfg, catalog, target_cfg = configs(rows, d, bin_dir, {}, batch_size)
    environ = {**os.environ, **env}
    seen: Seen = {}
    stop = threading.Event()
    start = time.perf_counter()
    watcher = threading.Thread(target=_watch, args=(d / "spool", start, seen, stop), daemon=True)
    watcher.start()
    with (d / "tap.err").open("wb") as tap_err, (d / "target.err").open("wb") as target_err:
        tap = subprocess.Popen(
            [f"{bin_dir}/tap-csv", "--config", str(tap_cfg), "--catalog", str(catalog)],
            stdout=subprocess.PIPE,
            stderr=tap_err,
            env=environ,
        )
        target = subprocess.Popen(
            [f"{bin_dir}/target-duckdb", "--config", str(target_cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=target_err,
            env=environ,
        )
        batches, _ = _relay(tap, target, start)
        _, tap_status, tap_use = os.wait4(tap.pid, 0)
        tap_end = time.perf_counter() - start
        _, target_status, target_use = os.wait4(target.pid, 0)
        end = time.perf_counter() - start
    time.sleep(0.02)
    stop.set()
    watcher.join()
    for name, status in (("tap", tap_status), ("target", target_status)):
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{name} failed: {(d / (name + '.err')).read_text()[-500:]}")
    waited, last = 0.0, None
    done, idle, behind = 0.0, 0.0, 0  # the target's last commit; its waits for a file; files
    for i, (at, path) in enumerate(batches):  # announced while it was still loading another
        opened, size, gone = seen.get(os.path.basename(path), [0.0, 0.0, 0.0])
        began = max(at, done)  # when the target could begin this file
        print(
            f"  file {i + 1:2d}: {size / 2**20:5.1f} MB, opened {opened:6.3f} s, announced "
            f"{at:6.3f} s, committed by {gone:6.3f} s (+{gone - at:.3f}; the target's "
            f"{gone - began:.3f} s{', behind' if done > at else ''})"
        )
        idle += max(0.0, at - done) if i else 0.0
        behind += done > at
        done = max(done, gone)
        if last is not None and opened - last > WAIT:
            waited += opened - last
        last = at
    print(
        f"  the target waited {idle:.3f} s for files after the first, was behind at {behind} of "
        f"{len(batches)} (the tap the critical path when it waits, the target when it is behind)"
    )
    print(
        f"  tap exit {tap_end:.3f} s ({_cpu(tap_use):.3f} CPU s), target exit {end:.3f} s "
        f"({_cpu(target_use):.3f} CPU s), tail {end - tap_end:.3f} s, the tap waited "
        f"{waited:.3f} s, load "
        f"{os.getloadavg()[0]:.1f}; {digest(d)}"
    )


def _cpu(usage: Any) -> float:
    return float(usage.ru_utime + usage.ru_stime)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lane_timeline", description=__doc__)
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--bin", default=str(BIN), help="the build's bin folder")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE for both processes")
    p.add_argument("--work-dir", type=Path, default=HERE / "data" / "lane_timeline")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per BATCH file")
    args = p.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    for r in range(args.runs):
        print(f"run {r + 1}, {args.bin}, {args.rows} rows")
        run(args.rows, args.work_dir, args.bin, env, args.batch_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
