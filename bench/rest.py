"""tap-rest's throughput beside singer-sdk's RESTStream and dlt's rest_api source, in one run.

    .venv/bin/python -m bench.rest --rows 1000000 [--dlt-python /path/to/venv/bin/python] [--rounds N]

A local HTTP server (its own process, pages rendered before the clock starts, so it answers
instantly) serves `rows` records, `page_size` a page, with `has_more` and `total_pages` in the
body. Each contender reads every page into DuckDB (`full`), and the two Singer taps also into
/dev/null (`tap`), so the bottleneck is visible:

- tap-rest | target-duckdb
- a minimal singer-sdk tap (RESTStream, written here, as the issue asks) | target-duckdb
- dlt's rest_api source into dlt's duckdb destination (needs `dlt[duckdb]`, in its own venv)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BIN = Path(sys.executable).parent

SERVER = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    rows, size = int(sys.argv[1]), int(sys.argv[2])
    pages = -(-rows // size)
    def record(i):
        return ('{"id":%d,"customer_id":%d,"status":"shipped","amount":%d.%02d,'
                '"note":"order number %d with a note of some length \\u00e9",'
                '"updated_at":"2024-01-01T00:00:%02d.%06dZ"}' % (i, i % 9973, i % 1000, i % 100, i, i % 60, i % 999999))
    bodies = []
    for p in range(1, pages + 1):
        recs = ",".join(record(i) for i in range((p - 1) * size + 1, min(p * size, rows) + 1))
        bodies.append(('{"data":[%s],"has_more":%s,"total_pages":%d}' % (recs, "true" if p < pages else "false", pages)).encode())
    empty = b'{"data":[],"has_more":false,"total_pages":%d}' % pages
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16
        disable_nagle_algorithm = True
        def log_message(self, *a): pass
        def do_GET(self):
            q = self.path.partition("?")[2]
            page = 1
            for part in q.split("&"):
                k, _, v = part.partition("=")
                if k == "page" and v: page = int(v)
            body = bodies[page - 1] if 1 <= page <= pages else empty
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print("http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()
    """
)

SDK_TAP = textwrap.dedent(
    """
    from singer_sdk import Tap
    from singer_sdk import typing as th
    from singer_sdk.pagination import BasePageNumberPaginator
    from singer_sdk.streams import RESTStream

    class Pages(BasePageNumberPaginator):
        def has_more(self, response):
            return response.json()["has_more"]

    class Orders(RESTStream):
        name = "orders"
        path = "/bench"
        primary_keys = ["id"]
        records_jsonpath = "$.data[*]"
        schema = th.PropertiesList(
            th.Property("id", th.IntegerType), th.Property("customer_id", th.IntegerType),
            th.Property("status", th.StringType), th.Property("amount", th.NumberType),
            th.Property("note", th.StringType), th.Property("updated_at", th.DateTimeType),
        ).to_dict()
        @property
        def url_base(self):
            return self.config["base_url"]
        def get_new_paginator(self):
            return Pages(1)
        def get_url_params(self, context, next_page_token):
            return {"page": next_page_token or 1}

    class TapBench(Tap):
        name = "tap-sdk-bench"
        config_jsonschema = th.PropertiesList(th.Property("base_url", th.StringType)).to_dict()
        def discover_streams(self):
            return [Orders(self)]

    if __name__ == "__main__":
        TapBench.cli()
    """
)

DLT = textwrap.dedent(
    """
    import sys, dlt
    from dlt.sources.rest_api import rest_api_source
    base, db = sys.argv[1], sys.argv[2]
    source = rest_api_source({
        "client": {"base_url": base,
                   "paginator": {"type": "page_number", "base_page": 1, "page_param": "page",
                                 "total_path": "total_pages"}},
        "resources": [{"name": "orders", "endpoint": {"path": "bench", "data_selector": "data"},
                       "primary_key": "id", "write_disposition": "replace"}],
    })
    pipeline = dlt.pipeline(pipeline_name="bench_rest", destination=dlt.destinations.duckdb(db),
                            dataset_name="bench", pipelines_dir=sys.argv[3])
    info = pipeline.run(source)
    print(info, file=sys.stderr)
    """
)


def _timed(cmd: str, cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, every process of the pipe) and the largest
    peak RSS (KiB) of one process: each `|`-joined process runs under /usr/bin/time."""
    parts = [part.strip() for part in cmd.split(" | ")]
    usage = [cwd / f"rusage.{i}" for i in range(len(parts))]
    piped = " | ".join(
        f"/usr/bin/time -f '%U %S %M' -o {u} {part.replace(' > /dev/null', '')}"
        + (" > /dev/null" if part.endswith("> /dev/null") else "")
        for u, part in zip(usage, parts)
    )
    start = time.monotonic()
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", piped], cwd=cwd, capture_output=True, text=True
    )
    took = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench.rest: {cmd!r} failed ({proc.returncode}): {proc.stderr[-800:]}")
    cpu, peak = 0.0, 0
    for u in usage:
        user, system, rss = u.read_text().split()[-3:]
        cpu += float(user) + float(system)
        peak = max(peak, int(rss))
    return took, cpu, peak


def _count(db: Path, sql: str) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute(sql).fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument(
        "--dlt-python", help="python of a venv with dlt[duckdb] (dlt is skipped without it)"
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every contender this many times, in turn (on a loaded machine: compare rounds)",
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-rest-"))
    (work / "server.py").write_text(SERVER)
    (work / "sdk_tap.py").write_text(SDK_TAP)
    (work / "dlt_run.py").write_text(DLT)
    server = subprocess.Popen(
        [sys.executable, str(work / "server.py"), str(args.rows), str(args.page_size)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        (work / "rest.json").write_text(
            json.dumps(
                {
                    "base_url": url,
                    "streams": [
                        {
                            "name": "orders",
                            "path": "/bench",
                            "records_path": "$.data[*]",
                            "primary_key": ["id"],
                            "schema": {
                                "properties": {
                                    "id": {"type": "integer"},
                                    "customer_id": {"type": "integer"},
                                    "status": {"type": "string"},
                                    "amount": {"type": "number"},
                                    "note": {"type": "string"},
                                    "updated_at": {"type": "string", "format": "date-time"},
                                }
                            },
                            "paginator": {"type": "page", "has_more_path": "$.has_more"},
                        }
                    ],
                }
            )
        )
        (work / "sdk.json").write_text(json.dumps({"base_url": url}))
        results = []
        runs = [
            ("tap-rest", "tap", f"{BIN}/tap-rest --config rest.json > /dev/null", None),
            (
                "tap-rest",
                "full",
                f"{BIN}/tap-rest --config rest.json | {BIN}/target-duckdb --config d1.json",
                "d1",
            ),
            (
                "singer-sdk RESTStream",
                "tap",
                f"{sys.executable} sdk_tap.py --config sdk.json > /dev/null",
                None,
            ),
            (
                "singer-sdk RESTStream",
                "full",
                f"{sys.executable} sdk_tap.py --config sdk.json | {BIN}/target-duckdb --config d2.json",
                "d2",
            ),
        ]
        if args.dlt_python:
            runs.append(
                (
                    "dlt rest_api",
                    "full",
                    f"{args.dlt_python} dlt_run.py {url}/ d3.duckdb dlt_pipes",
                    "d3",
                )
            )
        for name in ("d1", "d2"):
            (work / f"{name}.json").write_text(json.dumps({"path": str(work / f"{name}.duckdb")}))
        for tool, stage, cmd, db in [run for _ in range(args.rounds) for run in runs]:
            if db:  # each round loads into a new database
                for leftover in work.glob(f"{db}.duckdb*"):
                    leftover.unlink()
                shutil.rmtree(work / "dlt_pipes", ignore_errors=True)  # dlt's own state of it
            took, cpu, peak = _timed(cmd, work)
            rows = args.rows
            if db:
                table = "bench.orders" if db == "d3" else "orders"
                rows = _count(work / f"{db}.duckdb", f"SELECT count(*) FROM {table}")
                assert rows == args.rows, f"{tool}: {rows} rows loaded, {args.rows} served"
            results.append((tool, stage, took, rows / took))
            load = os.getloadavg()[0]
            print(
                f"{tool:24} {stage:5} {took:8.1f}s {rows / took:12,.0f} records/s"
                f"  cpu {cpu:7.1f}s  peak rss {peak / 1024:6.0f} MiB  load {load:.1f}",
                flush=True,
            )
    finally:
        server.kill()


if __name__ == "__main__":
    main()
