"""`python -m bench.embedded_close [--rows N] [--rounds R]`: what target-duckdb's commits and the
checkpoint when its file closes cost, against one transaction, on the embedded series' records.

The saved Singer stream's records (bench/embedded_data.py) are read once by DuckDB into Arrow;
then, in a new file each time and with the target's settings (memory_limit 256MB,
checkpoint_threshold 64MB, threads 2), they are inserted in 25,000-row transactions (the target's
batches: each commit writes the WAL, the close checkpoints it into the file), in one
transaction (DuckDB writes full row groups straight into the file, as `read_json` does), or in
24,576-row transactions into a file ATTACHed with `ROW_GROUP_SIZE 24576` (each commit fills a row
group, written straight into the file), R interleaved rounds. Printed: wall and CPU seconds of the
inserts and commits, and of the close, and the file's size. Each file is opened again and its
rows compared with the source's (count, sum of amount, latest updated_at): a difference is
printed as WRONG and makes the exit code 1.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import embedded_data as data
from bench.embedded import TYPES

BATCH = 25_000
SMALL_GROUP = 24_576  # a row group size DuckDB takes (a multiple of 2,048), just under BATCH


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedded_close")
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    import duckdb

    src = duckdb.connect()
    src.execute("SET TimeZone = 'UTC'")
    columns = f"{{'type': 'VARCHAR', 'record': 'STRUCT({TYPES})'}}"
    rows = src.sql(
        "SELECT unnest(record) FROM read_json(?, format = 'newline_delimited', "
        f"columns = {columns}) WHERE type = 'RECORD'",
        params=[str(data.singer_file(args.rows))],
    ).to_arrow_table()
    src.register("rows", rows)
    want = _summary(src, "SELECT * FROM rows")
    wrong = 0
    ways = {  # name -> (rows per transaction, one transaction, ATTACH option)
        f"{-(-rows.num_rows // BATCH)} commits": (BATCH, False, ""),
        "one transaction": (BATCH, True, ""),
        f"row groups of {SMALL_GROUP:,}": (SMALL_GROUP, False, f" (ROW_GROUP_SIZE {SMALL_GROUP})"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for n, (kind, (size, one, option)) in enumerate(ways.items()):
                path = Path(tmp) / f"w{r}-{n}.duckdb"
                con = duckdb.connect()
                con.execute(f"ATTACH '{path}' AS w{option}")
                con.execute("USE w")
                for setting in ("TimeZone = 'UTC'", "threads = 2", "memory_limit = '256MB'"):
                    con.execute(f"SET {setting}")
                con.execute("SET checkpoint_threshold = '64MB'")
                con.execute(f"CREATE TABLE orders ({TYPES})")
                cpu, wall = _cpu(), time.perf_counter()
                if one:
                    con.execute("BEGIN")
                for i in range(0, rows.num_rows, size):
                    if not one:
                        con.execute("BEGIN")
                    con.register("b", rows.slice(i, size))
                    con.execute("INSERT INTO orders SELECT * FROM b")
                    con.unregister("b")
                    if not one:
                        con.execute("COMMIT")
                if one:
                    con.execute("COMMIT")
                inserts = (time.perf_counter() - wall, _cpu() - cpu)
                cpu, wall = _cpu(), time.perf_counter()
                con.close()
                close = (time.perf_counter() - wall, _cpu() - cpu)
                with open("/proc/loadavg") as f:
                    load = f.read().split()[0]
                check = duckdb.connect(str(path), read_only=True)
                got = _summary(check, "SELECT * FROM orders")
                check.close()
                wrong += got != want
                print(
                    f"{kind:>22}: inserts+commits {inserts[0]:.3f} s wall {inserts[1]:.3f} CPU s, "
                    f"close {close[0]:.3f} s wall {close[1]:.3f} CPU s, "
                    f"file {path.stat().st_size / 1e6:.1f} MB (load {load})"
                    + ("" if got == want else f" WRONG: {got} against {want}")
                )
    return 1 if wrong else 0


def _summary(con: Any, rows: str) -> tuple[Any, ...]:
    """What a load must keep exactly: the row count, the sum of amount (DECIMAL), the latest
    updated_at instant and the count of NULL notes."""
    found = con.execute(
        f"SELECT count(*), sum(amount), max(updated_at), count(*) - count(note) FROM ({rows})"
    ).fetchone()
    return tuple(found)


if __name__ == "__main__":
    sys.exit(main())
