"""`python -m bench.lane_checks [--rows N] [--file K] [--rounds R]`: target-duckdb's read-and-check
statement of one csv BATCH file (`files.File.checked`, staged into a temporary table as an upsert
stages it) beside the same statement with every column's check left out (`no checks`: the read
and the casts only) and with one column's check left out at a time, all in this process on one
DuckDB thread, interleaved round by round: CPU s (process_time), min and median. The file is
file K of tap-csv's saved stream (`python -m bench.lane_ab --rows N --prepare` writes it); each
column's type is the one the target gives its property (types.duckdb_type), and the checks are the
unlooked load's (files.column(..., looked=False)), as the lane's first read of a file runs them.

A figure per check, so the next attempt at the checks starts from where their cost is: the rounds
interleave the variants, so load on the machine moves them alike; compare minimums.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lane_checks", description=__doc__)
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--file", type=int, default=2, help="which file of the stream (from 1)")
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--work-dir", type=Path, default=HERE / "data" / "lane_ab")
    args = p.parse_args(argv)
    saved = args.work_dir / f"saved-{args.rows}"
    found = sorted((saved / "spool").glob(f"*-{args.file}.csv"))
    if not found:
        raise SystemExit(
            f"no file {args.file} in {saved / 'spool'}: "
            f"python -m bench.lane_ab --rows {args.rows} --prepare"
        )
    import duckdb
    from tapwell.targets.duckdb import files
    from tapwell.targets.duckdb.types import duckdb_type

    entry = json.loads((saved / "catalog.json").read_text())["streams"][0]
    props = entry["schema"]["properties"]
    keys = set(entry.get("key_properties") or [])
    with found[0].open(newline="", encoding="utf-8") as f:
        names = next(csv.reader(f))
    cols = [
        files.column(n, n, duckdb_type(props[n]), props[n], n in keys, looked=False) for n in names
    ]

    def statement(columns: list[files.Column]) -> str:
        rows, _ = files.File(str(found[0]), False, columns, [], None).checked()
        return f"CREATE OR REPLACE TEMP TABLE _lane_checks AS {rows}"

    def unchecked(c: files.Column) -> files.Column:
        return dataclasses.replace(c, good="true", nullable=True)

    variants = {"whole": statement(cols), "no checks": statement([unchecked(c) for c in cols])}
    for j, c in enumerate(cols):
        if c.good != "true" or not c.nullable:
            variants[f"without {c.name}'s"] = statement([*cols[:j], unchecked(c), *cols[j + 1 :]])
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        con.execute("SET threads = 1")
        con.execute("SET TimeZone = 'UTC'")
        took: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.rounds):
            for k, sql in variants.items():
                cpu = time.process_time()
                con.execute(sql)
                took[k].append(time.process_time() - cpu)
        con.close()
    print(f"{found[0].name}, {args.rounds} rounds, CPU s of the statement on one thread:")
    for k, ts in took.items():
        print(f"  {k:28} min {min(ts):.3f}  median {statistics.median(ts):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
