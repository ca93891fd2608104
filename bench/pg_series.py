"""`python -m bench.pg_series` (part of `make bench`): PostgreSQL -> PostgreSQL, full table and CDC,
every contender in this one invocation into our target-postgres on 127.0.0.1:5432.

The source is a throwaway PostgreSQL cluster (initdb under a temp dir, its own port and socket,
`wal_level = logical`, stopped at the end): the shared server is never reconfigured. The anchors'
CDC needs the wal2json extension (Debian's `postgresql-15-wal2json`); when it is missing their CDC
is reported SKIPPED with that reason.

| tool           | full table                                        | CDC                         |
| raw            | `psql \\copy (select) to stdout | psql \\copy from stdin` | the server's pgoutput decoding, counted (`pg_logical_slot_get_binary_changes` on a copy of our slot) |
| tapwell        | our tap-postgres                                  | pgoutput, our tap           |
| tapwell-batch  | `tapwell run`, fast_lane: on (csv BATCH files)    | (none)                      |
| pipelinewise   | pipelinewise-tap-postgres 2.1.0                   | wal2json                    |
| meltanolabs    | meltanolabs-tap-postgres 0.10.0                   | wal2json                    |

CDC: each tool first syncs LOG_BASED once (its slot exists from then on), one script then makes
`--changes` row changes (updates in transactions of 10,000 rows), and each tool's second run,
timed, reads them. Every load is checked against the source (row count, exact sum of amount); a
mismatch is WRONG, not a figure. Peak RSS is each process's own (os.wait4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapwell.taps.postgres.config import default_slot

from bench.measure import Step, Timing, run_pipeline
from bench.pg_cluster import PG_BIN, SRC_DB, Cluster, checksum, sql
from bench.venvs import ANCHORS, InstallError, ensure

REPO_BIN = Path(sys.executable).parent
ALONE_SLOT = "tapwell_bench_alone"  # a copy of our slot, for the tap-alone CDC read
RAW_SLOT = "tapwell_bench_raw"  # another, for the raw limit of CDC (the server decoding alone)
DEST = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": ""}
TABLE_SQL = """
CREATE TABLE public.orders (
  id bigint PRIMARY KEY, customer_id integer, status varchar(20), amount numeric(12,2),
  note varchar(200), created_at timestamp(6), updated_at timestamptz(6), is_paid boolean,
  payload jsonb
)"""
FILL_SQL = """
INSERT INTO public.orders
SELECT g, g %% 1000, (ARRAY['new','paid','shipped','done'])[g %% 4 + 1], (g %% 100000) / 100.0,
  CASE WHEN g %% 10 = 0 THEN NULL WHEN g %% 1000 = 1 THEN E'tab\\t nl\\n back\\\\ "q" 😀'
       ELSE 'note ' || md5(g::text) END,
  timestamp '2024-01-01' + g * interval '1 second',
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1.000001 second', g %% 2 = 0,
  jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g %% 7))
FROM generate_series(%s, %s) g"""
RAW_SELECT = (
    "SELECT id, customer_id, status, amount, note, created_at AT TIME ZONE 'UTC', updated_at, "
    "is_paid, payload FROM public.orders"
)
RAW_DEST_TABLE = """
CREATE TABLE bench.orders (
  id bigint PRIMARY KEY, customer_id bigint, status text, amount numeric(12,2), note text,
  created_at timestamptz, updated_at timestamptz, is_paid boolean, payload jsonb
)"""


@dataclass
class Result:
    tool: str
    stage: str
    status: str  # ok, wrong, failed, skipped
    rows: int = 0
    wall_s: float = 0.0
    tap_rss_mb: float = 0.0
    tap_cpu_s: float = 0.0
    target_cpu_s: float = 0.0
    note: str = ""
    procs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.rows / self.wall_s if self.wall_s and self.status == "ok" else 0.0


@dataclass
class Contender:
    name: str
    tap: Callable[[Path, str], list[str]] | None  # (work dir, method) -> argv; None for raw
    catalog_flag: str = "--catalog"
    anchor: str | None = None
    state_path: str = "state.json"


class Series:
    def __init__(self, rows: int, changes: int, work: Path, say: Callable[[str], None]) -> None:
        self.rows, self.changes, self.work, self.say = rows, changes, work, say
        self.cluster = Cluster()
        self.results: list[Result] = []
        self.wal2json = (PG_BIN.parent / "lib" / "wal2json.so").exists()
        self.dests: list[str] = []  # destination databases, dropped at the end
        self.keep_dest = False
        self.lane_figures: dict[str, Any] = {}
        # the destination databases' names carry this process's id: two runs at once (make bench
        # beside the smoke test of a CI run) dropped each other's databases ("does not exist")
        self.dest_prefix = f"bench_pg_{os.getpid()}"

    # ----------------------------------------------------------------------------- setup

    def source(self) -> None:
        cfg = self.cluster.config
        sql(cfg, f"CREATE DATABASE {SRC_DB}", dbname="postgres")
        sql(cfg, TABLE_SQL)
        for lo in range(1, self.rows + 1, 200_000):
            sql(cfg, FILL_SQL, params=(lo, min(lo + 199_999, self.rows)))
        sql(cfg, "VACUUM ANALYZE public.orders")

    def dest_db(self, tool: str, stage: str) -> dict[str, Any]:
        name = f"{self.dest_prefix}_{tool}_{stage}"
        self.dests.append(name)
        sql(
            DEST,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}"',
            dbname="postgres",
        )
        return {**DEST, "dbname": name, "default_target_schema": "bench", "hard_delete": True}

    def contenders(self) -> list[Contender]:
        out = [
            Contender("raw", None),
            Contender("tapwell", lambda w, m: [str(REPO_BIN / "tap-postgres")]),
            # `tapwell run` with fast_lane: on (csv BATCH files), full table only
            Contender("tapwell-batch", lambda w, m: [str(REPO_BIN / "tap-postgres")]),
        ]
        for name, anchor, flag in (
            ("pipelinewise", "pipelinewise-tap-postgres", "--properties"),
            ("meltanolabs", "meltanolabs-tap-postgres", "--catalog"),
        ):
            out.append(Contender(name, None, flag, anchor))
        return out

    def tap_config(self, c: Contender) -> dict[str, Any]:
        cfg = dict(self.cluster.config)
        if c.name == "pipelinewise":
            return {
                **cfg,
                "filter_schemas": "public",
                "logical_poll_total_seconds": 5,
                "break_at_end_lsn": True,
            }
        if c.name == "meltanolabs":
            return {
                **cfg,
                "database": SRC_DB,
                "filter_schemas": ["public"],
                "replication_slot_name": "bench_ml",
            }
        return {**cfg, "filter_schemas": "public"}

    def tap_argv(self, c: Contender) -> list[str]:
        if c.anchor:
            return [str(ANCHORS[c.anchor].bin / "tap-postgres")]
        return [str(REPO_BIN / "tap-postgres")]

    def catalog(self, c: Contender, method: str, work: Path) -> Path:
        cfg = work / "tap.json"
        cfg.write_text(json.dumps(self.tap_config(c)))
        proc = subprocess.run(
            [*self.tap_argv(c), "--config", str(cfg), "--discover"],
            capture_output=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise InstallError(
                f"--discover exited {proc.returncode}: {proc.stderr.decode()[-300:]}"
            )
        cat = json.loads(proc.stdout)
        for s in cat["streams"]:
            chosen = s["tap_stream_id"].endswith("orders")
            for m in s["metadata"]:
                if m["breadcrumb"] == []:
                    m["metadata"].update({"selected": chosen, "replication-method": method})
                    if method == "INCREMENTAL":
                        m["metadata"]["replication-key"] = "id"
            s["replication_method"] = method  # older singer-io readers
        path = work / f"catalog-{method}.json"
        path.write_text(json.dumps(cat))
        return path

    # ----------------------------------------------------------------------------- runs

    def run_tool(
        self, c: Contender, stage: str, work: Path, dest: dict[str, Any], state: Path | None
    ) -> Timing:
        tcfg = work / "target.json"
        tcfg.write_text(json.dumps(dest))
        target = Step("target", [str(REPO_BIN / "target-postgres"), "--config", str(tcfg)])
        if c.name == "raw":
            src = self.cluster.config
            out = Step("psql-out", ["psql", "-h", src["host"], "-p", str(src["port"]), "-U", "postgres", "-d", SRC_DB,
                                    "-c", f"\\copy ({RAW_SELECT}) to stdout"])  # fmt: skip
            into = Step("psql-in", ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", dest["dbname"], "-v",
                                    "ON_ERROR_STOP=1", "-c", "\\copy bench.orders from stdin"])  # fmt: skip
            return run_pipeline([out, into], work / "logs")
        if c.name == "tapwell-batch":
            return self.run_lane(work, dest)
        method = "FULL_TABLE" if stage == "full" else "LOG_BASED"
        argv = [
            *self.tap_argv(c),
            "--config",
            str(work / "tap.json"),
            c.catalog_flag,
            str(work / f"catalog-{method}.json"),
        ]
        if state is not None:
            argv += ["--state", str(state)]
        return run_pipeline(
            [Step("tap", argv), target], work / "logs", stdout=work / "target-states.jsonl"
        )

    def run_lane(self, work: Path, dest: dict[str, Any]) -> Timing:
        """`tapwell run` on tap-postgres -> target-postgres with fast_lane: on, runner start-up
        included; the tap's and target's own peak RSS and the spool's peak disk are watched
        (bench/lane_watch.py) and kept for the record."""
        from bench.lane_watch import LaneWatch

        project = work / "project"
        (project / "catalogs").mkdir(parents=True, exist_ok=True)
        shutil.copy(work / "catalog-FULL_TABLE.json", project / "catalogs" / "bench.json")
        integration = {
            "tap": {"name": "tap-postgres", "config": self.tap_config(Contender("tapwell", None))},
            "target": {"name": "target-postgres", "config": dest},
            "fast_lane": "on",
        }
        doc = {
            "version": 1,
            "state": {"backend": "file", "path": "state"},
            "catalogs": "catalogs",
            "integrations": {"bench": integration},
        }
        (project / "tapwell.yml").write_text(json.dumps(doc, indent=2))  # JSON is YAML
        argv = [str(REPO_BIN / "tapwell"), "--project", str(project), "run", "bench"]
        names = ("tap-postgres", "target-postgres")
        with LaneWatch(project, names, project / "state" / "spool") as watch:
            t = run_pipeline([Step("tapwell", [*argv, "--full-refresh"])], work / "logs")
        self.lane_figures = watch.figures()
        return t

    def record(
        self,
        c: Contender,
        stage: str,
        t: Timing,
        rows: int,
        dest: dict[str, Any],
        expect: tuple[int, str],
    ) -> Result:
        procs = [p.as_dict() for p in t.procs]
        tap = next((p for p in t.procs if p.name in ("tap", "psql-out")), None)
        targ = next((p for p in t.procs if p.name in ("target", "psql-in")), None)
        r = Result(c.name, stage, "ok", rows, round(t.wall_s, 2), round(tap.max_rss_mb, 1) if tap else 0.0,
                   round(tap.cpu_s, 2) if tap else 0.0, round(targ.cpu_s, 2) if targ else 0.0, procs=procs)  # fmt: skip
        if c.name == "tapwell-batch" and self.lane_figures:
            lane = self.lane_figures
            r.tap_rss_mb = lane["peak_rss_mb"].get("tap-postgres", 0.0)
            r.note = (
                f"target RSS {lane['peak_rss_mb'].get('target-postgres', 0.0):.0f} MB, spool peak "
                f"{lane['spool_peak_mb']:.0f} of {lane['spool_written_mb']:.0f} MB written"
            )
        if not t.ok:
            r.status, r.note = "failed", t.error or "failed"
            return r
        got = checksum(
            DEST, "bench.orders", dest["dbname"], self.changes if stage == "cdc" else None
        )
        if got != expect:
            r.status, r.note = "wrong", f"destination has {got}, source {expect}"
        return r

    def last_state(self, work: Path) -> Path:
        lines = [x for x in (work / "target-states.jsonl").read_text().splitlines() if x.strip()]
        path = work / "state.json"
        path.write_text(lines[-1] if lines else "{}")
        return path

    def run(self, tools: list[str], stages: tuple[str, ...] = ("full", "cdc")) -> dict[str, Any]:
        self.cluster.start()
        try:
            self.say(f"pg_series: filling {self.rows} rows")
            self.source()
            expect = checksum(self.cluster.config, "public.orders", SRC_DB)
            ready: dict[str, Contender] = {}
            for c in self.contenders():
                if c.name not in tools:
                    continue
                work = self.work / c.name
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                try:
                    if c.anchor:
                        ensure(ANCHORS[c.anchor], self.say)
                    if c.name != "raw":
                        self.catalog(c, "FULL_TABLE", work)
                except (InstallError, subprocess.TimeoutExpired) as exc:
                    self.results.append(Result(c.name, "full", "skipped", note=str(exc)[-400:]))
                    continue
                ready[c.name] = c
                if "full" not in stages:
                    continue
                dest = self.dest_db(c.name, "full")
                if c.name == "raw":
                    sql(dest, "CREATE SCHEMA bench", RAW_DEST_TABLE)
                self.say(f"pg_series: {c.name} full table")
                t = self.run_tool(c, "full", work, dest, None)
                self.results.append(self.record(c, "full", t, self.rows, dest, expect))
            if "cdc" in stages:
                self.cdc(ready, expect)
        finally:
            self.cluster.stop()
            if not self.keep_dest:
                for name in dict.fromkeys(self.dests):
                    sql(DEST, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', dbname="postgres")
            elif self.dests:
                self.say(f"pg_series: kept the databases {', '.join(dict.fromkeys(self.dests))}")
        return self.document()

    def cdc(self, ready: dict[str, Contender], expect: tuple[int, str]) -> None:
        """Each tool's LOG_BASED first run (its slot, its copy), then the changes, then the
        timed second runs."""
        started: dict[str, tuple[Path, dict[str, Any], Path]] = {}
        for name, c in ready.items():
            if name in ("raw", "tapwell-batch"):  # the lane is for full loads only
                continue
            if c.anchor and not self.wal2json:
                self.results.append(
                    Result(
                        name,
                        "cdc",
                        "skipped",
                        note="wal2json is not installed (apt-get install postgresql-15-wal2json)",
                    )
                )
                continue
            work = self.work / name
            try:
                self.catalog(c, "LOG_BASED", work)
                if name == "pipelinewise":
                    sql(
                        self.cluster.config,
                        "SELECT pg_create_logical_replication_slot('pipelinewise_bench_src', 'wal2json')",
                    )
                if name == "meltanolabs":
                    sql(
                        self.cluster.config,
                        "SELECT pg_create_logical_replication_slot('bench_ml', 'wal2json')",
                    )
            except Exception as exc:  # an anchor that cannot do CDC here is reported, not fatal
                self.results.append(Result(name, "cdc", "skipped", note=str(exc)[-400:]))
                continue
            dest = self.dest_db(name, "cdc")
            self.say(f"pg_series: {name} CDC initial run")
            t = self.run_tool(c, "cdc", work, dest, None)
            if not t.ok:
                self.results.append(Result(name, "cdc", "failed", note=f"initial run: {t.error}"))
                continue
            started[name] = (work, dest, self.last_state(work))
        if not started:
            return
        self.say(f"pg_series: making {self.changes} row changes")
        t0 = time.monotonic()
        cfg = self.cluster.config
        step = 10_000
        for lo in range(1, self.changes + 1, step):
            hi = min(lo + step - 1, self.changes)
            first, last = (lo - 1) % self.rows + 1, (hi - 1) % self.rows + 1
            sql(
                cfg,
                f"UPDATE public.orders SET amount = amount + 1, updated_at = now() WHERE id BETWEEN {first} AND {max(first, last)}",
            )
        self.say(f"pg_series: changes made in {time.monotonic() - t0:.1f}s")
        after = checksum(cfg, "public.orders", SRC_DB, self.changes)
        for name, (work, dest, state) in started.items():
            if name == "tapwell" and "raw" in ready:
                self.raw_cdc()
            if name == "tapwell":
                # Its tap alone reads the changes from a copy of the slot: psycopg2 moves a slot's
                # confirmed position to a keepalive's WAL end before the first change arrives, so a
                # second read from the same slot and state would stop ("confirmed past the state").
                cfg_alone = {**self.tap_config(ready[name]), "replication_slot": ALONE_SLOT}
                sql(cfg, f"SELECT pg_copy_logical_replication_slot('{default_slot(SRC_DB)}', '{ALONE_SLOT}')")  # fmt: skip
                (work / "tap-alone.json").write_text(json.dumps(cfg_alone))
                self.tap_only(ready[name], work, state, work / "tap-alone.json")
            self.say(f"pg_series: {name} CDC of the changes")
            t = self.run_tool(ready[name], "cdc", work, dest, state)
            result = self.record(ready[name], "cdc", t, self.changes, dest, after)
            self.results.append(result)
            if result.status == "failed" and name == "pipelinewise":
                # its target refused a value (PipelineWise sends wal2json numerics as floats);
                # it confirms only the state it starts from too, so its tap alone reads them again
                self.tap_only(ready[name], work, state)

    def raw_cdc(self) -> None:
        """The source's own limit for CDC: the server decodes the changes with pgoutput (as our
        tap asks for them) into a count, from a copy of our slot; no client decodes anything."""
        self.say("pg_series: raw CDC (the server's pgoutput decoding, counted)")
        cfg = self.cluster.config
        sql(cfg, f"SELECT pg_copy_logical_replication_slot('{default_slot(SRC_DB)}', '{RAW_SLOT}')")
        query = (
            f"SELECT count(*) FROM pg_logical_slot_get_binary_changes('{RAW_SLOT}', NULL, NULL, "
            "'proto_version', '1', 'publication_names', 'tapwell')"
        )
        out = self.work / "raw" / "cdc-count.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        step = Step("psql-out", ["psql", "-h", cfg["host"], "-p", str(cfg["port"]), "-U", "postgres",
                                 "-d", SRC_DB, "-Atc", query])  # fmt: skip
        t = run_pipeline([step], self.work / "raw" / "logs-cdc", stdout=out)
        n = out.read_text().strip() if t.ok else ""
        self.results.append(
            Result(
                "raw",
                "cdc",
                "ok" if t.ok else "failed",
                self.changes,
                round(t.wall_s, 2),
                note=t.error or f"{n} pgoutput messages",
            )  # fmt: skip
        )

    def tap_only(self, c: Contender, work: Path, state: Path, config: Path | None = None) -> None:
        """The CDC run's tap into a file: its own speed, whatever a target makes of its output."""
        self.say(f"pg_series: {c.name} CDC, tap alone")
        argv = [*self.tap_argv(c), "--config", str(config or work / "tap.json"), c.catalog_flag,
                str(work / "catalog-LOG_BASED.json"), "--state", str(state)]  # fmt: skip
        out = work / "cdc-tap.singer"
        t = run_pipeline([Step("tap", argv)], work / "logs-tap", stdout=out)
        n = sum(1 for line in out.open("rb") if b'"RECORD"' in line[:40])
        tap = t.procs[0] if t.procs else None
        r = Result(c.name, "cdc-tap", "ok" if t.ok and n >= self.changes else "failed", n,
                   round(t.wall_s, 2), round(tap.max_rss_mb, 1) if tap else 0.0,
                   round(tap.cpu_s, 2) if tap else 0.0, note=t.error or f"{n} records")  # fmt: skip
        self.results.append(r)

    def document(self) -> dict[str, Any]:
        def ratio(r: Result, base: str) -> float | None:
            ref = next(
                (
                    x
                    for x in self.results
                    if x.tool == base and x.stage == r.stage and x.status == "ok"
                ),
                None,
            )
            return round(r.rate / ref.rate, 2) if ref and ref.rate and r.rate else None

        rows = []
        for r in self.results:
            d = {**r.__dict__, "rows_per_s": round(r.rate), "vs_raw": ratio(r, "raw")}
            anchors = [
                x
                for x in self.results
                if x.tool in ("pipelinewise", "meltanolabs")
                and x.stage == r.stage
                and x.status == "ok"
            ]
            best = max(anchors, key=lambda x: x.rate, default=None)
            d["vs_faster_anchor"] = round(r.rate / best.rate, 2) if best and r.rate else None
            rows.append(d)
        return {"series": "postgres->postgres", "rows": self.rows, "changes": self.changes, "cpus": os.cpu_count(),
                "loadavg": os.getloadavg(), "results": rows}  # fmt: skip


def table(doc: dict[str, Any]) -> str:
    head = f"{'tool':<13} {'stage':<5} {'status':<8} {'rows':>9} {'wall s':>8} {'rows/s':>9} {'vs raw':>7} {'vs anchor':>9} {'tap RSS MB':>10}  note"
    lines = [head, "-" * len(head)]
    for r in doc["results"]:
        lines.append(
            f"{r['tool']:<13} {r['stage']:<5} {r['status']:<8} {r['rows']:>9} {r['wall_s']:>8} {r['rows_per_s']:>9} "
            f"{r['vs_raw'] or '':>7} {r['vs_faster_anchor'] or '':>9} {r['tap_rss_mb']:>10}  {r['note'][:120]}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.pg_series", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument(
        "--changes", type=int, default=None, help="row changes for CDC (default: --rows)"
    )
    p.add_argument("--tools", default="raw,tapwell,tapwell-batch,pipelinewise,meltanolabs")
    p.add_argument("--stages", default="full,cdc", help="full, cdc or both (default)")
    p.add_argument("--keep-dest", action="store_true", help="keep the destination databases")
    p.add_argument(
        "--dest-prefix",
        default=None,
        help="destination databases are PREFIX_TOOL_STAGE (default: bench_pg_PID, unique per run)",
    )
    p.add_argument("--results-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    a = p.parse_args(argv)
    work = Path(__file__).resolve().parent / "data" / "pg_series"
    series = Series(
        a.rows, a.changes or a.rows, work, lambda line: print(line, file=sys.stderr, flush=True)
    )
    series.keep_dest = a.keep_dest
    if a.dest_prefix:
        series.dest_prefix = a.dest_prefix
    stages = tuple(s.strip() for s in a.stages.split(",") if s.strip())
    doc = series.run([t.strip() for t in a.tools.split(",")], stages)
    a.results_dir.mkdir(parents=True, exist_ok=True)
    out = a.results_dir / f"pg-series-{time.strftime('%Y%m%d-%H%M%S')}-{a.rows}.json"
    out.write_text(json.dumps(doc, indent=2))
    print(table(doc))
    print(f"\nresults: {out}")
    return 1 if any(r["status"] == "wrong" for r in doc["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
