"""The contenders: the raw limit (mysql | psql \\copy), the anchors (PipelineWise, MeltanoLabs)
and tapwell (tap-mysql | target-postgres, and the runner's `tapwell run`). Each knows how to
set itself up (install, discover, select) and the commands of its full, tap-only and
target-only runs; the harness does the timing and checking the same way for all of them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dest import PostgresDest
from bench.lane_watch import LaneWatch
from bench.measure import Step, probe
from bench.selection import SelectionError, select_full_table
from bench.source import MySQLSource
from bench.variants import Variant, copy_text_select, pg_create_table_sql
from bench.venvs import ANCHORS, Anchor, InstallError, ensure, installed_versions

REPO_BIN = Path(sys.executable).parent
DEST_SCHEMA = "bench"


@dataclass
class Context:
    variant: Variant
    src: MySQLSource
    dest: PostgresDest
    data_dir: Path
    say: Callable[[str], None]

    def work(self, tool: str) -> Path:
        path = self.data_dir / "work" / self.src.database / tool
        path.mkdir(parents=True, exist_ok=True)
        return path


class Unavailable(Exception):
    """The tool cannot run here (not installed, not working yet); the message says why."""


class Tool:
    """Base of the contenders: the harness calls setup() once, then the *_steps() per stage."""

    name = ""
    label = ""
    stages: tuple[str, ...] = ("full", "tap", "target")
    cache_saved_output = (
        False  # reuse bench/data/<tool>.singer across runs (anchors: pinned versions)
    )

    def setup(self, ctx: Context) -> None:
        """Raise Unavailable when the tool cannot run."""

    def prepare_dest(self, ctx: Context, dbname: str) -> None:
        """Anything the destination needs before a load (the raw limit's table)."""

    def tap_steps(self, ctx: Context) -> list[Step]:
        raise NotImplementedError

    def target_steps(self, ctx: Context, dbname: str) -> list[Step]:
        raise NotImplementedError

    def full_steps(self, ctx: Context, dbname: str) -> list[Step]:
        return self.tap_steps(ctx) + self.target_steps(ctx, dbname)

    def versions(self) -> dict[str, str]:
        return {}

    def watch(self, ctx: Context) -> LaneWatch | None:
        """A watch on the processes a runner spawns (their own peak RSS), or None."""
        return None


def _version_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


class RawLimit(Tool):
    """No Singer at all: the server renders COPY text, `mysql --quick -B --raw` streams it,
    `psql \\copy` loads it. What the hardware allows; everyone else is a fraction of it."""

    name = "raw"
    label = "raw limit: mysql --quick -B | psql \\copy"

    def setup(self, ctx: Context) -> None:
        for exe in ("mysql", "psql"):
            if subprocess.run(["which", exe], capture_output=True).returncode != 0:
                raise Unavailable(f"the {exe} client is not installed")

    def tap_steps(self, ctx: Context) -> list[Step]:
        s = ctx.src
        return [
            Step(
                "mysql",
                [
                    "mysql",
                    "--quick",
                    "--batch",
                    "--raw",
                    "--skip-column-names",
                    "--default-character-set=utf8mb4",
                    "--init-command=SET time_zone = '+00:00'",
                    "-h",
                    s.host,
                    "-P",
                    str(s.port),
                    "-u",
                    s.user,
                    s.database,
                    "-e",
                    copy_text_select(ctx.variant),
                ],
                env={"MYSQL_PWD": s.password},
            )
        ]

    def target_steps(self, ctx: Context, dbname: str) -> list[Step]:
        d = ctx.dest
        copy = f'\\copy "{DEST_SCHEMA}"."{ctx.variant.table}" FROM STDIN'
        return [
            Step(
                "psql",
                [
                    "psql",
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    d.host,
                    "-p",
                    str(d.port),
                    "-U",
                    d.user,
                    "-d",
                    dbname,
                    "-c",
                    copy,
                ],
                env={"PGPASSWORD": d.password, "PGTZ": "UTC", "PGCLIENTENCODING": "UTF8"},
            )
        ]

    def prepare_dest(self, ctx: Context, dbname: str) -> None:
        conn = ctx.dest.connect(dbname)
        conn.cursor().execute(f'CREATE SCHEMA IF NOT EXISTS "{DEST_SCHEMA}"')
        conn.cursor().execute(pg_create_table_sql(ctx.variant, DEST_SCHEMA))
        conn.close()

    def versions(self) -> dict[str, str]:
        return {
            "mysql": _version_line(["mysql", "--version"]),
            "psql": _version_line(["psql", "--version"]),
        }


class SingerPair(Tool):
    """A Singer tap piped into a Singer target, each with a JSON config; the catalog comes from
    the tap's own --discover with the benchmark table selected FULL_TABLE."""

    def __init__(
        self,
        name: str,
        label: str,
        tap: Path,
        target: Path,
        tap_config: Callable[[MySQLSource], dict[str, Any]],
        target_config: Callable[[PostgresDest, str], dict[str, Any]],
        anchors: tuple[Anchor, ...] = (),
    ) -> None:
        self.name, self.label = name, label
        self.tap, self.target = tap, target
        self._tap_config, self._target_config = tap_config, target_config
        self.anchors = anchors
        self.cache_saved_output = bool(anchors)
        self.catalog: Path | None = None
        self.tap_config_path: Path | None = None

    def setup(self, ctx: Context) -> None:
        for anchor in self.anchors:
            try:
                ensure(anchor, ctx.say)
            except InstallError as exc:
                raise Unavailable(f"{anchor.name} did not install: {exc}") from None
        for exe in (self.tap, self.target):
            why = probe([str(exe), "--help"])
            if why:
                raise Unavailable(why)
        work = ctx.work(self.name)
        self.tap_config_path = work / "tap_config.json"
        self.tap_config_path.write_text(json.dumps(self._tap_config(ctx.src), indent=2))
        proc = subprocess.run(
            [str(self.tap), "--config", str(self.tap_config_path), "--discover"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            raise Unavailable(
                f"{self.tap.name} --discover exited {proc.returncode}: {lines[-1] if lines else ''}"
            )
        try:
            catalog = select_full_table(
                json.loads(proc.stdout), ctx.src.database, ctx.variant.table
            )
        except (ValueError, SelectionError) as exc:
            raise Unavailable(f"{self.tap.name} --discover: {exc}") from None
        self.catalog = work / "catalog.json"
        self.catalog.write_text(json.dumps(catalog, indent=2))

    def write_target_config(self, ctx: Context, dbname: str) -> Path:
        path = ctx.work(self.name) / f"target_config_{dbname}.json"
        path.write_text(json.dumps(self._target_config(ctx.dest, dbname), indent=2))
        return path

    def tap_steps(self, ctx: Context) -> list[Step]:
        assert self.tap_config_path and self.catalog
        argv = [
            str(self.tap),
            "--config",
            str(self.tap_config_path),
            "--catalog",
            str(self.catalog),
        ]
        return [Step(self.tap.name, argv)]

    def target_steps(self, ctx: Context, dbname: str) -> list[Step]:
        argv = [str(self.target), "--config", str(self.write_target_config(ctx, dbname))]
        return [Step(self.target.name, argv)]

    def versions(self) -> dict[str, str]:
        if self.anchors:
            out: dict[str, str] = {}
            for anchor in self.anchors:
                out.update(installed_versions(anchor))
            return out
        return _tapwell_versions()


def _tapwell_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("tapwell")
    except PackageNotFoundError:
        ours = "unknown"
    here = Path(__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(here), "status", "--porcelain", "--", "taps", "targets", "runner"],
        capture_output=True,
        text=True,
    )
    return {
        "tapwell": ours,
        "commit": commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else ""),
    }


class TapwellRun(Tool):
    """The runner on the same integration: `tapwell run` spawns tap-mysql | target-postgres itself
    and saves state. Its figures include the runner's children (wait4 accumulates them)."""

    name = "tapwell-run"
    label = "tapwell run (runner: tap-mysql | target-postgres)"
    stages = ("full",)

    def __init__(self, pair: SingerPair) -> None:
        self.pair = pair
        self.project: Path | None = None

    def setup(self, ctx: Context) -> None:
        if self.pair.catalog is None:
            self.pair.setup(ctx)
        why = probe([str(REPO_BIN / "tapwell"), "--help"])
        if why:
            raise Unavailable(why)
        self.project = ctx.work(self.name)
        (self.project / "catalogs").mkdir(exist_ok=True)
        assert self.pair.catalog is not None
        (self.project / "catalogs" / "bench.json").write_text(self.pair.catalog.read_text())

    def watch(self, ctx: Context) -> LaneWatch | None:
        assert self.project is not None
        names = ("tap-mysql", "target-postgres")
        return LaneWatch(self.project, names, self.project / "state" / "spool")

    def full_steps(self, ctx: Context, dbname: str) -> list[Step]:
        assert self.project is not None
        project = {
            "version": 1,
            "state": {"backend": "file", "path": "state"},
            "catalogs": "catalogs",
            "integrations": {
                "bench": {
                    "tap": {"name": "tap-mysql", "config": self.pair._tap_config(ctx.src)},
                    "target": {
                        "name": "target-postgres",
                        "config": self.pair._target_config(ctx.dest, dbname),
                    },
                    "fast_lane": "off",  # RECORD lines (tapwell-batch: the lane)
                }
            },
        }
        (self.project / "tapwell.yml").write_text(json.dumps(project, indent=2))  # JSON is YAML
        argv = [
            str(REPO_BIN / "tapwell"),
            "--project",
            str(self.project),
            "run",
            "bench",
            "--full-refresh",
        ]
        return [Step("tapwell", argv)]

    def versions(self) -> dict[str, str]:
        return _tapwell_versions()


class TapwellBatch(TapwellRun):
    """`tapwell run` with `fast_lane: on`: the runner gives tap-mysql a spool folder and the pair
    speak BATCH messages (csv files COPYed straight from disk) instead of RECORD lines (issue 19).
    Runner start-up and the spool's clean-up are inside the timing, as for `tapwell-run`."""

    name = "tapwell-batch"
    label = "tapwell run, fast lane: tap-mysql =csv files=> target-postgres"

    def full_steps(self, ctx: Context, dbname: str) -> list[Step]:
        steps = super().full_steps(ctx, dbname)
        assert self.project is not None
        project = json.loads((self.project / "tapwell.yml").read_text())
        project["integrations"]["bench"]["fast_lane"] = "on"
        (self.project / "tapwell.yml").write_text(json.dumps(project, indent=2))
        return steps


class TapwellFanout(TapwellRun):
    """`tapwell run` with `targets:` target-postgres and target-duckdb: one tap-mysql, its bytes
    copied by the runner to both (issue 16). The PostgreSQL load is checked like every other;
    the DuckDB file is rewritten from scratch each run."""

    name = "tapwell-fanout"
    label = "tapwell run, fan-out: tap-mysql | {target-postgres, target-duckdb}"

    def full_steps(self, ctx: Context, dbname: str) -> list[Step]:
        steps = super().full_steps(ctx, dbname)
        assert self.project is not None
        duck = self.project / f"{dbname}.duckdb"
        for stale in (duck, duck.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)
        project = json.loads((self.project / "tapwell.yml").read_text())
        bench = project["integrations"]["bench"]
        bench["targets"] = [
            bench.pop("target"),
            {
                "name": "target-duckdb",
                "config": {"path": str(duck), "default_target_schema": DEST_SCHEMA},
            },
        ]
        (self.project / "tapwell.yml").write_text(json.dumps(project, indent=2))
        return steps


class MapperPipe(SingerPair):
    """tap-mysql | mapper-stream-maps | target-postgres, as a shell pipeline would run them:
    `hash` maps one column of few values (status, through hmac_sha256), `hash-unique` one of
    unique values (note: ~60 characters, NULL on every tenth row, escapes on every thousandth),
    `pass` maps a stream the tap does not have, so every line passes as bytes. The mapper's own
    CPU is in its process figures."""

    stages = ("full", "target")

    def __init__(self, pair: SingerPair, mode: str) -> None:
        super().__init__(
            f"tapwell-mapper-{mode}",
            f"tapwell: tap-mysql | mapper-stream-maps ({mode}) | target-postgres",
            pair.tap,
            pair.target,
            pair._tap_config,
            pair._target_config,
        )
        self.mode = mode

    def mapper_step(self, ctx: Context) -> Step:
        maps: dict[str, Any] = {
            "hash": {"*orders*": {"status": "hmac_sha256(status)"}},
            "hash-unique": {"*orders*": {"note": "hmac_sha256(note)"}},
            "pass": {"not_a_stream": {"x": None}},
        }[self.mode]
        path = ctx.work(self.name) / "mapper.json"
        config = {"stream_maps": maps, "stream_map_config": {"hash_key": "bench-key"}}
        path.write_text(json.dumps(config))
        return Step(
            "mapper-stream-maps", [str(REPO_BIN / "mapper-stream-maps"), "--config", str(path)]
        )

    def target_steps(self, ctx: Context, dbname: str) -> list[Step]:
        return [self.mapper_step(ctx), *super().target_steps(ctx, dbname)]


def _mysql_conf(src: MySQLSource) -> dict[str, Any]:
    return {"host": src.host, "port": src.port, "user": src.user, "password": src.password}


def build_tools() -> list[Tool]:
    """Every contender, in the order they run."""
    pw_tap, pw_target = ANCHORS["pipelinewise-tap-mysql"], ANCHORS["pipelinewise-target-postgres"]
    ml_tap, ml_target = ANCHORS["meltanolabs-tap-mysql"], ANCHORS["meltanolabs-target-postgres"]
    tapwell = SingerPair(
        "tapwell",
        "tapwell: tap-mysql | target-postgres",
        REPO_BIN / "tap-mysql",
        REPO_BIN / "target-postgres",
        lambda s: {**_mysql_conf(s), "database": s.database, "filter_dbs": s.database},
        lambda d, db: {**d.config(db), "database": db, "default_target_schema": DEST_SCHEMA},
    )
    return [
        RawLimit(),
        SingerPair(
            "pipelinewise",
            "PipelineWise: pipelinewise-tap-mysql | pipelinewise-target-postgres",
            pw_tap.bin / "tap-mysql",
            pw_target.bin / "target-postgres",
            lambda s: {**_mysql_conf(s), "filter_dbs": s.database},
            # It refuses an empty password even where the server trusts local connections.
            lambda d, db: {
                **d.config(db),
                "password": d.password or "unused-trust-auth",
                "default_target_schema": DEST_SCHEMA,
            },
            anchors=(pw_tap, pw_target),
        ),
        SingerPair(
            "meltanolabs",
            "MeltanoLabs: meltanolabs-tap-mysql | meltanolabs-target-postgres",
            ml_tap.bin / "tap-mysql",
            ml_target.bin / "target-postgres",
            lambda s: {**_mysql_conf(s), "database": s.database, "filter_schemas": [s.database]},
            lambda d, db: {
                **{k: v for k, v in d.config(db).items() if k != "dbname"},
                "database": db,
                "default_target_schema": DEST_SCHEMA,
            },
            anchors=(ml_tap, ml_target),
        ),
        tapwell,
        TapwellRun(tapwell),
        TapwellBatch(tapwell),
        TapwellFanout(tapwell),
        MapperPipe(tapwell, "pass"),
        MapperPipe(tapwell, "hash"),
        MapperPipe(tapwell, "hash-unique"),
    ]
