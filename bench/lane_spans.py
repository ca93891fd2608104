"""Where `tapwell run`'s wall goes beside the bare pipe it runs, process by process: bench.embedded's
`tapwell-run-csv` (tap-csv -> target-duckdb through the csv lane, --full-refresh) under
`strace --seccomp-bpf -f -e trace=execve,exit_group` (the traced process stops at those two
calls only), and bench.embedded's `tap-csv-batch|target-duckdb` (the same tap and target configs,
started by this harness), interleaved, for each build given.

    python -m bench.lane_spans --rows 300000 --rounds 4 \
        --bin base=/work/wt-x-base/.venv/bin --bin new=.venv/bin

Per `tapwell run`, from the runner's exec: when the tap and the target were exec'd (after
setpriv's exec), when each called exit_group, when the runner called it and when this harness
reaped it; so `before the tap` (the runner's start-up, imports and work), `connectors` (the
tap's exec to the target's exit) and `after the target` (the reaping, the run's records, the
interpreter's tear-down and the kernel's) add up to the whole. Per bare pipe: the wall from the
harness's first spawn to the last reaping, and the tap's exec to the target's exit (strace too,
so both carry the same tracing). CPU s: os.wait4's of the whole command (the runner and every
child it reaped), and of the runner alone (the whole less its children's, which strace reports
at each wait4). Every load is checked exactly (bench.embedded.check_duckdb: rows, the sum of
amount, NULL and '' notes, the latest instant).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import embedded
from bench import embedded_data as data

TRACE = ["strace", "--seccomp-bpf", "-f", "-qq", "-ttt", "-e", "trace=execve,exit_group,wait4"]
_LINE = re.compile(r"^(\d+) +(\d+\.\d+) (.*)$")
_EXEC = re.compile(r'^execve\("([^"]+)"')
_RUSAGE = re.compile(
    r"ru_utime=\{tv_sec=(\d+), tv_usec=(\d+)\}, ru_stime=\{tv_sec=(\d+), tv_usec=(\d+)\}"
)


def spans(trace: Path, t0: float, t1: float) -> dict[str, float]:
    """The moments (seconds after t0, the harness's spawn) read from strace's output: `runner`
    (the first exec), `tap`/`target` exec (the connector's own exec, not setpriv's), their
    exit_group, the runner's exit_group, and `reaped` (t1)."""
    found: dict[str, float] = {}
    roles: dict[str, str] = {}
    first = None
    for line in trace.read_text().splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        pid, when, call = m.group(1), float(m.group(2)) - t0, m.group(3)
        first = first or pid
        exe = _EXEC.match(call)
        if exe is not None and "= -1 " not in call:  # a PATH search's misses fail
            name = os.path.basename(exe.group(1))
            role = (
                "runner"
                if pid == first
                else "tap"
                if name.startswith("tap-")
                else "target"
                if name.startswith("target-")
                else None
            )
            if role is None:
                continue
            if role == "runner" and "runner exec" in found:
                continue
            if f"{role} exec" in found:  # an --about probe came first: the run's is the last
                found["probes"] = found.get("probes", 0) + 1
            found[f"{role} exec"] = when
            roles = {p: r for p, r in roles.items() if r != role}
            roles[pid] = role
        elif call.startswith("exit_group(") and pid in roles:
            found[f"{roles[pid]} exit"] = when
        elif (ru := _RUSAGE.search(call)) is not None and " = 0" not in call[-6:]:
            # a child reaped (of the runner, or of the shell): its CPU, and its children's
            us, uu, ss, su = (int(x) for x in ru.groups())
            found["children cpu"] = found.get("children cpu", 0.0) + us + ss + (uu + su) / 1e6
    found["reaped"] = t1 - t0
    return found


def traced(argv: list[str], trace: Path, cwd: Path | None = None) -> tuple[float, float, float]:
    """Run argv under strace: (spawn time, reap time, CPU s of the whole command)."""
    t0 = time.time()
    proc = subprocess.Popen(
        [*TRACE, "-o", str(trace), *argv],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    t1 = time.time()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench.lane_spans: {argv[0]} failed: {err.decode()[-600:]}")
    return t0, t1, usage.ru_utime + usage.ru_stime


def one_run(bin_dir: Path, project: Path, trace: Path) -> dict[str, float]:
    for name in ("state", "w.duckdb", "w.duckdb.wal"):
        path = project / name
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    argv = [str(bin_dir / "tapwell"), "--project", str(project), "run", "bench", "--full-refresh"]
    t0, t1, cpu = traced(argv, trace, project)
    s = spans(trace, t0, t1)
    wrong = embedded.check_duckdb(project / "w.duckdb", ROWS[0])
    if wrong:
        sys.exit(f"bench.lane_spans: wrong load from {bin_dir}: {wrong}")
    return {
        "wall": s["reaped"],
        "before the tap": s["tap exec"] - s["runner exec"],
        "connectors": s["target exit"] - min(s["tap exec"], s["target exec"]),
        "target exec after tap": s["target exec"] - s["tap exec"],
        "after the target": s["reaped"] - s["target exit"],
        "  of which runner exit": s["runner exit"] - s["target exit"],
        "cpu": cpu,
        "runner cpu": cpu - s.get("children cpu", 0.0),
        "probes": s.get("probes", 0),
    }


def one_bare(bin_dir: Path, d: Path, trace: Path) -> dict[str, float]:
    """tap-csv | target-duckdb, spawned by a shell under strace (the shell's own start is
    before the tap's exec and after the target's exit: left out of `connectors`)."""
    for name in ("w.duckdb", "w.duckdb.wal"):
        (d / name).unlink(missing_ok=True)
    tap = f"{bin_dir}/tap-csv --config {d}/tap.json --catalog {d}/catalog.json"
    target = f"{bin_dir}/target-duckdb --config {d}/target.json"
    t0, t1, cpu = traced(["sh", "-c", f"{tap} | {target} > /dev/null"], trace, d)
    s = spans(trace, t0, t1)
    wrong = embedded.check_duckdb(d / "w.duckdb", ROWS[0])
    if wrong:
        sys.exit(f"bench.lane_spans: wrong bare load from {bin_dir}: {wrong}")
    return {
        "wall": s["reaped"],
        "connectors": s["target exit"] - min(s["tap exec"], s["target exec"]),
        "cpu": cpu,
    }


ROWS = [300_000]


def bare_dir(d: Path, tap_cfg: Path, catalog: Path) -> Path:
    """The bare pipe's configs: the tap's with the lane `tapwell run` negotiates
    (tapwell.runner.fast_lane.prepare), the target's with its spool and the same state_id."""
    (d / "spool").mkdir(parents=True, exist_ok=True)
    lane = {
        "encoding": {"format": "csv", "compression": "none"},
        "storage": {"root": f"file://{d / 'spool'}", "prefix": ""},
        "batch_size": 100_000,
        "max_pending_files": 2,
        "durable": False,
    }
    tap = json.loads(tap_cfg.read_text())
    (d / "tap.json").write_text(json.dumps({**tap, "batch_config": lane}))
    (d / "catalog.json").write_bytes(catalog.read_bytes())
    target = {"path": str(d / "w.duckdb"), "batch_root": str(d / "spool"), "state_id": "bench"}
    (d / "target.json").write_text(json.dumps(target))
    return d


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lane_spans", description=__doc__)
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--bin", action="append", default=[], metavar="NAME=BIN_DIR")
    p.add_argument("--no-bare", action="store_true", help="leave the bare pipe out")
    p.add_argument("--each", action="store_true", help="print every run's figures")
    args = p.parse_args(argv)
    if shutil.which("strace") is None:
        sys.exit("bench.lane_spans: needs strace (apt-get install strace)")
    ROWS[0] = args.rows
    bins = {n: Path(b).absolute() for n, b in (x.split("=", 1) for x in args.bin)} or {
        "this": Path(sys.executable).parent
    }
    base = Path(tempfile.mkdtemp(prefix="lane-spans-"))
    embedded.WORK_DIR[0] = base
    tap_cfg, catalog = embedded.tap_files(data.csv_file(args.rows))
    projects = {}
    for name in bins:
        (base / name).mkdir()
        projects[name] = embedded.run_project(base / name, tap_cfg, catalog)
    bare = bare_dir(base / "bare", tap_cfg, catalog)
    trace = base / "trace.txt"
    kinds = [*(f"run {n}" for n in bins), *([] if args.no_bare else ["bare pipe"])]
    got: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    for i in range(args.rounds):
        order = kinds if i % 2 == 0 else kinds[::-1]
        for kind in order:
            if kind == "bare pipe":
                figures = one_bare(next(iter(bins.values())), bare, trace)
            else:
                name = kind.split(" ", 1)[1]
                figures = one_run(bins[name], projects[name], trace)
            got[kind].append(figures)
            if args.each:
                shown = " ".join(f"{k.strip()}={v:.3f}" for k, v in figures.items())
                print(f"{i + 1} {kind}: {shown}", flush=True)
    print(f"load average after:  {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{args.rows:,} rows, {args.rounds} rounds: median (min) seconds")
    for kind, runs in got.items():
        print(f"\n{kind}" + (f" ({bins[kind[4:]]})" if kind.startswith("run ") else ""))
        for label in runs[0]:
            values = [r[label] for r in runs]
            print(f"  {label:<26}{statistics.median(values):8.3f} ({min(values):.3f})")
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
