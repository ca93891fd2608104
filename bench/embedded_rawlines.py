"""`python -m bench.embedded_rawlines [ROWS]`: a prototype measured beside DuckDB's `read_json`
in one run, on the embedded series' saved Singer stream (bench/embedded_data.py).

The prototype hands DuckDB the RECORD lines as they are (one Arrow string column per 100,000
lines, `json_transform_strict` into the typed columns, no Python JSON parse), after the line
tests the target loop can make without parsing: our taps' RECORD prefix, and no run of 16+
digits (a number a double may not hold). It is not target-duckdb's load path: the record check
(types, formats, multipleOf, keys, errors by line) and the exactness rules (JSON documents as
written, numbers past 15 digits) would have to be re-done in SQL. It shows what that would buy.
Each load is checked as the embedded series checks it; both figures are CPU and wall seconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from tapwell.singer.wire import _DIGITS, _RUN

from bench import embedded_data as data
from bench.embedded import READ_JSON, TYPES, check_duckdb

STRUCT = (
    "{" + ", ".join(f'"{c.split()[0]}": "{c.split(None, 1)[1]}"' for c in TYPES.split(", ")) + "}"
)


def raw_lines(db: Path, singer: Path) -> None:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE orders ({TYPES})")
    prefix = b'{"type":"RECORD","stream":"' + data.STREAM.encode() + b'","record":{'
    batch: list[bytes] = []

    def flush() -> None:
        con.register("raw", pa.table([pa.array(batch, pa.string())], names=["j"]))
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO orders SELECT unnest(json_transform_strict(j->'record', ?)) FROM raw",
            [STRUCT],
        )
        con.execute("COMMIT")
        con.unregister("raw")
        batch.clear()

    with singer.open("rb") as f:
        for line in f:
            if line.startswith(prefix) and _RUN not in line.translate(_DIGITS):
                batch.append(line)
                if len(batch) >= 100_000:
                    flush()
    if batch:
        flush()
    con.close()


def timed(run: object) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    run()  # type: ignore[operator]
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    singer = data.singer_file(rows)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "read_json.duckdb", Path(tmp) / "raw.duckdb"
        namespace = {"__name__": "read_json"}
        argv = sys.argv
        sys.argv = ["read_json", str(a), str(singer), TYPES]
        try:
            limit = timed(lambda: exec(READ_JSON, namespace))  # noqa: S102 - the bench's own code
        finally:
            sys.argv = argv
        namespace["con"].close()  # type: ignore[attr-defined]
        proto = timed(lambda: raw_lines(b, singer))
        wrong = check_duckdb(a, rows) + check_duckdb(b, rows)
    print(f"{rows} rows, load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"read_json (limit): {limit[0]:.2f} CPU s, {limit[1]:.2f} s")
    print(f"raw lines:         {proto[0]:.2f} CPU s, {proto[1]:.2f} s")
    print(f"ratio: {limit[0] / proto[0]:.2f} (CPU), {limit[1] / proto[1]:.2f} (wall)")
    print("check: " + ("; ".join(wrong) if wrong else "ok"))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
