"""`python -m bench.optimistic_writes`: when DuckDB writes a transaction's rows straight into the
file ("optimistic writes") instead of holding them for the WAL: 25,000-row batches inserted from
Arrow in one transaction (with the upsert's key delete, or `--append`), the file's size, the
WAL's and DuckDB's memory after each, then the commit. Why target-duckdb commits every batch
(targets/duckdb/README.md, Speed and memory)."""

from __future__ import annotations

import argparse
import os
import tempfile

import duckdb
import pyarrow as pa

BATCH = 25_000


def _size_kb(path: str) -> int:
    return os.path.getsize(path) // 1024 if os.path.exists(path) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--append", action="store_true", help="no key delete before each insert")
    args = parser.parse_args()
    path = os.path.join(tempfile.mkdtemp(prefix="optimistic-"), "w.duckdb")
    con = duckdb.connect(path)
    con.execute("SET memory_limit = '256MB'")
    con.execute("SET checkpoint_threshold = '64MB'")
    con.execute("CREATE TABLE t (id BIGINT, note VARCHAR, amount DECIMAL(12,2))")
    con.execute("BEGIN TRANSACTION").fetchall()
    for b in range(args.batches):
        ids = range(b * BATCH, (b + 1) * BATCH)
        batch = pa.table({"id": pa.array(ids, pa.int64()), "note": [f"note {i} " * 8 for i in ids]})
        con.register("a", batch)
        if not args.append:
            con.execute("DELETE FROM t USING a WHERE t.id = a.id").fetchall()
        con.execute("INSERT INTO t SELECT id, note, 1.25 FROM a").fetchall()
        con.unregister("a")
        row = con.execute(
            "SELECT sum(memory_usage_bytes) // 1048576 FROM duckdb_memory()"
        ).fetchall()[0]
        print(
            f"{(b + 1) * BATCH:>9,} rows uncommitted: file {_size_kb(path):>6} KB, "
            f"WAL {_size_kb(path + '.wal'):>6} KB, DuckDB memory {row[0] if row else 0} MB"
        )
    con.execute("COMMIT")
    print(f"committed: file {_size_kb(path)} KB, WAL {_size_kb(path + '.wal')} KB")
    con.close()


if __name__ == "__main__":
    main()
