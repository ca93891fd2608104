"""`python -m bench.run_timeline [--rows N] [--repeat N] [--python NAME=PYTHON ...] [--cache
cold|warm] [--each]`: where `tapwell run`'s own time goes, phase by phase, on bench.embedded's
`tapwell-run-csv` integration (tap-csv -> target-duckdb through the csv lane, --full-refresh).

Each run is `PYTHON -c WRAPPER --project DIR run bench --full-refresh`: the wrapper imports the
runner's CLI and times, where they are called (nothing else changes), the phases of a run (the
project file, the lock, the history writes, the `--about` probes, the start state, the lane's
preparation, the connectors from the tap's start to the target's end, each state save, the run's
end). Each phase has its wall seconds, the runner's own CPU seconds in it (all its threads) and
the CPU seconds of the children reaped in it (the probes, the tap and the target). The start-up
before the wrapper runs and the tear-down after the CLI returns are measured from the outside;
the whole command's CPU is os.wait4's. `--cache cold` (bench.embedded's case: a fresh project
folder each run, so no cached `--about`) removes `.tapwell/` and the state before each run,
`warm` keeps `.tapwell/` (a project's second run). `--python NAME=PYTHON` (repeatable): runs of
each interpreter (say a base worktree's .venv/bin/python) alternate, and medians are per name.
`--demo`: `make demo`'s run instead (`python -m tapwell.runner.demo` in the worktree of each
PYTHON, PYTHON/../../..), as a first load (warehouse/demo.duckdb and state/demo.json removed)
and as a re-run, in turn; `--rows` and `--cache` then do not apply.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import embedded

# Runs in the measured interpreter: wraps the runner's phases, runs the CLI, writes the events.
WRAPPER = r"""
import json, os, resource, sys, time
T_IN, CPU_IN = time.time(), time.process_time()
EVENTS, DEPTH = [], [0]

def kids():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def timed(owner, attr, label):
    fn = getattr(owner, attr, None)
    if fn is None:
        return
    def wrapper(*a, **k):
        t, c, ch = time.time(), time.process_time(), kids()
        DEPTH[0] += 1
        try:
            return fn(*a, **k)
        finally:
            DEPTH[0] -= 1
            EVENTS.append([label, DEPTH[0], t, time.time(), time.process_time() - c, kids() - ch])
    setattr(owner, attr, wrapper)

def dump():
    with open(os.environ["TIMELINE_OUT"], "w") as f:
        json.dump({"in": T_IN, "cpu_in": CPU_IN, "imported": T_IMPORTED, "cpu_imported": CPU_IMPORTED,
                   "out": time.time(), "cpu_out": time.process_time(), "kids": kids(),
                   "events": EVENTS}, f)

import atexit
atexit.register(dump)
import importlib
from tapwell.runner import cli
T_IMPORTED, CPU_IMPORTED = time.time(), time.process_time()
PHASES = [
    ("tapwell.runner.cli", "_project", "project file (tapwell.yml)"),
    ("tapwell.runner.demo", "load_project", "project file (tapwell.yml)"),
    ("tapwell.runner.demo", "run_integration", "run_integration"),
    ("tapwell.runner.cli", "_warn_growth", "growth warnings (catalog)"),
    ("tapwell.runner.cli", "run_integration", "run_integration"),
    ("tapwell.runner.run", "open_backend", "open state store"),
    ("tapwell.runner.lock.FileLock", "__enter__", "lock taken"),
    ("tapwell.runner.lock.FileLock", "__exit__", "lock released"),
    ("tapwell.runner.run", "mark_lost_runs", "lost runs marked"),
    ("tapwell.runner.statestore.FileStateStore", "save_run", "history write"),
    ("tapwell.runner.statestore.FileStateStore", "put", "state write"),
    ("tapwell.runner.statestore.FileStateStore", "get", "state read"),
    ("tapwell.runner.run", "_ask_ahead", "--about probes (ahead)"),
    ("tapwell.runner.run", "_start_state", "start state"),
    ("tapwell.runner.run", "_broken_state_note", "start state (full refresh)"),
    ("tapwell.runner.run", "run_attempt", "attempt"),
    ("tapwell.runner.fast_lane", "prepare", "fast lane negotiated"),
    ("tapwell.runner.attempt", "tap_command", "tap command (catalog, flag)"),
    ("tapwell.runner.attempt", "start_sources", "tap started"),
    ("tapwell.runner.attempt", "popen", "target started"),
    ("tapwell.runner.attempt", "_read_states", "connectors (tap | target)"),
    ("tapwell.runner.fast_lane", "remove", "spool removed"),
    ("tapwell.runner.run", "_finish", "run recorded, notified"),
    ("tapwell.runner.serve.live.LiveRun", "close", "live log closed"),
    ("tapwell.runner.run", "_prune", "history pruned"),
    ("tapwell.runner.serve.push", "push_after_run", "pushgateway"),
]
for where, attr, label in PHASES:
    parts, owner = where.split("."), None
    for i in range(len(parts), 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            owner = getattr(owner, p, None)
        break
    if owner is not None:
        timed(owner, attr, label)
if os.environ.get("TIMELINE_DEMO"):
    sys.argv = ["tapwell-demo"]
    from tapwell.runner import demo
    timed(demo, "_counts", "demo: rows counted")
    demo.main()
else:
    sys.argv = ["tapwell", *sys.argv[1:]]
    cli.main()
"""


DEMO_FIRST = ("warehouse/demo.duckdb", "warehouse/demo.duckdb.wal", "state/demo.json")


def one_run(python: str, project: Path, cache: str) -> dict:
    """One `tapwell run` (or demo: `cache` is then "first load" or "re-run"), its events and the
    figures measured from the outside."""
    demo = cache in ("first load", "re-run")
    if demo:
        gone = DEMO_FIRST if cache == "first load" else ()
    else:
        gone = ("state", "w.duckdb", "w.duckdb.wal", *((".tapwell",) if cache == "cold" else ()))
    for name in gone:
        path = project / name
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    env = {**os.environ, "TIMELINE_OUT": out, "TIMELINE_DEMO": "1" if demo else ""}
    argv = [python, "-c", WRAPPER, "--project", str(project), "run", "bench", "--full-refresh"]
    t0 = time.time()
    proc = subprocess.Popen(
        argv, env=env, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    t1 = time.time()
    if proc.returncode != 0:
        sys.exit(f"bench.run_timeline: {python} failed: {err.decode()[-600:]}")
    data = json.loads(Path(out).read_text())
    os.unlink(out)
    data.update(t0=t0, t1=t1, cpu_total=usage.ru_utime + usage.ru_stime)
    wrong = [] if demo else embedded.check_duckdb(project / "w.duckdb", ROWS[0])
    if wrong:
        sys.exit(f"bench.run_timeline: wrong load: {wrong}")
    return data


ROWS = [300_000]


def phases(data: dict) -> dict[str, tuple[float, float, float]]:
    """Phase -> (wall, runner CPU, children CPU), calls of one phase added up; and the parts
    measured from the outside."""
    got: dict[str, list[float]] = {}
    got["interpreter start-up"] = [data["in"] - data["t0"], data["cpu_in"], 0.0]
    got["runner imports"] = [
        data["imported"] - data["in"],
        data["cpu_imported"] - data["cpu_in"],
        0.0,
    ]
    for label, _depth, start, end, cpu, kids in data["events"]:
        sums = got.setdefault(label, [0.0, 0.0, 0.0])
        sums[0] += end - start
        sums[1] += cpu
        sums[2] += kids
    runner_cpu = data["cpu_total"] - data["kids"]
    got["exit (atexit, tear-down)"] = [data["t1"] - data["out"], 0.0, 0.0]
    got["WHOLE COMMAND"] = [data["t1"] - data["t0"], runner_cpu, data["kids"]]
    return {k: (v[0], v[1], v[2]) for k, v in got.items()}


def each(data: dict) -> str:
    lines = [f"{'ms from spawn':>13} {'wall ms':>8} {'runner CPU':>10} {'children':>9}  phase"]
    for label, depth, start, end, cpu, kids in sorted(data["events"], key=lambda e: e[2]):
        lines.append(
            f"{(start - data['t0']) * 1000:13.0f} {(end - start) * 1000:8.1f} "
            f"{cpu * 1000:10.1f} {kids * 1000:9.1f}  {'  ' * depth}{label}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run_timeline", description=__doc__)
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--repeat", type=int, default=4)
    p.add_argument("--python", action="append", default=[], metavar="NAME=PYTHON")
    p.add_argument("--cache", choices=("cold", "warm"), default="cold")
    p.add_argument("--each", action="store_true", help="print each run's timeline")
    p.add_argument("--demo", action="store_true", help="time `make demo`'s run instead")
    args = p.parse_args(argv)
    ROWS[0] = args.rows
    pythons = dict(x.split("=", 1) for x in args.python) or {"this": sys.executable}
    base = Path(tempfile.mkdtemp(prefix="run-timeline-"))
    projects, kinds = {}, ["first load", "re-run"] if args.demo else [args.cache]
    if args.demo:
        projects = {n: Path(py).parent.parent.parent for n, py in pythons.items()}
    else:
        embedded.WORK_DIR[0] = base
        tap_cfg, catalog = embedded.tap_files(embedded.data.csv_file(args.rows))
        for name in pythons:
            (base / name).mkdir()
            projects[name] = embedded.run_project(base / name, tap_cfg, catalog)
            if args.cache == "warm":
                one_run(pythons[name], projects[name], "warm")  # fills .tapwell/
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    runs: dict[str, list[dict[str, tuple[float, float, float]]]] = {
        f"{n}, {k}": [] for n in pythons for k in kinds
    }
    for i in range(args.repeat):
        for name, python in pythons.items():
            for kind in kinds:
                data = one_run(python, projects[name], kind)
                runs[f"{name}, {kind}"].append(phases(data))
                if args.each:
                    print(f"--- {name}, {kind}, run {i + 1}\n{each(data)}", flush=True)
    print(f"load average after:  {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    what = "make demo" if args.demo else f"{args.rows:,} rows"
    print(f"{what}, medians of {args.repeat} (seconds)")
    for name, rounds in runs.items():
        print(f"\n{name} ({pythons[name.split(', ')[0]]})")
        print(f"{'phase':<34}{'wall':>8}{'runner CPU':>12}{'children CPU':>14}")
        labels = list(dict.fromkeys(k for r in rounds for k in r))
        for label in labels:
            cols = [
                statistics.median(r.get(label, (0.0, 0.0, 0.0))[i] for r in rounds)
                for i in range(3)
            ]
            print(f"{label:<34}{cols[0]:>8.3f}{cols[1]:>12.3f}{cols[2]:>14.3f}")
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
