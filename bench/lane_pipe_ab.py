"""The csv lane end to end, two builds interleaved (A/B): tap-csv with a csv `batch_config` (the
bench.embedded `tap-csv-batch|target-duckdb` settings: 100,000-row files, max_pending_files 2,
durable false) piped into target-duckdb, A's tap into A's target, then B's into B's (then B, A:
the order alternates), each into a fresh DuckDB file. Figures per run: the CPU s (user + sys,
os.wait4) of the tap and of the target, the pipeline's wall, and the target's tail (how long it
ran after the tap had exited: its last file's load, commit and close). Each load is checked
against the first one row by row, the _sdc_ columns aside (each run's own version and times).
`--env-b KEY=VALUE` adds to build B's environment: an experiment's switch A/B in one build;
`--batch-size-b N` gives build B's tap files of N rows (`--batch-size`, both: 100,000),
`--max-pending-b N` its tap N files pending (A: 2).

    python -m bench.lane_pipe_ab --rows 1000000 --pairs 4 \
        --a /work/wt-x-base/.venv/bin --b .venv/bin
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
BATCH_SIZE = 100_000  # rows per file, as `tapwell run`'s lane (fast_lane_batch_size)
MAX_PENDING = 2  # files the tap waits for, as `tapwell run`'s lane


def configs(
    rows: int,
    d: Path,
    bin_dir: str,
    extra: dict[str, Any],
    batch_size: int = BATCH_SIZE,
    pending: int = MAX_PENDING,
) -> tuple[Path, Path, Path]:
    """The tap's config (with the lane: files of `batch_size` rows, `pending` of them waited
    for), its catalog (discovered by this build) and the target's config, in a fresh d."""
    shutil.rmtree(d, ignore_errors=True)
    (d / "spool").mkdir(parents=True)
    stream = {
        "name": data.STREAM,
        "path": str(data.csv_file(rows)),
        "key_properties": ["id"],
        "null_values": [data.NULL],
        "column_types": data.CSV_TYPES,
    }
    lane = {
        "encoding": {"format": "csv", "compression": "none"},
        "storage": {"root": f"file://{d / 'spool'}"},
        "batch_size": batch_size,
        "max_pending_files": pending,
        "durable": False,
    }
    tap = d / "tap.json"
    tap.write_text(json.dumps({"streams": [stream], "batch_config": lane}))
    catalog = d / "catalog.json"
    with catalog.open("wb") as out:
        cmd = [f"{bin_dir}/tap-csv", "--config", str(tap), "--discover"]
        subprocess.run(cmd, stdout=out, check=True)
    target = d / "target.json"
    target.write_text(
        json.dumps({"path": str(d / "w.duckdb"), "batch_root": str(d / "spool"), **extra})
    )
    return tap, catalog, target


def run(
    rows: int,
    d: Path,
    bin_dir: str,
    extra: dict[str, Any],
    env: dict[str, str] | None = None,
    batch_size: int = BATCH_SIZE,
    pending: int = MAX_PENDING,
) -> dict[str, float]:
    """One tap-csv | target-duckdb of build `bin_dir` (with `env` added to both processes'
    environment, files of `batch_size` rows): CPU s of each, wall, the target's tail."""
    env = {**os.environ, **env} if env else None
    tap_cfg, catalog, target_cfg = configs(rows, d, bin_dir, extra, batch_size, pending)
    start = time.perf_counter()
    with (d / "tap.err").open("wb") as tap_err, (d / "target.err").open("wb") as target_err:
        tap = subprocess.Popen(
            [f"{bin_dir}/tap-csv", "--config", str(tap_cfg), "--catalog", str(catalog)],
            stdout=subprocess.PIPE,
            stderr=tap_err,
            env=env,
        )
        with (d / "state.jsonl").open("wb") as out:
            target = subprocess.Popen(
                [f"{bin_dir}/target-duckdb", "--config", str(target_cfg)],
                stdin=tap.stdout,
                stdout=out,
                stderr=target_err,
                env=env,
            )
        assert tap.stdout is not None
        tap.stdout.close()
        _, tap_status, tap_usage = os.wait4(tap.pid, 0)
        tap_end = time.perf_counter()
        _, target_status, target_usage = os.wait4(target.pid, 0)
        end = time.perf_counter()
    for name, status in (("tap-csv", tap_status), ("target-duckdb", target_status)):
        if os.waitstatus_to_exitcode(status) != 0:
            log = (d / ("tap.err" if name == "tap-csv" else "target.err")).read_text()
            raise SystemExit(f"{bin_dir}/{name} failed: {log[-500:]}")
    return {
        "tap": tap_usage.ru_utime + tap_usage.ru_stime,
        "target": target_usage.ru_utime + target_usage.ru_stime,
        "wall": end - start,
        "tail": end - tap_end,
        "rss": target_usage.ru_maxrss / 1024,
    }


DIGEST = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
cols = [r[0] for r in con.execute("DESCRIBE orders").fetchall() if not r[0].startswith("_sdc_")]
row = "(" + ", ".join(f'"{c}"' for c in cols) + ")"
n, h = con.execute(
    f"SELECT count(*), md5(string_agg(CAST({row} AS VARCHAR), '|' ORDER BY id)) FROM orders"
).fetchone()
print(f"{n} rows, {h}")
"""


def digest(d: Path) -> str:
    """Every row of the loaded table as text but the _sdc_ columns (each run's own version and
    times), hashed in key order, in a process of its own (bench.lane_ab.digest)."""
    done = subprocess.run(
        [sys.executable, "-c", DIGEST, str(d / "w.duckdb")], capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lane_pipe_ab", description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--work-dir", type=Path, default=HERE / "data" / "lane_pipe_ab")
    p.add_argument("--a", default=str(BIN), help="build A's bin folder (tap-csv, target-duckdb)")
    p.add_argument("--b", default=str(BIN), help="build B's bin folder")
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--config", default="{}", help="extra target settings (JSON)")
    p.add_argument(
        "--config-b",
        default="{}",
        help="extra target settings of build B only (JSON), over --config",
    )
    p.add_argument(
        "--env-b", action="append", default=[], help="KEY=VALUE in build B's environment"
    )
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per BATCH file")
    p.add_argument("--batch-size-b", type=int, help="rows per BATCH file of build B only")
    p.add_argument("--max-pending-b", type=int, help="build B's max_pending_files (A: 2)")
    args = p.parse_args(argv)
    env_b = dict(item.split("=", 1) for item in args.env_b)
    extra = json.loads(args.config)
    extra_b = {**extra, **json.loads(args.config_b)}
    figures: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    before = os.getloadavg()[0]
    first = ""
    for i in range(args.pairs):
        for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
            d = args.work_dir / f"run-{name}"
            build = args.a if name == "A" else args.b
            f = run(
                args.rows,
                d,
                build,
                extra_b if name == "B" else extra,
                env_b if name == "B" else None,
                (args.batch_size_b or args.batch_size) if name == "B" else args.batch_size,
                (args.max_pending_b or MAX_PENDING) if name == "B" else MAX_PENDING,
            )
            figures[name].append(f)
            got = digest(d)
            first = first or got
            ok = "ok" if got == first else f"DIFFERS: {got} against {first}"
            print(
                f"pair {i + 1} {name}: cpu tap {f['tap']:.3f} + target {f['target']:.3f} = "
                f"{f['tap'] + f['target']:.3f} s, wall {f['wall']:.2f} s, tail {f['tail']:.2f} s, "
                f"rss {f['rss']:.0f} MB, load {os.getloadavg()[0]:.1f}, {ok}",
                flush=True,
            )
            if got != first:
                return 1
    for name in ("A", "B"):
        fs = figures[name]
        print(
            f"{name}: cpu median (range) tap {summary([f['tap'] for f in fs])}, target "
            f"{summary([f['target'] for f in fs])}, both {summary([f['tap'] + f['target'] for f in fs])}; "
            f"wall {summary([f['wall'] for f in fs])}, tail {summary([f['tail'] for f in fs])}"
        )
    print(f"load {before:.1f} before, {os.getloadavg()[0]:.1f} after; {first}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
