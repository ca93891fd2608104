"""`python -m bench.embedded_rawsql_ab [--rows N] [--rounds R] [--threads T]`: target-duckdb's
read-and-check statement (targets/duckdb/raw.py, `create_rows`) as the target writes it, beside
the same statement with every property read as JSON text (raw.column's typed=False: date-times
and dates unquoted per value, as before they were read as VARCHAR), on the embedded series'
saved Singer stream (bench/embedded_data.py).

The RECORD lines are cut into the target's batches (30,000 lines) and made Arrow tables once
(raw.lines_table); both statements run on every batch, interleaved round by round, on one
connection with DuckDB on T threads (1 by default). Before timing, each batch's rows of the two
are compared (they must be the same, none refused). Printed: the process's CPU seconds per
round, min and median.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
from dataclasses import replace
from typing import Any

from bench import embedded_data as data

BATCH = 30_000


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def plans() -> dict[str, Any]:
    """name -> the stream's raw.Plan: as the target makes it, and with JSON text reads only."""
    from tapwell.sdk.target import StreamSpec
    from tapwell.targets.duckdb import ddl, raw, stage

    spec = StreamSpec(data.STREAM, data.SCHEMA, ["id"], lambda r, n: None)
    staged = [stage.staged_column(p, p, t) for p, t in ddl.columns_of(data.SCHEMA).items()]
    plan = raw.plan(spec, staged)
    assert plan is not None, "the bench's stream must take the SQL path"
    props = data.SCHEMA["properties"]
    texts = [raw.column(c, props[c.prop], c.prop == "id", raw.LINE) for c in staged]
    assert all(texts)
    record = ", ".join(f'"{c.prop}":"JSON"' for c in staged)
    structure = '{"record":{' + record + '},"version":"JSON"}'
    return {"typed reads": plan, "JSON text": replace(plan, columns=texts, structure=structure)}


def run(con: Any, plan: Any, table: Any, lone: frozenset[int]) -> None:
    from tapwell.targets.duckdb import raw

    con.register(raw.LINES, table)
    create, _ = raw.create_rows(plan, None, True, lone)
    con.execute(create, [raw.structure(plan, None, True)])
    con.unregister(raw.LINES)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedded_rawsql_ab")
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    import duckdb
    from tapwell.targets.duckdb import raw

    named = plans()
    with data.singer_file(args.rows).open("rb") as f:
        lines = [line for line in f if line.startswith(b'{"type":"RECORD"')]
    batches = [lines[i : i + BATCH] for i in range(0, len(lines), BATCH)]
    first = next(iter(named.values()))
    # (table, lone), each batch's lines as one chunk of whole lines (raw.lines_table)
    tables = [raw.lines_table([(b"".join(b), len(b))], first)[::2] for b in batches]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {int(args.threads)}")
    for table, lone in tables:  # the same rows, none refused
        seen = []
        for plan in named.values():
            run(con, plan, table, lone)
            seen.append(con.execute(f"SELECT * EXCLUDE ({raw.SPELL}) FROM {raw.ROWS}").fetchall())
        assert seen[0] == seen[1] and not any(r[-1] for r in seen[0]), "the statements differ"
    seconds: dict[str, list[float]] = {name: [] for name in named}
    for _ in range(args.rounds):
        for name, plan in named.items():
            start = _cpu()
            for table, lone in tables:
                run(con, plan, table, lone)
            seconds[name].append(_cpu() - start)
    con.close()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"{args.rows:,} lines, {len(tables)} batches, threads {args.threads}, load {load}")
    print(f"{'CPU s min':>10} {'median':>7}  statement")
    for name, xs in seconds.items():
        print(f"{min(xs):10.3f} {statistics.median(xs):7.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
