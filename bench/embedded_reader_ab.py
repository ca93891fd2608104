"""`python -m bench.embedded_reader_ab --rows N --rounds R --python NAME=path/to/python ...`:
target-duckdb on the embedded series' saved Singer stream, in one process per run, several
installs interleaved (A B A B ...), reporting the reader thread's own CPU seconds beside the
process's: what the reader (the loop, its blocks, the Arrow tables built before each load
behind) costs, apart from DuckDB's statements in the other threads.

Each run: `python -c` in the install's venv loads the stream into a fresh file (the bench's
settings, `--set KEY=JSON` adds one) and prints the main thread's CPU (RUSAGE_THREAD at the end
of the run), the process's CPU and wall seconds, and the peak RSS; rows are checked by count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from bench import embedded_data as data

RUN = r"""
import json, resource, sys, time
from pathlib import Path
import duckdb
from tapwell.targets.duckdb.cli import main as target

class Text:
    def __init__(self, f): self.buffer = f
    def __getattr__(self, n): return getattr(self.buffer, n)

singer, d, settings = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
cfg = d / "config.json"
cfg.write_text(json.dumps({"path": str(d / "w.duckdb"), **settings}))
t0 = time.monotonic()
with open(singer, "rb") as stdin, open(d / "out", "wb") as out:
    sys.stdin, sys.stdout = Text(stdin), Text(out)
    try:
        target(["--config", str(cfg)], standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
    finally:
        sys.stdin, sys.stdout = sys.__stdin__, sys.__stdout__
wall = time.monotonic() - t0
me = resource.getrusage(resource.RUSAGE_THREAD)
every = resource.getrusage(resource.RUSAGE_SELF)
rows = duckdb.connect(str(d / "w.duckdb")).execute("SELECT count(*) FROM orders").fetchone()[0]
print(json.dumps({"reader": me.ru_utime + me.ru_stime, "cpu": every.ru_utime + every.ru_stime,
                  "wall": wall, "rss": every.ru_maxrss / 1024, "rows": rows}))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedded_reader_ab")
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--python", action="append", required=True, help="NAME=path/to/python")
    p.add_argument("--set", action="append", default=[], help="a target setting, KEY=JSON")
    args = p.parse_args(argv)
    singer = data.singer_file(args.rows)
    settings = {k: json.loads(v) for k, _, v in (s.partition("=") for s in args.set)}
    pythons = [tuple(x.split("=", 1)) for x in args.python]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in pythons}
    load = os.getloadavg()[0]
    for r in range(args.rounds):
        order = pythons if r % 2 == 0 else pythons[::-1]
        for name, python in order:
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run(
                    [python, "-c", RUN, str(singer), tmp, json.dumps(settings)],
                    capture_output=True,
                    check=True,
                    cwd=tmp,
                )
            got = json.loads(out.stdout.decode().strip().splitlines()[-1])
            if got["rows"] != args.rows:
                raise SystemExit(f"{name}: {got['rows']} rows loaded, {args.rows} expected")
            runs[name].append(got)
            print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in got.items()))
    print(
        f"{singer.name}: rounds {args.rounds}, load {load:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    for name, got in runs.items():
        parts = []
        for key in ("reader", "cpu", "wall", "rss"):
            values = [g[key] for g in got]
            parts.append(f"{key} median {statistics.median(values):.2f} min {min(values):.2f}")
        print(f"{name}: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
