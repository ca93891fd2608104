"""`python -m bench.embedded_rawsql [--rows N] [--rounds R] [--threads T]`: where the CPU of
target-duckdb's read-and-check statement (targets/duckdb/raw.py, `create_rows`) goes, on the
embedded series' saved Singer stream (bench/embedded_data.py).

The stream's RECORD lines are cut into the target's batches (25,000 lines) and made Arrow tables
once (raw.lines_table); then each variant below runs on every batch, on one connection with
DuckDB on T threads (1 by default: the figures add up), in R interleaved rounds, and prints the
process's CPU seconds (min and median over the rounds). Variants, each the statement with
something taken away (its rows differ: only the CPU is compared):

- `statement`: create_rows as the target runs it (strict read, every check);
- `no checks`: the BAD column is `broken` only (the type checks, regexps and casts for the
  checks gone; the values are still cast);
- `no date-time regex`: the date-time shape test gone (the casts stay);
- `transform only`: `json_transform_strict` of every line into the structure, each property's
  JSON text extracted, nothing checked or cast;
- `read_json of a file`: DuckDB's own `read_json` of the batch's lines written to a file, every
  property as JSON (not a load path: it neither keeps the line's text, which the JSON documents'
  check needs, nor refuses a key missing or added).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import embedded_data as data

BATCH = 25_000


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def variants(rows: int, tmp: Path) -> tuple[list[Any], dict[str, Callable[[Any, Any, int], None]]]:
    """(the batches' Arrow tables, name -> a function running that variant on one batch)."""
    from tapwell.sdk.target import StreamSpec
    from tapwell.targets.duckdb import ddl, raw, stage

    spec = StreamSpec(data.STREAM, data.SCHEMA, ["id"], lambda r, n: None)
    staged = [stage.staged_column(p, p, t) for p, t in ddl.columns_of(data.SCHEMA).items()]
    plan = raw.plan(spec, staged)
    assert plan is not None, "the bench's stream must take the SQL path"
    with data.singer_file(rows).open("rb") as f:
        lines = [line for line in f if line.startswith(b'{"type":"RECORD"')]
    batches = [lines[i : i + BATCH] for i in range(0, len(lines), BATCH)]
    built = [raw.lines_table([(b"".join(b), len(b))], plan) for b in batches]
    tables = [t for t, _, _ in built]
    lone = frozenset.intersection(*(found for _, _, found in built))  # as the target finds it
    files = []
    for i, b in enumerate(batches):
        path = tmp / f"batch-{i}.jsonl"
        path.write_bytes(b"".join(b))
        files.append(path)
    structure = raw.structure(plan, None, True)
    statement, _ = raw.create_rows(plan, None, True, lone)
    no_checks = re.sub(r"\(broken OR NOT .*\) AS _tapwell_bad", "broken AS _tapwell_bad", statement)
    no_regex = re.sub(r"\(regexp_full_match\([rs]\d+, '[^']*'\)\)", "true", statement)
    # a variant the statement no longer matches would time the statement itself
    assert statement not in (no_checks, no_regex), "a variant no longer changes the statement"
    extract = ", ".join(
        f"struct_extract(struct_extract(ok, 'record'), {raw._lit(c.staged.prop)})::VARCHAR AS r{j}"
        for j, c in enumerate(plan.columns)
    )
    transform = (
        f"CREATE OR REPLACE TEMP TABLE {raw.ROWS} AS SELECT {extract} FROM ("
        f"SELECT try(json_transform_strict(d, ?)) AS ok FROM {raw.LINES})"
    )
    record = ", ".join(f"{json.dumps(c.staged.prop)} JSON" for c in plan.columns)
    columns = f"{{'type': 'JSON', 'stream': 'JSON', 'record': 'STRUCT({record})'}}"

    def sql(text: str, params: bool) -> Callable[[Any, Any, int], None]:
        def run(con: Any, table: Any, i: int) -> None:
            con.register(raw.LINES, table)
            con.execute(text, [structure] if params else [])
            con.unregister(raw.LINES)

        return run

    def read_json(con: Any, table: Any, i: int) -> None:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {raw.ROWS} AS SELECT * FROM read_json("
            f"{raw._lit(str(files[i]))}, format = 'newline_delimited', columns = {columns})"
        )

    return tables, {
        "statement": sql(statement, True),
        "no checks": sql(no_checks, True),
        "no date-time regex": sql(no_regex, True),
        "transform only": sql(transform, True),
        "read_json of a file": read_json,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedded_rawsql")
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        tables, runs = variants(args.rows, Path(tmp))
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET threads = {int(args.threads)}")
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                start = _cpu()
                for i, table in enumerate(tables):
                    run(con, table, i)
                seconds[name].append(_cpu() - start)
        con.close()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"{args.rows:,} lines, {len(tables)} batches, threads {args.threads}, load {load}")
    print(f"{'CPU s min':>10} {'median':>7}  variant")
    for name, xs in seconds.items():
        print(f"{min(xs):10.3f} {statistics.median(xs):7.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
