"""`python -m bench.lane_statements [--rows N] [--set KEY=JSON ...] [--each]`: target-duckdb
alone on tap-csv's saved csv BATCH stream (`python -m bench.lane_ab --rows N --prepare` saves
it), in this process, every SQL statement its loader runs timed (wall and this process's CPU
while it ran: DuckDB runs a statement in the calling thread, plus `threads - 1` workers), and
the close (DuckDB's checkpoint of the WAL left) apart. The files are kept (`batch_keep_files`),
the database is a fresh one in a temporary folder.

Totals per kind of statement (its first three words), longest first; `--each` also prints every
statement past 5 ms on one timeline, which shows the commits that passed `checkpoint_threshold`
(a checkpoint inside the COMMIT) and the first file's extra cost.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

Event = tuple[str, float, float, float]  # what, start (s since ours), wall s, CPU s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lane_statements", description=__doc__)
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--work-dir", type=Path, default=HERE / "data" / "lane_ab")
    p.add_argument("--set", action="append", default=[], help="a target setting, KEY=JSON")
    p.add_argument("--each", action="store_true", help="print every statement past 5 ms")
    args = p.parse_args(argv)
    saved = args.work_dir / f"saved-{args.rows}"
    if not (saved / "stream.singer").exists():
        raise SystemExit(
            f"no saved stream in {saved}: python -m bench.lane_ab --rows {args.rows} --prepare"
        )
    t0, c0 = time.monotonic(), time.process_time()
    events: list[Event] = []

    def note(what: str, start: float, cpu: float) -> None:
        events.append((what, start - t0, time.monotonic() - start, time.process_time() - cpu))

    from tapwell.targets.duckdb import loader

    class Connection:
        """The loader's connection, each statement and the close timed."""

        def __init__(self, con: Any) -> None:
            self._con = con

        def execute(self, sql: str, *a: Any) -> Any:
            start, cpu = time.monotonic(), time.process_time()
            try:
                return self._con.execute(sql, *a)
            finally:
                note(" ".join(sql.split()[:3])[:32], start, cpu)

        def close(self) -> None:
            start, cpu = time.monotonic(), time.process_time()
            self._con.close()
            note("close (checkpoint)", start, cpu)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._con, name)

    connect = loader.connect
    loader.connect = lambda path: Connection(connect(path))  # type: ignore[assignment]
    from tapwell.targets.duckdb.cli import main as target

    imported = time.monotonic() - t0
    with tempfile.TemporaryDirectory() as tmp:
        config: dict[str, Any] = {"path": str(Path(tmp) / "w.duckdb"), "batch_keep_files": True}
        for item in args.set:
            key, _, value = item.partition("=")
            config[key] = json.loads(value)
        cfg = Path(tmp) / "config.json"
        cfg.write_text(json.dumps(config))
        with open(saved / "stream.singer") as stdin, open(Path(tmp) / "out", "w") as out:
            sys.stdin, sys.stdout = stdin, out
            try:
                target(["--config", str(cfg)], standalone_mode=False)
            except SystemExit as exc:  # the target's exit: 0 when it loaded everything
                if exc.code:
                    raise
            finally:
                sys.stdin, sys.stdout = sys.__stdin__, sys.__stdout__
    end, cpu = time.monotonic() - t0, time.process_time() - c0
    if args.each:
        for what, start, wall, c in events:
            if wall > 0.005:
                print(f"{start:7.3f} s  {wall:6.3f} wall {c:6.3f} CPU  {what}")
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for what, _, wall, c in events:
        t = totals[what]
        t[0] += 1
        t[1] += wall
        t[2] += c
    print(f"{args.rows} rows: imports done {imported:.3f} s, end {end:.3f} s, CPU {cpu:.3f} s")
    for what, (n, wall, c) in sorted(totals.items(), key=lambda kv: -kv[1][2])[:12]:
        print(f"  {int(n):3d} x {what:32s} {wall:6.3f} wall {c:6.3f} CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
