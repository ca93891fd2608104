"""`python -m bench.tapcsv_stages CONFIG CATALOG`: tap-csv's two outputs (RECORD lines and csv
BATCH lines) made in one process, CPU seconds of each (process_time) beside the csv.reader loop
that keeps its rows in chunks, with a hash of each output (byte-identical A/B across worktrees:
run it with each worktree's own .venv/bin/python). Start-up is not measured here: whole syncs are
(bench/tapcsv_ab.py)."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import statistics
import time
from itertools import islice
from pathlib import Path
from typing import Any

from tapwell.sdk.tap import SyncContext

PREFIX = '{"type":"RECORD","stream":"orders","record":{'
SUFFIX = '},"version":1}\n'


def _ctx(config: dict[str, Any], catalog: dict[str, Any]) -> tuple[Any, SyncContext]:
    from taps.csv.cli import streams

    (stream,) = streams(config)
    entry = catalog["streams"][0]
    selected = list(entry["schema"]["properties"])
    ctx = SyncContext(config, stream.name, None, None, {}, selected)
    return stream, ctx


_HASH = [True]


def _timed(fn: Any) -> tuple[float, str]:
    h = hashlib.sha256()
    t = time.process_time()
    for data in fn():
        if _HASH[0]:
            h.update(data)
    return time.process_time() - t, h.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tapcsv_stages", description=__doc__)
    p.add_argument("config")
    p.add_argument("catalog")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--only", default="reader,records,csv")
    p.add_argument("--chunk", type=int, help="rows per chunk (taps.csv.sync.CHUNK) instead")
    p.add_argument("--no-hash", action="store_true", help="leave the outputs unhashed")
    args = p.parse_args(argv)
    if args.chunk:
        import taps.csv.sync

        taps.csv.sync.CHUNK = args.chunk
    if args.no_hash:
        _HASH[0] = False
    config = json.loads(Path(args.config).read_text())
    catalog = json.loads(Path(args.catalog).read_text())
    from taps.csv.cli import SETTINGS  # noqa: F401 (imports before timing)

    path = config["streams"][0]["path"]
    stream, ctx = _ctx(config, catalog)

    def reader() -> Any:
        with open(path, newline="", encoding="utf-8") as f:
            r = csv.reader(f)
            while list(islice(r, 250)):  # kept a chunk at a time, as the tap keeps them
                yield b""

    def records() -> Any:
        for data, _, _ in stream.lines(ctx, PREFIX, SUFFIX):
            yield data

    def csv_batch() -> Any:
        _, chunks = stream.csv_lines(ctx)
        for data, _, _ in chunks:
            yield data

    runs = {"reader": reader, "records": records, "csv": csv_batch}
    chosen = args.only.split(",")
    times: dict[str, list[float]] = {k: [] for k in chosen}
    hashes: dict[str, str] = {}
    for _ in range(args.repeat):
        for k in chosen:
            s, hashes[k] = _timed(runs[k])
            times[k].append(s)
    for k in chosen:
        ts = times[k]
        print(f"{k:8} median {statistics.median(ts):.3f} min {min(ts):.3f} CPU s  sha {hashes[k]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
