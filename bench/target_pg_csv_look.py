"""`python -m bench.target_pg_csv_look`: the cost of target-postgres's look through a csv BATCH
file (steps.NumberScan) with its number columns alone (steps.checks_of, as before kinds.py) and
with the date-time, boolean and document columns too (kinds.text_checks_of), on the file of
bench.target_pg_csv_ab (`--variant steps`), interleaved in one process: CPU s, min and median.

    .venv/bin/python -m bench.target_pg_csv_look --rows 300000 --rounds 7 --quote all
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tapwell.sdk.csv_fractions import rows_in_chunks
from tapwell.targets.postgres.kinds import text_checks_of
from tapwell.targets.postgres.steps import ColumnCheck, NumberScan, checks_of

from bench.target_pg_csv_ab import messages, write_file


def look(pieces: list[bytes], checks: dict[int, ColumnCheck]) -> float:
    """CPU s of one look through every piece (the header skipped), which finds nothing."""
    scan = NumberScan(checks)
    start = time.process_time()
    for n, piece in enumerate(pieces):
        assert scan.first_off(piece, piece.index(b"\n") + 1 if n == 0 else 0) is None
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.target_pg_csv_look")
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--quote", choices=("text", "all"), default="all")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="target-pg-csv-look-") as tmp:
        data = Path(tmp) / "orders.csv"
        write_file(data, args.rows, args.quote == "all")
        with data.open("rb") as f:
            pieces = list(rows_in_chunks(f, 1 << 20))
    schema = json.loads(messages(data, "steps").split(b"\n", 1)[0])["schema"]
    props: dict[str, Any] = schema["properties"]
    cols = list(props)
    numbers: dict[int, ColumnCheck] = dict(checks_of(props, {}, cols))
    every: dict[int, ColumnCheck] = {**numbers, **text_checks_of(props, {}, cols, {})}
    runs: dict[str, list[float]] = {"numbers": [], "every kind": []}
    for _ in range(args.rounds):
        runs["numbers"].append(look(pieces, numbers))
        runs["every kind"].append(look(pieces, every))
    size = sum(map(len, pieces))
    print(
        f"{args.rows:,} rows ({args.quote} quoted), {size / 1e6:.0f} MB, load {os.getloadavg()[0]:.1f}"
    )
    for name, cpu in runs.items():
        print(f"{name}: CPU s min {min(cpu):.3f} median {statistics.median(cpu):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
