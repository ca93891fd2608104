"""`python -m bench.delete_by_key N`: a 25,000-key delete by key against an N-row table, `IS NOT
DISTINCT FROM` against `=` (target-duckdb's key delete), alternated in one process, 6 rounds;
CPU (process time) and wall per delete, medians (targets/duckdb/README.md, Speed and memory)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import duckdb

KEYS = 25_000
OPS = ("IS NOT DISTINCT FROM", "=")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    path = os.path.join(tempfile.mkdtemp(prefix="delete-by-key-"), "w.duckdb")
    con = duckdb.connect(path)
    con.execute("SET threads = 2")
    con.execute(f"CREATE TABLE t AS SELECT i AS id, i::VARCHAR || 'x' AS note FROM range({n}) r(i)")
    took: dict[str, list[tuple[float, float]]] = {op: [] for op in OPS}
    for rnd in range(6):
        for op in OPS:
            lo = (rnd * 2 + (op == "=")) * KEYS % (n - KEYS)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE s AS SELECT i AS id FROM range({lo}, {lo + KEYS}) r(i)"
            )
            con.execute("BEGIN TRANSACTION")
            cpu, wall = time.process_time(), time.perf_counter()
            con.execute(f"DELETE FROM t USING s WHERE t.id {op} s.id").fetchall()
            took[op].append((time.process_time() - cpu, time.perf_counter() - wall))
            con.execute("ROLLBACK")
    con.close()
    for op, runs in took.items():
        cpu_ms = statistics.median(c for c, _ in runs) * 1000
        wall_ms = statistics.median(w for _, w in runs) * 1000
        print(f"{n:,} rows, {op}: CPU median {cpu_ms:.1f} ms, wall {wall_ms:.1f} ms")


if __name__ == "__main__":
    main()
