"""target-duckdb `nested: tables` on documents with plain numbers (DOUBLE columns, in the root
and in a child table) and date-times (whose text holds `-0`), two builds interleaved (A/B): the
cost of looking for a bare `-0` (targets/duckdb/nested_zero.py) in batches that hold none, on
the SQL split (`raw_lines: true`) and the Python split (`raw_lines: false`). Each round loads
the same input into a fresh DuckDB file with A, then B (then B, A); figures are the target
process's CPU s (user + sys, os.wait4), medians per build. Each load's tables are compared to
the first's as text (two builds that load different values fail the bench).

    python -m bench.nested_zero_ab --rows 200000 --pairs 4 \\
        --a /work/wt-x-base/.venv/bin/target-duckdb --b .venv/bin/target-duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from tapwell.singer.wire import dumps

NUMBER = {"type": ["number", "null"]}
SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "amount": NUMBER,
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "note": {"type": ["string", "null"]},
        "items": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": ["string", "null"]},
                    "qty": {"type": ["integer", "null"]},
                    "price": NUMBER,
                },
            },
        },
    },
}


def write_input(path: Path, rows: int) -> None:
    """SCHEMA, then `rows` RECORD lines (a STATE every 10,000), no bare -0 in any."""
    with path.open("wb") as out:
        msg = {"type": "SCHEMA", "stream": "orders", "schema": SCHEMA, "key_properties": ["id"]}
        out.write(dumps(msg) + b"\n")
        for n in range(1, rows + 1):
            rec = {
                "id": n,
                "amount": n * 0.25 - 3.5,
                "created_at": f"2026-0{1 + n % 9}-0{1 + n % 9}T10:0{n % 10}:00.{n % 1000:06d}Z",
                "note": f"order-0{n % 7}",
                "items": [
                    {"sku": f"S-0{i}", "qty": i, "price": (n % 100) / 8 - i} for i in range(n % 4)
                ],
            }
            out.write(dumps({"type": "RECORD", "stream": "orders", "record": rec}) + b"\n")
            if n % 10_000 == 0:
                out.write(dumps({"type": "STATE", "value": {"n": n}}) + b"\n")


def load(target: str, data: Path, work: Path, raw_lines: bool) -> tuple[float, Path]:
    db = work / f"{time.monotonic_ns()}.duckdb"
    config = work / f"{db.stem}.json"
    config.write_text(json.dumps({"path": str(db), "nested": "tables", "raw_lines": raw_lines}))
    with data.open("rb") as stdin:
        proc = subprocess.Popen(
            [target, "--config", str(config)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{target} failed (status {status})")
    return usage.ru_utime + usage.ru_stime, db


def tables(db: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in ("orders", "orders__items"):
            cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
            keep = ", ".join(f'"{c}"::VARCHAR' for c in cols if c != "_sdc_batched_at")
            out[table] = con.execute(f'SELECT {keep} FROM "{table}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--a", required=True, help="target-duckdb of build A")
    parser.add_argument("--b", required=True, help="target-duckdb of build B")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "input.jsonl"
        write_input(data, args.rows)
        for raw_lines in (True, False):
            cpu: dict[str, list[float]] = {"A": [], "B": []}
            first = None
            for pair in range(args.pairs):
                order = [("A", args.a), ("B", args.b)]
                for name, target in order if pair % 2 == 0 else order[::-1]:
                    seconds, db = load(target, data, work, raw_lines)
                    cpu[name].append(seconds)
                    got = tables(db)
                    first = got if first is None else first
                    if got != first:
                        raise SystemExit(f"build {name} loaded other rows (raw_lines {raw_lines})")
                    db.unlink()
            a, b = statistics.median(cpu["A"]), statistics.median(cpu["B"])
            print(
                f"raw_lines {str(raw_lines).lower()}: {args.rows} documents, {args.pairs} pairs, "
                f"CPU s median A {a:.2f} B {b:.2f} (B/A {b / a:.3f}); "
                f"A {[round(x, 2) for x in cpu['A']]} B {[round(x, 2) for x in cpu['B']]}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
