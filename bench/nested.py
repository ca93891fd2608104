"""The nested-documents bench (issue 17): N order documents (on average 3 line items and 2 tags,
an address object, discounts on one item in three) loaded into DuckDB and PostgreSQL by
target-duckdb / target-postgres with `nested: json` and `nested: tables`, and by dlt (its own
child tables) in the same run, on the same input, one after another. dlt loads the first 100,000
documents at most (`--dlt-rows`; it peaked at 9.8 GB on 100,000), so it is compared by rate.

    make bench-nested                        # 1,000,000 documents
    .venv/bin/python -m bench.nested --rows 100000 --tools tapwell-duckdb-tables,dlt-duckdb
    .venv/bin/python -m bench.nested --rows 100000 --tools tapwell-duckdb-json,tapwell-duckdb-tables --repeat 3

Every load goes into a fresh destination (a new DuckDB file, a new PostgreSQL database); the
figure is wall seconds of the loading process alone (the input is read from a file written
once; each PostgreSQL database is dropped once counted), CPU seconds (user + sys, os.wait4), parent rows/s and total rows written (every table of
the load, counted afterwards). A load whose parent count is not N is reported WRONG. dlt runs
from its own virtualenv (bench/.venvs/dlt, installed on first use: "dlt[duckdb,postgres]==1.31.0"), with
write_disposition merge on primary key id, as our targets upsert.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tapwell.singer.wire import dumps

from bench.venvs import Anchor, InstallError, ensure

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
# dlt's own venv, installed on first use (bench.venvs); the version the embedded series pins
DLT = Anchor("dlt", ("dlt[duckdb,postgres]==1.31.0",), ("dlt",))
DLT_PYTHON = DLT.bin / "python"
DLT_ROWS = 100_000  # dlt loads at most this many of the documents (it peaked at 9.8 GB on 100,000)
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
NUM = {"type": ["number", "null"], "multipleOf": 0.01, "maximum": 10**9}
SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "customer_id": {"type": ["integer", "null"]},
        "status": {"type": ["string", "null"]},
        "amount": NUM,
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "address": {
            "type": ["object", "null"],
            "properties": {
                "city": {"type": ["string", "null"]},
                "geo": {
                    "type": ["object", "null"],
                    "properties": {"lat": NUM, "lon": NUM},
                },
            },
        },
        "items": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": ["string", "null"]},
                    "qty": {"type": ["integer", "null"]},
                    "price": NUM,
                    "discounts": {
                        "type": ["array", "null"],
                        "items": {
                            "type": "object",
                            "properties": {"code": {"type": ["string", "null"]}, "amount": NUM},
                        },
                    },
                },
            },
        },
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}
TOOLS = (
    "tapwell-duckdb-json",
    "tapwell-duckdb-tables",
    "dlt-duckdb",
    "tapwell-postgres-json",
    "tapwell-postgres-tables",
    "dlt-postgres",
)


def document(n: int) -> dict[str, Any]:
    """Order n: 1-5 items (3 on average), 0-4 tags (2 on average), a discount on one item in
    three."""
    items = []
    for i in range(n % 5 + 1):
        item: dict[str, Any] = {
            "sku": f"SKU-{(n * 7 + i) % 10000}",
            "qty": i + 1,
            "price": Decimal(f"{n % 997}.{i:02d}"),
        }
        if (n + i) % 3 == 0:
            item["discounts"] = [{"code": "SPRING", "amount": Decimal("1.50")}]
        items.append(item)
    return {
        "id": n,
        "customer_id": n % 50000,
        "status": ("new", "paid", "shipped")[n % 3],
        "amount": Decimal(f"{n % 100000}.{n % 100:02d}"),
        "created_at": f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:00:00.{n % 1000000:06d}+00:00",
        "address": {
            "city": ("Lyon", "Oslo", "Lima")[n % 3],
            "geo": {"lat": Decimal("45.76"), "lon": Decimal("4.84")},
        },
        "items": items,
        "tags": [f"tag{j}" for j in range(n % 5)],
    }


def write_input(folder: Path, rows: int, dlt_rows: int) -> tuple[Path, Path]:
    """The Singer input (SCHEMA, RECORDs, a STATE every 10,000) and the bare documents (dlt's:
    the first `dlt_rows`)."""
    singer, docs = folder / "orders.singer", folder / "orders.jsonl"
    with open(singer, "wb") as s, open(docs, "wb") as d:
        s.write(
            dumps(
                {"type": "SCHEMA", "stream": "orders", "schema": SCHEMA, "key_properties": ["id"]}
            )
            + b"\n"
        )
        for n in range(1, rows + 1):
            doc = dumps(document(n))
            if n <= dlt_rows:
                d.write(doc + b"\n")
            s.write(b'{"type":"RECORD","stream":"orders","record":' + doc + b"}\n")
            if n % 10000 == 0 or n == rows:
                s.write(dumps({"type": "STATE", "value": {"at": n}}) + b"\n")
    return singer, docs


DLT_SCRIPT = """
import sys, json, decimal, dlt
path, dest, target = sys.argv[1], sys.argv[2], sys.argv[3]
def docs():
    with open(path) as f:
        for line in f:
            yield json.loads(line, parse_float=decimal.Decimal)
resource = dlt.resource(docs, name="orders", write_disposition="merge", primary_key="id")
if dest == "duckdb":
    destination = dlt.destinations.duckdb(target)
else:
    destination = dlt.destinations.postgres(target)
pipe = dlt.pipeline(pipeline_name="bench_nested", destination=destination, dataset_name="bench",
                    pipelines_dir=sys.argv[4])
pipe.run(resource)
"""


def run(
    cmd: list[str], stdin: Path | None, env: dict[str, str] | None = None
) -> tuple[float, float, int, str, float]:
    """Wall seconds, CPU seconds of the process waited for, exit code, last stderr line, its
    peak RSS in MB."""
    start = time.monotonic()
    with (
        open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp,
        tempfile.TemporaryFile() as err,
    ):
        proc = subprocess.Popen(cmd, stdin=inp, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    code = os.waitstatus_to_exitcode(status)
    last = lines[-1] if lines and code else ""
    return wall, usage.ru_utime + usage.ru_stime, code, last, usage.ru_maxrss / 1024


def pg_database(name: str) -> dict[str, Any]:
    import psycopg2

    admin = psycopg2.connect(dbname="postgres", **PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return {**PG, "dbname": name}


def drop_database(name: str) -> None:
    """The load's database, once counted: the bench leaves no database behind."""
    import psycopg2

    admin = psycopg2.connect(dbname="postgres", **PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def counts_duckdb(path: Path, schema: str) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                "AND table_name LIKE 'orders%'",
                [schema],
            ).fetchall()
        ]
        return {
            n: con.execute(f'SELECT count(*) FROM "{schema}"."{n}"').fetchone()[0] for n in names
        }  # type: ignore[index]
    finally:
        con.close()


def counts_postgres(config: dict[str, Any], schema: str) -> dict[str, int]:
    import psycopg2

    con = psycopg2.connect(**config)
    try:
        with con.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_name LIKE 'orders%%'",
                (schema,),
            )
            out = {}
            for (name,) in cur.fetchall():
                cur.execute(f'SELECT count(*) FROM "{schema}"."{name}"')
                out[name] = cur.fetchone()[0]  # type: ignore[index]
            return out
    finally:
        con.close()


def one(tool: str, singer: Path, docs: Path, work: Path) -> dict[str, Any]:
    kind, dest, *mode = tool.split("-")
    row: dict[str, Any] = {"tool": tool}
    if kind == "dlt":
        try:
            ensure(DLT)
        except InstallError as exc:
            return {**row, "skipped": f"dlt could not be installed: {exc}"}
    if dest == "duckdb":
        db = work / f"{tool}.duckdb"
        db.unlink(missing_ok=True)
        if kind == "dlt":
            cmd = [
                str(DLT_PYTHON),
                "-c",
                DLT_SCRIPT,
                str(docs),
                "duckdb",
                str(db),
                str(work / "dlt"),
            ]
            wall, cpu, code, err, rss = run(cmd, None)
            counts = counts_duckdb(db, "bench") if code == 0 else {}
        else:
            cfg = work / f"{tool}.json"
            cfg.write_text(json.dumps({"path": str(db), "nested": mode[0]}))
            wall, cpu, code, err, rss = run(
                [str(BIN / "target-duckdb"), "--config", str(cfg)], singer
            )
            counts = counts_duckdb(db, "main") if code == 0 else {}
    else:
        config = pg_database("bench_nested_" + tool.replace("-", "_"))
        if kind == "dlt":
            dsn = f"postgresql://{PG['user']}:unused@{PG['host']}:{PG['port']}/{config['dbname']}"
            cmd = [str(DLT_PYTHON), "-c", DLT_SCRIPT, str(docs), "postgres", dsn, str(work / "dlt")]
            wall, cpu, code, err, rss = run(cmd, None)
            counts = counts_postgres(config, "bench") if code == 0 else {}
        else:
            cfg = work / f"{tool}.json"
            cfg.write_text(json.dumps({**config, "nested": mode[0]}))
            wall, cpu, code, err, rss = run(
                [str(BIN / "target-postgres"), "--config", str(cfg)], singer
            )
            counts = counts_postgres(config, "public") if code == 0 else {}
        drop_database(config["dbname"])
    if code != 0:
        return {**row, "skipped": f"exit {code}: {err}"}
    return {
        **row,
        "seconds": wall,
        "cpu": cpu,
        "parents": counts.get("orders", 0),
        "rows": sum(counts.values()),
        "tables": len(counts),
        "rss": rss,
    }


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def ratios(done: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The goal's ratios, from the loads of this run (the median of each tool's runs): per
    destination, the parent-row rate of nested: tables over nested: json's (goal >= 0.5), and
    ours over dlt's (which may have loaded fewer documents: rates, not seconds)."""
    out = []
    for dest in ("duckdb", "postgres"):
        tables, json_mode = done.get(f"tapwell-{dest}-tables"), done.get(f"tapwell-{dest}-json")
        dlt = done.get(f"dlt-{dest}")
        if tables and json_mode:
            wall = median(json_mode, "seconds") / median(tables, "seconds")
            cpu = median(json_mode, "cpu") / median(tables, "cpu")
            out.append(f"{dest}: tables/json parent rate {wall:.2f} (CPU {cpu:.2f}; goal >= 0.5)")
        if tables and dlt:
            ours, theirs = tables[0]["parents"], dlt[0]["parents"]
            rate = (ours / median(tables, "seconds")) / (theirs / median(dlt, "seconds"))
            per_cpu = (ours / median(tables, "cpu")) / (theirs / median(dlt, "cpu"))
            out.append(
                f"{dest}: tables {rate:.1f}x dlt's parent rate (per CPU s {per_cpu:.1f}x)"
                + (f"; dlt loaded the first {theirs:,} documents" if theirs != ours else "")
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.nested", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"subset of: {', '.join(TOOLS)}")
    parser.add_argument("--work", default=str(HERE / "data" / "nested"))
    parser.add_argument(
        "--dlt-rows",
        type=int,
        default=DLT_ROWS,
        help="dlt loads the first this many documents (its memory grows with them: 9.8 GB at "
        "100,000); rates are compared",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the tools this many times, interleaved (the order reversed every other "
        "round); the ratios use each tool's median",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tools.split(",")) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tools {unknown}; choose from {', '.join(TOOLS)}")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    dlt_rows = min(args.rows, args.dlt_rows)
    singer, docs = write_input(work, args.rows, dlt_rows)
    print(
        f"input: {args.rows:,} documents written in {time.monotonic() - started:.1f}s "
        f"({singer.stat().st_size / 1e6:.0f} MB Singer), load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    wrong = False
    print(
        f"{'tool':26} {'seconds':>8} {'cpu s':>7} {'parents/s':>10} {'rows written':>13} "
        f"{'rows/s':>9} tables {'peak RSS':>9}"
    )
    done: dict[str, list[dict[str, Any]]] = {}
    tools = args.tools.split(",")
    for round_ in range(max(1, args.repeat)):
        for tool in tools if round_ % 2 == 0 else tools[::-1]:
            r = one(tool, singer, docs, work)
            if "skipped" in r:
                print(f"{tool:26} SKIPPED {r['skipped']}", flush=True)
                continue
            bad = r["parents"] != (dlt_rows if tool.startswith("dlt-") else args.rows)
            wrong |= bad
            if not bad:
                done.setdefault(tool, []).append(r)
            print(
                f"{tool:26} {r['seconds']:8.1f} {r['cpu']:7.1f} "
                f"{'WRONG' if bad else format(r['parents'] / r['seconds'], ',.0f'):>10} "
                f"{r['rows']:13,} {r['rows'] / r['seconds']:9,.0f} {r['tables']:>6} "
                f"{r['rss']:6.0f} MB",
                flush=True,
            )
    for line in ratios(done):
        print(line)
    print(
        f"load average after: {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
