"""One benchmark invocation: generate (or reuse) the source table, then for each tool in turn
the full sync, tap-only and target-only runs, each checked against the source checksum, and
the ratios to the raw limit and to PipelineWise measured in this same run."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.checksum import Checksum
from bench.dest import PostgresDest, dest_checksum
from bench.lock import exclusive_run
from bench.measure import Step, Timing, run_pipeline
from bench.servers import delta, server_cpu
from bench.source import MySQLSource, ensure_table, source_checksum
from bench.tools import Context, Tool, Unavailable, build_tools
from bench.variants import GENERATOR_VERSION, VARIANTS

ALL_STAGES = ("full", "tap", "target")


@dataclass
class Options:
    rows: int = 1_000_000
    variant: str = "orders"
    tools: list[str] = field(default_factory=lambda: [t.name for t in build_tools()])
    stages: tuple[str, ...] = ALL_STAGES
    source_db: str = "tapwell_bench"
    dest_prefix: str = "bench"
    data_dir: Path = Path(__file__).resolve().parent / "data"
    results_dir: Path = Path(__file__).resolve().parent / "results"
    keep_dest: bool = False
    drop_source: bool = False
    timeout: float = 3600.0


def _stage_record(
    timing: Timing, rows: int | None, correct: bool | None, check: str | None
) -> dict[str, Any]:
    figure = rows if (timing.ok and correct is not False) else None
    return {
        "ok": timing.ok and correct is not False,
        "rows": rows,
        "wall_s": round(timing.wall_s, 3),
        "rows_per_s": round(figure / timing.wall_s, 1) if figure and timing.wall_s > 0 else None,
        "cpu_s": round(timing.cpu_s, 3),
        "processes": [p.as_dict() for p in timing.procs],
        "server_cpu_s": timing.server_cpu_s,
        "correct": correct,
        "check": check,
        "error": timing.error,
    }


def _measured(steps: list[Step], log_dir: Path, stdin: Path | None, timeout: float) -> Timing:
    """run_pipeline, plus the database servers' CPU seconds over the same interval."""
    before = server_cpu()
    timing = run_pipeline(steps, log_dir, stdin=stdin, timeout=timeout)
    timing.server_cpu_s = delta(before, server_cpu())
    return timing


def _count_records(path: Path, raw: bool) -> int:
    count = 0
    with path.open("rb") as f:
        for line in f:
            if raw or b'"RECORD"' in line[:40]:
                count += 1
    return count


class Harness:
    def __init__(self, opts: Options, say: Callable[[str], None] = print) -> None:
        self.opts = opts
        self.say = say
        self.variant = VARIANTS[opts.variant]
        self.src = MySQLSource(database=opts.source_db)
        self.dest = PostgresDest()
        self.ctx = Context(self.variant, self.src, self.dest, opts.data_dir, say)
        self.expected: Checksum | None = None

    # -- one stage -------------------------------------------------------------------------
    def _verify(self, dbname: str, timing: Timing) -> tuple[int | None, bool | None, str | None]:
        assert self.expected is not None
        if not timing.ok:
            return None, None, None
        got = dest_checksum(self.dest, dbname, self.variant)
        if isinstance(got, str):
            return None, False, got
        diffs = self.expected.differences(got)
        return got.rows, not diffs, "; ".join(diffs) or "matches source"

    def _saved_output(self, tool: Tool) -> tuple[Path, int]:
        """The tool's tap output in a file (for the target-only run), made once per data set and,
        for the pinned anchors, reused across runs."""
        raw = tool.name == "raw"
        saved = (
            self.opts.data_dir
            / "saved"
            / self.opts.source_db
            / f"{tool.name}-{self.variant.name}-{self.opts.rows}.{'tsv' if raw else 'singer'}"
        )
        key_file = saved.with_suffix(saved.suffix + ".key")
        key = json.dumps(
            {"db": self.opts.source_db, "gen": GENERATOR_VERSION, "versions": tool.versions()}
        )
        if (
            tool.cache_saved_output
            and saved.exists()
            and key_file.exists()
            and key_file.read_text() == key
        ):
            return saved, _count_records(saved, raw)
        saved.parent.mkdir(parents=True, exist_ok=True)
        key_file.unlink(missing_ok=True)
        timing = run_pipeline(
            tool.tap_steps(self.ctx),
            self.ctx.work(tool.name) / "logs" / "save",
            stdout=saved,
            timeout=self.opts.timeout,
        )
        if not timing.ok:
            raise RuntimeError(f"saving the tap's output failed: {timing.error}")
        count = _count_records(saved, raw)
        if self.expected is not None and count == self.expected.rows:
            key_file.write_text(key)  # only a complete output is worth reusing
        return saved, count

    # -- one tool --------------------------------------------------------------------------
    def run_tool(self, tool: Tool) -> dict[str, Any]:
        result: dict[str, Any] = {
            "tool": tool.name,
            "label": tool.label,
            "status": "ok",
            "note": None,
            "versions": {},
            "stages": {},
        }
        self.say(f"bench: {tool.label}")
        try:
            tool.setup(self.ctx)
        except Unavailable as exc:
            result.update(status="skipped", note=str(exc))
            self.say(f"bench:   skipped: {exc}")
            return result
        result["versions"] = tool.versions()
        for stage in (s for s in tool.stages if s in self.opts.stages):
            if stage == "full":
                record = self._full(tool)
            elif stage == "tap":
                record = self._tap_only(tool)
            else:
                record = self._target_only(tool, result["stages"].get("tap"))
            result["stages"][stage] = record
            self.say(f"bench:   {stage:<6} {_one_line(record)}")
        stages = result["stages"].values()
        if any(r.get("correct") is False for r in stages):
            result["status"] = "wrong"
        elif any(not r.get("ok") for r in stages):
            result["status"] = "failed"
            result["note"] = next(r.get("error") for r in stages if not r.get("ok"))
        return result

    def _dbname(self, tool: Tool, stage: str) -> str:
        return f"{self.opts.dest_prefix}_{tool.name.replace('-', '_')}_{stage}"

    def _full(self, tool: Tool) -> dict[str, Any]:
        dbname = self._dbname(tool, "full")
        return self._load_named(tool, dbname, tool.full_steps(self.ctx, dbname), None)

    def _tap_only(self, tool: Tool) -> dict[str, Any]:
        assert self.expected is not None
        logs = self.ctx.work(tool.name) / "logs" / "tap"
        timing = _measured(tool.tap_steps(self.ctx), logs, None, self.opts.timeout)
        return _stage_record(
            timing,
            self.expected.rows if timing.ok else None,
            None,
            "output to /dev/null: unchecked until the target stage counts the saved output",
        )

    def _target_only(self, tool: Tool, tap: dict[str, Any] | None) -> dict[str, Any]:
        """The target fed from the tap's saved output; the saved record count also checks the
        tap-only run, whose output went to /dev/null."""
        assert self.expected is not None
        try:
            saved, count = self._saved_output(tool)
        except RuntimeError as exc:
            return {"ok": False, "error": str(exc), "rows": None, "rows_per_s": None}
        if tap is not None:
            tap["correct"] = count == self.expected.rows
            tap["check"] = f"saved tap output has {count} records, source has {self.expected.rows}"
            if not tap["correct"]:
                tap.update(ok=False, rows_per_s=None)
        dbname = self._dbname(tool, "target")
        return self._load_named(tool, dbname, tool.target_steps(self.ctx, dbname), saved)

    def _load_named(
        self, tool: Tool, dbname: str, steps: list[Step], stdin: Path | None
    ) -> dict[str, Any]:
        """Load into a fresh database `dbname`, time it, check it against the source, drop it."""
        stage = dbname.rsplit("_", 1)[1]
        self.dest.recreate(dbname)
        try:
            tool.prepare_dest(self.ctx, dbname)
            watch = tool.watch(self.ctx) if stage == "full" else None
            with watch or contextlib.nullcontext():
                timing = _measured(
                    steps, self.ctx.work(tool.name) / "logs" / stage, stdin, self.opts.timeout
                )
            record = _stage_record(timing, *self._verify(dbname, timing))
            if watch is not None:
                record["children"] = watch.figures()
            return record
        finally:
            if not self.opts.keep_dest:
                self.dest.drop(dbname)

    # -- the whole run ---------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """The whole benchmark, holding the run lock on the source and destination names."""
        with exclusive_run(self.src, self.opts.dest_prefix, self.opts.timeout, self.say):
            return self._run()

    def _run(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        load_before = os.getloadavg()
        generate_s = ensure_table(self.src, self.variant, self.opts.rows, self.say)
        self.expected = source_checksum(self.src, self.variant)
        servers = _server_versions(self.src, self.dest)
        if self.expected.rows != self.opts.rows:
            raise RuntimeError(
                f"source table has {self.expected.rows} rows, expected {self.opts.rows}"
            )
        tools = [t for t in build_tools() if t.name in self.opts.tools]
        results = []
        try:
            for tool in tools:
                results.append(self.run_tool(tool))
        finally:
            if self.opts.drop_source:
                self.src.drop()
        add_ratios(results)
        return {
            "benchmark": "full-table sync MariaDB -> PostgreSQL",
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": self.opts.rows,
            "variant": self.variant.name,
            "columns": len(self.variant.columns),
            "source": {
                "database": self.src.database,
                "table": self.variant.table,
                "generate_s": round(generate_s, 2),
                "checksum": self.expected.as_dict(),
                "generator_version": GENERATOR_VERSION,
            },
            "servers": servers,
            "machine": {
                "cores": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            },
            "tools": results,
        }


def _server_versions(src: MySQLSource, dest: PostgresDest) -> dict[str, str]:
    versions = {}
    for name, conn in (("mariadb", src.connect()), ("postgresql", dest.connect())):
        cur = conn.cursor()
        cur.execute("SELECT VERSION()")
        versions[name] = str(cur.fetchone()[0])
        conn.close()
    return versions


def add_ratios(results: list[dict[str, Any]]) -> None:
    """Each stage's rows/s as a fraction of the raw limit's and a multiple of PipelineWise's,
    the same stage measured in this run (None when either side has no valid figure)."""
    by_name = {r["tool"]: r for r in results}
    for r in results:
        for stage, record in r["stages"].items():
            for ref, key in (("raw", "vs_raw"), ("pipelinewise", "vs_pipelinewise")):
                base = by_name.get(ref, {}).get("stages", {}).get(stage, {}).get("rows_per_s")
                mine = record.get("rows_per_s")
                record[key] = round(mine / base, 3) if mine and base else None


def _one_line(record: dict[str, Any]) -> str:
    if record.get("rows_per_s"):
        return f"{record['rows']:,} rows in {record['wall_s']:.1f}s = {record['rows_per_s']:,.0f} rows/s ({record.get('check')})"
    return f"FAILED: {record.get('error') or record.get('check')}"


def save_results(doc: dict[str, Any], results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = results_dir / f"bench-{stamp}-{doc['variant']}-{doc['rows']}.json"
    text = json.dumps(doc, indent=2)
    path.write_text(text)
    (results_dir / "latest.json").write_text(text)
    return path
