"""`python -m bench.demo`: the time of `make demo`'s load, the figure the README quotes.

Runs `python -m tapwell.runner.demo` in a project (default: this checkout) REPEATS times as a
first load (warehouse/demo.duckdb and state/demo.json removed before) and REPEATS times as a
re-run, interleaved, and prints per kind the median of: the demo's own "finished in" (the run,
from the lock to its state saved), the wall time of the whole command, and the CPU (user + sys)
of the command and its children. Beside them, in the same run, two anchors of what any such run
pays: `python -c pass` and `python -c "import duckdb, pyarrow"` (median wall). The machine is
shared, so the load average is printed before and after and the anchors give the ratios.

`--project NAME=DIR` (repeatable) measures other checkouts in the same run, interleaved (say a
baseline worktree); `--python NAME=PYTHON` runs that one with its own interpreter (the
worktree's .venv/bin/python, whose editable install imports that worktree's code);
`--pythonpath NAME=PATH` runs that one with PYTHONPATH=PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FINISHED = re.compile(rb"finished in ([0-9.]+)s")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, bytes]:
    cpu, start = _cpu(), time.monotonic()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    wall, used = time.monotonic() - start, _cpu() - cpu
    if done.returncode != 0:
        sys.exit(f"bench.demo: {' '.join(argv)} failed in {cwd}: {done.stderr.decode()[-400:]}")
    return wall, used, done.stdout


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.demo", description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--project", action="append", default=[], metavar="NAME=DIR")
    p.add_argument("--python", action="append", default=[], metavar="NAME=PYTHON")
    p.add_argument("--pythonpath", action="append", default=[], metavar="NAME=PATH")
    args = p.parse_args(argv)
    projects = dict(x.split("=", 1) for x in args.project) or {"this": str(HERE.parent)}
    paths = dict(x.split("=", 1) for x in args.pythonpath)
    pythons = dict(x.split("=", 1) for x in args.python)
    python = sys.executable
    results: dict[str, list[tuple[float, float, float]]] = {}
    anchors: dict[str, list[float]] = {"python -c pass": [], "import duckdb, pyarrow": []}
    print(f"load average before: {_load()}", flush=True)
    for _ in range(args.repeats):
        for name, where in projects.items():
            root = Path(where)
            env = dict(os.environ)
            if name in paths:
                env["PYTHONPATH"] = paths[name]
            for kind in ("first load", "re-run"):
                if kind == "first load":
                    for f in (
                        "warehouse/demo.duckdb",
                        "warehouse/demo.duckdb.wal",
                        "state/demo.json",
                    ):
                        (root / f).unlink(missing_ok=True)
                demo = [pythons.get(name, python), "-m", "tapwell.runner.demo"]
                wall, cpu, out = _timed(demo, root, env)
                found = FINISHED.search(out)
                finished = float(found.group(1)) if found else float("nan")
                results.setdefault(f"{name} {kind}", []).append((finished, wall, cpu))
        anchors["python -c pass"].append(_timed([python, "-c", "pass"], HERE, dict(os.environ))[0])
        anchors["import duckdb, pyarrow"].append(
            _timed([python, "-c", "import duckdb, pyarrow"], HERE, dict(os.environ))[0]
        )
    print(f"load average after:  {_load()}")
    print(f"{'median of ' + str(args.repeats):<24}{'finished in':>12}{'wall':>8}{'CPU':>8}")
    for key, rows in results.items():
        cols = [statistics.median(r[i] for r in rows) for i in range(3)]
        print(f"{key:<24}{cols[0]:>11.2f}s{cols[1]:>7.2f}s{cols[2]:>7.2f}s")
    for key, walls in anchors.items():
        print(f"anchor {key:<17}{'':>12}{statistics.median(walls):>7.2f}s")


if __name__ == "__main__":
    main()
