"""`python -m bench.embedded_ab`: target-duckdb alone on the embedded series' saved Singer stream
(bench/embedded_data.py), two or more installs interleaved (A B A B ...), so the machine's load
weighs on each alike.

    .venv/bin/python -m bench.embedded_ab --rows 300000 --rounds 5 \\
        --target base=/work/wt-rawcpu-base/.venv/bin/target-duckdb --target new=.venv/bin/target-duckdb

Each run loads into a fresh file with the bench's settings (`--set KEY=JSON` adds one) and is
checked exactly as bench.embedded checks it (row count, sum of amount, NULL and '' notes, the
latest instant). `--set-for NAME:KEY=JSON` gives one target a setting of its own, so one binary
named twice compares two settings. `--without amount,payload` loads the same stream without those properties
(written once beside it; then the row count and the notes are checked): a stream with no
number and no JSON document column, which the raw lane takes without looking for long digit
runs (raw.Plan.digits). `--plain amount` loads it with those properties' multipleOf and
maximum taken out (a plain number, as a singer-sdk tap sends a NUMERIC: a DOUBLE column,
plainnumber.py; then the row count and the notes are checked). Reported per target: every run's CPU s (user + sys of the target process and
its children, os.wait4), the median and best, every run's wall s and their median, the peak RSS, and the load
average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tapwell.singer.wire import dumps, loads

from bench import embedded_data as data
from bench.embedded import check_duckdb


def without(singer: Path, props: list[str]) -> Path:
    """The stream `singer` with `props` taken out of its SCHEMA and every record (written once)."""
    path = singer.with_name(f"{singer.stem}-without-{'-'.join(props)}.singer")
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with singer.open("rb") as src, tmp.open("wb") as out:
        for line in src:
            msg = loads(line)
            if msg["type"] == "SCHEMA":
                kept = msg["schema"]["properties"]
                msg["schema"]["properties"] = {k: v for k, v in kept.items() if k not in props}
            elif msg["type"] == "RECORD":
                msg["record"] = {k: v for k, v in msg["record"].items() if k not in props}
            out.write(dumps(msg) + b"\n")
    tmp.rename(path)
    return path


def plain(singer: Path, props: list[str]) -> Path:
    """The stream `singer` with `props` plain numbers in its SCHEMA (written once)."""
    path = singer.with_name(f"{singer.stem}-plain-{'-'.join(props)}.singer")
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with singer.open("rb") as src, tmp.open("wb") as out:
        for line in src:
            if b'"SCHEMA"' in line[:40]:
                msg = loads(line)
                for k in props:
                    msg["schema"]["properties"][k] = {"type": ["null", "number"]}
                line = dumps(msg) + b"\n"
            out.write(line)
    tmp.rename(path)
    return path


def check(path: Path, rows: int, whole: bool) -> list[str]:
    """bench.embedded's check, or (a stream `without` some properties) rows and notes only."""
    if whole:
        return check_duckdb(path, rows)
    import duckdb

    want = data.expected(rows)
    con = duckdb.connect(str(path), read_only=True)
    try:
        got = con.execute(
            "SELECT count(*), count(DISTINCT id), count(*) FILTER (note IS NULL), "
            "count(*) FILTER (note = '') FROM orders"
        ).fetchone()
    finally:
        con.close()
    expect = (rows, rows, want.null_notes, want.empty_notes)
    return [] if got == expect else [f"rows, ids, NULL and '' notes {got} != {expect}"]


def run_once(
    binary: str, singer: Path, rows: int, settings: dict[str, object], whole: bool
) -> tuple[float, float, float]:
    """(CPU s, wall s, peak RSS MB) of one load, after checking it."""
    with tempfile.TemporaryDirectory(prefix="embedded-ab-") as tmp:
        d = Path(tmp)
        cfg = d / "config.json"
        cfg.write_text(json.dumps({"path": str(d / "w.duckdb"), **settings}))
        start = time.monotonic()
        with singer.open("rb") as src, open(os.devnull, "wb") as out:
            proc = subprocess.Popen([binary, "--config", str(cfg)], stdin=src, stdout=out)
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"{binary} exited {code}")
        wrong = check(d / "w.duckdb", rows, whole)
        if wrong:
            raise SystemExit(f"{binary}: WRONG load: {wrong}")
        return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedded_ab")
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--target", action="append", required=True, help="NAME=path/to/target-duckdb")
    p.add_argument("--set", action="append", default=[], help="a target setting, KEY=JSON")
    p.add_argument(
        "--set-for",
        action="append",
        default=[],
        help="a setting of one target, NAME:KEY=JSON (a target may be named twice with one binary)",
    )
    p.add_argument("--without", default="", help="properties to take out, a,b")
    p.add_argument("--plain", default="", help="properties made plain numbers, a,b")
    args = p.parse_args(argv)
    singer = data.singer_file(args.rows)
    dropped = [x for x in args.without.split(",") if x]
    if dropped:
        singer = without(singer, dropped)
    plains = [x for x in args.plain.split(",") if x]
    if plains:
        singer = plain(singer, plains)
        dropped += plains  # checked as a stream `without` them (rows and notes)
    settings = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    own: dict[str, dict[str, object]] = {}
    for item in args.set_for:
        name, _, setting = item.partition(":")
        key, _, value = setting.partition("=")
        own.setdefault(name, {})[key] = json.loads(value)
    targets = [t.split("=", 1) for t in args.target]
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in targets}
    before = os.getloadavg()
    for r in range(args.rounds):
        for name, binary in targets if r % 2 == 0 else reversed(targets):
            mine = settings | own.get(name, {})
            runs[name].append(run_once(binary, singer, args.rows, mine, not dropped))
            cpu, wall, rss = runs[name][-1]
            print(
                f"round {r + 1} {name}: {cpu:.2f} CPU s, {wall:.2f} s wall, {rss:.0f} MB",
                file=sys.stderr,
            )
    after = os.getloadavg()
    print(
        f"{singer.name}: rows {args.rows}, rounds {args.rounds}, "
        f"load {before[0]:.1f} before, {after[0]:.1f} after"
    )
    for name, got in runs.items():
        cpu = [c for c, _, _ in got]
        print(
            f"{name}: CPU median {statistics.median(cpu):.2f} best {min(cpu):.2f} "
            f"[{' '.join(f'{c:.2f}' for c in cpu)}], wall median "
            f"{statistics.median(w for _, w, _ in got):.2f} "
            f"[{' '.join(f'{w:.2f}' for _, w, _ in got)}], peak RSS "
            f"{max(m for _, _, m in got):.0f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
