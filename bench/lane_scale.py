"""Does the csv lane cost more per row at more rows? tap-csv (bench.lane_ab's `batch_config`:
100,000-row files, every file kept) alone into its spool, then target-duckdb alone on the saved
BATCH stream (bench.lane_ab.replay), each process's CPU s (user + sys, os.wait4) and peak RSS, at
each row count in turn, the counts interleaved round after round. Printed: the medians per count
and the marginal CPU µs per row between consecutive counts (a growing figure is a cost that grows
with the table or the file, not the machine's load, which moves every count alike).

    python -m bench.lane_scale --rows 100000 300000 1000000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

from bench.lane_ab import BIN, HERE, prepare, replay


def tap_alone(saved: Path) -> dict[str, float]:
    """tap-csv's sync of the saved config and catalog (bench.lane_ab.prepare), again, timed."""
    for old in (saved / "spool").iterdir():
        old.unlink()
    argv = [str(BIN / "tap-csv"), "--config", str(saved / "tap.json")]
    argv += ["--catalog", str(saved / "catalog.json")]
    start = time.perf_counter()
    with (saved / "stream.singer").open("wb") as out, (saved / "tap.err").open("wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"tap-csv failed on {saved}")
    return {
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
        "wall": time.perf_counter() - start,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lane_scale", description=__doc__)
    p.add_argument("--rows", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--work-dir", type=Path, default=HERE / "data" / "lane_scale")
    args = p.parse_args(argv)
    saved = {n: prepare(n, args.work_dir) for n in args.rows}
    tap: dict[int, list[float]] = {n: [] for n in args.rows}
    target: dict[int, list[float]] = {n: [] for n in args.rows}
    for i in range(args.rounds):
        for n in args.rows if i % 2 == 0 else reversed(args.rows):
            t = tap_alone(saved[n])
            g = replay(str(BIN / "target-duckdb"), saved[n], args.work_dir / "run", {})
            tap[n].append(t["cpu"])
            target[n].append(g["cpu"])
            print(
                f"round {i + 1}, {n} rows: tap {t['cpu']:.2f} CPU s ({t['rss']:.0f} MB), "
                f"target {g['cpu']:.2f} CPU s ({g['rss']:.0f} MB), load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    before = None
    for n in args.rows:
        now = (statistics.median(tap[n]), statistics.median(target[n]))
        line = f"{n} rows: tap median {now[0]:.2f} CPU s, target median {now[1]:.2f} CPU s"
        if before is not None:
            rows = n - before[0]
            tap_us = (now[0] - before[1]) / rows * 1e6
            target_us = (now[1] - before[2]) / rows * 1e6
            line += f"; per row since {before[0]}: tap {tap_us:.2f} µs, target {target_us:.2f} µs"
        print(line)
        before = (n, *now)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
