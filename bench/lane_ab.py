"""target-duckdb alone on a saved csv BATCH stream, two builds interleaved (A/B): tap-csv's BATCH
messages and their files are saved once (`--prepare`), then each round replays them into a fresh
DuckDB file with target A, then B (then B, A: the order alternates), the files kept
(`batch_keep_files`). Figures: the target process's CPU s (user + sys, os.wait4) and peak RSS;
wall only as a side note. Each load is checked against the first one: the same rows, every
column compared as text (so two builds that load different values fail the bench).

    python -m bench.lane_ab --rows 1000000 --prepare
    python -m bench.lane_ab --rows 1000000 --pairs 6 \
        --a /work/wt-x-base/.venv/bin/target-duckdb --b .venv/bin/target-duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import embedded_data as data

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def prepare(rows: int, work: Path) -> Path:
    """tap-csv's csv BATCH stream of the bench's orders (rows), saved in work/saved-<rows>."""
    saved = work / f"saved-{rows}"
    shutil.rmtree(saved, ignore_errors=True)
    (saved / "spool").mkdir(parents=True)
    source = data.csv_file(rows)
    config = {
        "streams": [
            {
                "name": data.STREAM,
                "path": str(source),
                "key_properties": ["id"],
                "null_values": [data.NULL],
                "column_types": data.CSV_TYPES,
            }
        ],
        "batch_config": {
            "encoding": {"format": "csv", "compression": "none"},
            "storage": {"root": f"file://{saved / 'spool'}"},
            "batch_size": 100_000,
            "max_pending_files": 1_000,  # every file written: nobody consumes them here
            "durable": False,
        },
    }
    (saved / "tap.json").write_text(json.dumps(config))
    catalog = saved / "catalog.json"
    with catalog.open("wb") as out:
        subprocess.run(
            [str(BIN / "tap-csv"), "--config", str(saved / "tap.json"), "--discover"],
            stdout=out,
            check=True,
        )
    with (saved / "stream.singer").open("wb") as out:
        done = subprocess.run(
            [str(BIN / "tap-csv"), "--config", str(saved / "tap.json"), "--catalog", str(catalog)],
            stdout=out,
            stderr=subprocess.PIPE,  # its METRIC lines are no figure of the bench's
        )
    if done.returncode != 0:
        raise SystemExit(f"tap-csv failed: {done.stderr.decode(errors='replace')[-500:]}")
    return saved


def replay(target: str, saved: Path, d: Path, extra: dict[str, Any]) -> dict[str, float]:
    """One load of the saved stream by `target` into a fresh file in d: its CPU s, RSS, wall."""
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    config = {
        "path": str(d / "w.duckdb"),
        "batch_root": str(saved / "spool"),
        "batch_keep_files": True,
        **extra,
    }
    (d / "config.json").write_text(json.dumps(config))
    start = time.perf_counter()
    with (
        (saved / "stream.singer").open("rb") as stdin,
        (d / "state.jsonl").open("wb") as out,
        (d / "stderr.log").open("wb") as err,
    ):
        proc = subprocess.Popen(
            [target, "--config", str(d / "config.json")], stdin=stdin, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{target} failed: {(d / 'stderr.log').read_text()[-500:]}")
    return {
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
        "wall": wall,
    }


DIGEST = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
n, h = con.execute(
    "SELECT count(*), md5(string_agg(CAST(o AS VARCHAR), '|' ORDER BY id)) FROM orders AS o"
).fetchone()
print(f"{n} rows, {h}")
"""


def digest(d: Path) -> str:
    """Every row of the loaded table as text, hashed in key order (DuckDB's md5 of the text),
    in a process of its own: a child's peak RSS starts from its parent's (Linux keeps it
    across exec), so the harness itself stays small."""
    done = subprocess.run(
        [sys.executable, "-c", DIGEST, str(d / "w.duckdb")], capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lane_ab", description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--work-dir", type=Path, default=HERE / "data" / "lane_ab")
    p.add_argument("--prepare", action="store_true", help="save the tap's stream first")
    p.add_argument("--a", default=str(BIN / "target-duckdb"))
    p.add_argument("--b", default=str(BIN / "target-duckdb"))
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--config", default="{}", help="extra target settings (JSON)")
    args = p.parse_args(argv)
    saved = args.work_dir / f"saved-{args.rows}"
    if args.prepare or not (saved / "stream.singer").exists():
        prepare(args.rows, args.work_dir)
    extra = json.loads(args.config)
    figures: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    before = os.getloadavg()[0]
    first = ""
    for i in range(args.pairs):
        order = ("A", "B") if i % 2 == 0 else ("B", "A")
        for name in order:
            d = args.work_dir / f"run-{name}"
            f = replay(args.a if name == "A" else args.b, saved, d, extra)
            figures[name].append(f)
            got = digest(d)
            first = first or got
            ok = "ok" if got == first else f"DIFFERS: {got} against {first}"
            print(
                f"pair {i + 1} {name}: cpu {f['cpu']:.3f} s, rss {f['rss']:.0f} MB, "
                f"wall {f['wall']:.2f} s, load {os.getloadavg()[0]:.1f}, {ok}",
                flush=True,
            )
            if got != first:
                return 1
    for name in ("A", "B"):
        cpu = [f["cpu"] for f in figures[name]]
        wall = [f["wall"] for f in figures[name]]
        rss = [f["rss"] for f in figures[name]]
        print(
            f"{name}: cpu median {statistics.median(cpu):.3f} s ({min(cpu):.3f}-{max(cpu):.3f}), "
            f"wall median {statistics.median(wall):.2f} s, rss {min(rss):.0f}-{max(rss):.0f} MB"
        )
    print(f"load {before:.1f} before, {os.getloadavg()[0]:.1f} after; {first}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
