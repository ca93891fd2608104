"""Time to first byte and weight of every page of `tapwell serve`'s web page with 1,000 runs in
the history (issue 14's note). Seeds a throwaway project's file store with 1,000 finished runs
(per-stage samples, a 200-line log each), starts `tapwell serve` on it, and reads each page
`--repeat` times with httpx (median of the time to the response headers). The anchors, read in
the same run: `/healthz` (serve's floor: no store read, no template) and each page's JSON twin,
so a loaded machine shows as the same ratio; the load average is printed before and after.

    .venv/bin/python -m bench.web_pages [--runs 1000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from tapwell.runner.history import RunRecord, new_run_id
from tapwell.runner.project import load_project
from tapwell.runner.statestore import open_backend

from bench.serve import serving

BIN = Path(sys.executable).parent
STREAMS = ("orders", "customers", "order_items")


def seed(root: Path, runs: int) -> str:
    """A project of three integrations and `runs` finished runs, and one heavy run whose id is
    returned."""
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
    # the run measured is the heaviest a run page gets: 720 samples (what a run keeps at most)
    # of three streams, varying, and a log of 5,000 METRIC lines
    run_id = new_run_id(start + dt.timedelta(minutes=14 * runs))
    heavy = [
        {
            "t": float(t * 5),
            "rows": {s: t * (700 + 100 * i) + (t % 7) * 50 for i, s in enumerate(STREAMS)},
            "tap": {"cpu": 30.0 + t % 13, "rss": 30_000_000 + 1000 * t},
            "target": {"cpu": 60.0 + t % 17, "rss": 90_000_000 + 5000 * t},
            "pipe_bytes": 4096 * (t % 17),
        }
        for t in range(720)
    ]
    store.save_run(
        RunRecord(
            run_id,
            "orders",
            start + dt.timedelta(minutes=14 * runs),
            start + dt.timedelta(minutes=14 * runs, seconds=3600),
            outcome="succeeded",
            attempts=1,
            rows={s: 720 * 800 for s in STREAMS},
            trigger="schedule",
            stages={"summary": {}, "samples": heavy},
        )
    )
    metric = (
        '2026-01-01T00:00:00.000000Z [tap-csv] METRIC: {"type":"counter","metric":'
        '"record_count","value":%d,"tags":{"stream":"orders"}}'
    )
    store.append_log(run_id, [metric % n for n in range(5000)])
    store.close()
    return run_id


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _read(client: httpx.Client, path: str, repeat: int) -> tuple[float, int, int]:
    """(median ms to the response headers, body bytes, gzipped bytes) of `repeat` GETs."""
    times, body = [], b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        with client.stream("GET", path) as response:
            times.append(time.perf_counter() - t0)
            body = response.read()
            assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times) * 1000, len(body), len(gzip.compress(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_id = seed(root, args.runs)
        with serving(root, 30) as (_, url):  # on a free port: other benches may run beside it
            pages = [
                ("/", "/api/integrations"),
                ("/integrations/orders", "/api/integrations/orders"),
                ("/runs", "/api/runs"),
                ("/runs?status=failed", "/api/runs?status=failed"),
                (f"/runs/{run_id}", f"/api/runs/{run_id}"),
                ("/schedule", "/api/schedule"),
                ("/static/style.css", None),
                ("/static/log.js", None),
                ("/static/refresh.js", None),
            ]
            print(f"{args.runs} runs in the history; median of {args.repeat} reads")
            print(f"load average before: {_load()}")
            with httpx.Client(base_url=url, timeout=60) as client:
                floor, _, _ = _read(client, "/healthz", args.repeat)
                print(f"anchor /healthz: TTFB {floor:.1f} ms")
                print(
                    f"{'page':24} {'bytes':>8} {'gzip':>7} {'TTFB ms':>8} {'x healthz':>9}"
                    f" {'JSON ms':>8} {'page/JSON':>9}"
                )
                for page, twin in pages:
                    ttfb, size, gz = _read(client, page, args.repeat)
                    json_ms = _read(client, twin, args.repeat)[0] if twin else None
                    print(
                        f"{page[:24]:24} {size:8,} {gz:7,} {ttfb:8.1f} {ttfb / floor:9.1f}"
                        + (f" {json_ms:8.1f} {ttfb / json_ms:9.2f}" if json_ms else "")
                    )
            print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
