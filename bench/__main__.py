"""`python -m bench` (what `make bench` runs): the full-table sync benchmark, every contender
one after another in this one invocation, printed as a table and saved as JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.harness import ALL_STAGES, Harness, Options, save_results
from bench.report import format_table
from bench.tools import build_tools
from bench.variants import VARIANTS


def parse(argv: list[str]) -> tuple[Options, bool]:
    names = [t.name for t in build_tools()]
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Full-table sync MariaDB (127.0.0.1:3306) -> PostgreSQL (127.0.0.1:5432): the raw limit "
        "(mysql | psql \\copy), PipelineWise, MeltanoLabs and tapwell measured side by side in one run. "
        "Each run is checked against the source (row count, sum of amount, NULL notes, max updated_at); "
        "a wrong result is reported as WRONG and makes the exit code 1.",
    )
    p.add_argument(
        "--rows", type=int, default=1_000_000, help="rows in the source table (default 1,000,000)"
    )
    p.add_argument(
        "--variant",
        choices=sorted(VARIANTS),
        default="orders",
        help="orders (9 columns, default), wide (50 columns) or narrow (3 columns)",
    )
    p.add_argument(
        "--tools", default=",".join(names), help=f"comma-separated subset of: {', '.join(names)}"
    )
    p.add_argument(
        "--stages",
        default=",".join(ALL_STAGES),
        help="comma-separated subset of: full (tap | target), tap (tap > /dev/null), target (target < saved file)",
    )
    p.add_argument(
        "--source-db", default="tapwell_bench", help="MariaDB database holding the generated tables"
    )
    p.add_argument(
        "--dest-prefix",
        default="bench",
        help="prefix of the PostgreSQL databases, one per tool and stage",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Options.data_dir,
        help="configs, catalogs, logs, saved tap output",
    )
    p.add_argument(
        "--results-dir", type=Path, default=Options.results_dir, help="where the JSON results go"
    )
    p.add_argument(
        "--keep-dest", action="store_true", help="keep the destination databases for inspection"
    )
    p.add_argument("--drop-source", action="store_true", help="drop the source database at the end")
    p.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds before a run is killed (default 3600)",
    )
    p.add_argument(
        "--strict", action="store_true", help="exit 1 also when a chosen tool was skipped or failed"
    )
    a = p.parse_args(argv)
    tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    stages = tuple(s.strip() for s in a.stages.split(",") if s.strip())
    for bad in [t for t in tools if t not in names] + [s for s in stages if s not in ALL_STAGES]:
        p.error(f"unknown tool or stage {bad!r}")
    if a.rows < 1:
        p.error("--rows must be at least 1")
    opts = Options(
        rows=a.rows,
        variant=a.variant,
        tools=tools,
        stages=stages,
        source_db=a.source_db,
        dest_prefix=a.dest_prefix,
        data_dir=a.data_dir,
        results_dir=a.results_dir,
        keep_dest=a.keep_dest,
        drop_source=a.drop_source,
        timeout=a.timeout,
    )
    return opts, a.strict


def main(argv: list[str] | None = None) -> int:
    opts, strict = parse(sys.argv[1:] if argv is None else argv)
    doc = Harness(opts, say=lambda line: print(line, file=sys.stderr, flush=True)).run()
    path = save_results(doc, opts.results_dir)
    print(format_table(doc))
    print(f"\nresults: {path}")
    statuses = [t["status"] for t in doc["tools"]]
    if "wrong" in statuses:
        print("bench: a WRONG result is a failure, not a figure", file=sys.stderr)
        return 1
    if strict and any(s != "ok" for s in statuses):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
