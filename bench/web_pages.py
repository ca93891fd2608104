"""Time to first byte and weight of every page of `tapwell serve`'s web page with 1,000 runs in
the history (issue 14's note). Seeds a throwaway project's file store with 1,000 finished runs
(per-stage samples, a 200-line log each), starts `tapwell serve` on it, and reads each page
`--repeat` times with httpx (median of the time to the response headers).

    .venv/bin/python -m bench.web_pages [--runs 1000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from tapwell.runner.history import RunRecord, new_run_id
from tapwell.runner.project import load_project
from tapwell.runner.statestore import open_backend

BIN = Path(sys.executable).parent


def seed(root: Path, runs: int) -> str:
    """A project of three integrations and `runs` finished runs; returns one run's id."""
    tap = {"name": "tap-csv", "config": {"files": []}}
    target = {"name": "target-jsonl", "config": {"destination_path": str(root / "out")}}
    raw = {
        "integrations": {
            "orders": {"tap": tap, "target": target, "schedule": "15 2 * * *"},
            "customers": {"tap": tap, "target": target, "schedule": "*/5 * * * *"},
            "report": {"tap": tap, "target": target, "after": ["orders", "customers"]},
        }
    }
    (root / "tapwell.yml").write_text(yaml.safe_dump(raw))
    store = open_backend(load_project(root / "tapwell.yml"))
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    samples = [
        {
            "t": float(t),
            "rows": {"orders": t * 900},
            "rows_per_s": {"orders": 900.0},
            "tap": {"cpu": 40.0, "rss": 30_000_000},
            "target": {"cpu": 70.0, "rss": 90_000_000},
            "pipe_bytes": 65536,
        }
        for t in range(120)
    ]
    run_id = ""
    for i in range(runs):
        at = start + dt.timedelta(minutes=14 * i)
        name = ("orders", "customers", "report")[i % 3]
        run_id = new_run_id(at)
        failed = i % 17 == 0
        store.save_run(
            RunRecord(
                run_id,
                name,
                at,
                at + dt.timedelta(seconds=120),
                outcome="failed" if failed else "succeeded",
                attempts=1,
                rows={"orders": 108_000},
                error="tap-csv: error: no such file" if failed else None,
                trigger="schedule",
                stages={"summary": {}, "samples": samples},
            )
        )
        store.append_log(run_id, [f"2026-01-01T00:00:00Z [tap-csv] line {n}" for n in range(200)])
    store.close()
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_id = seed(root, args.runs)
        port = 18765
        proc = subprocess.Popen(
            [str(BIN / "tapwell"), "--project", str(root), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            pages = [
                "/",
                "/integrations/orders",
                "/runs",
                "/runs?status=failed",
                f"/runs/{run_id}",
                "/schedule",
                "/static/style.css",
                "/static/log.js",
            ]
            print(f"{args.runs} runs in the history; median of {args.repeat} reads")
            print(f"{'page':32} {'bytes':>8} {'gzip':>7} {'TTFB ms':>8}")
            with httpx.Client(base_url=url, timeout=60) as client:
                for page in pages:
                    times, size, gz = [], 0, 0
                    for _ in range(args.repeat):
                        t0 = time.perf_counter()
                        with client.stream("GET", page) as response:
                            times.append(time.perf_counter() - t0)
                            body = response.read()
                            assert response.status_code == 200, (page, response.status_code)
                            size = len(body)
                    gz = len(gzip.compress(body))
                    print(
                        f"{page[:32]:32} {size:8,} {gz:7,} {statistics.median(times) * 1000:8.1f}"
                    )
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
