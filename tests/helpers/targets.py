"""Each tapwell target run as a user runs it (its executable, a config file, stdin), with a way
to read back what it committed: the rows of a stream and the state stored with them.

`TARGETS` names the three; `make_target(name, tmp_path, pg_db)` gives a TargetRun for one.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.messages import activate, lines, record, schema, state
from helpers.tiers import services_param

__all__ = [
    "TARGETS",
    "TARGET_PARAMS",
    "TargetRun",
    "activate",
    "lines",
    "make_target",
    "record",
    "schema",
    "state",
]

TARGETS = ("target-jsonl", "target-duckdb", "target-postgres")
# TARGETS as parameters: the target-postgres case is marked `services` (it needs `pg_db`).
TARGET_PARAMS = [services_param(t) if t == "target-postgres" else t for t in TARGETS]


@dataclass
class TargetRun:
    """One target and its destination under a test's temp folder (or its pg_db database)."""

    name: str
    bin_path: Path
    tmp_path: Path
    config: dict[str, Any] = field(default_factory=dict)

    def run(self, data: bytes, **settings: Any) -> subprocess.CompletedProcess[bytes]:
        cfg = self.tmp_path / f"{self.name}.json"
        cfg.write_text(json.dumps({**self.config, **settings}))
        return subprocess.run(
            [str(self.bin_path / self.name), "--config", str(cfg)],
            input=data,
            capture_output=True,
            timeout=300,
        )

    def live_ids(self, stream: str) -> list[Any]:
        """The `id` of every row of `stream` not deleted (hard or `_sdc_deleted_at`), sorted."""
        if self.name == "target-jsonl":
            path = Path(self.config["destination_path"]) / f"{stream}.jsonl"
            if not path.exists():
                return []
            rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            return sorted(r.get("id") for r in rows if not r.get("_sdc_deleted_at"))
        return sorted(r[0] for r in self.query(stream, "id", live=True))

    def query(self, stream: str, columns: str, live: bool = False) -> list[tuple[Any, ...]]:
        """`SELECT columns FROM stream` in a SQL destination ([] when the table is not there)."""
        table = '"' + stream.replace('"', '""') + '"'
        where = ""
        if live and "_sdc_deleted_at" in self.columns(stream):
            where = " WHERE _sdc_deleted_at IS NULL"
        if not self.columns(stream):
            return []
        return self.sql(f"SELECT {columns} FROM {table}{where}")

    def columns(self, stream: str) -> list[str]:
        if self.name == "target-duckdb":
            sql = "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
        else:
            sql = "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
        return [r[0] for r in self.sql(sql, (stream,))]

    def sql(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        if self.name == "target-duckdb":
            import duckdb

            path = Path(self.config["path"])
            if not path.exists():
                return []
            con = duckdb.connect(str(path), read_only=True)
            try:
                return con.execute(sql, params or []).fetchall()
            finally:
                con.close()
        import psycopg2

        c = self.config
        conn = psycopg2.connect(host=c["host"], port=c["port"], user=c["user"], dbname=c["dbname"])
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def stored_state(self) -> Any:
        """The state committed with the data (SQL targets keep it in their state table)."""
        if self.name == "target-jsonl":
            return None
        table = "_tapwell_state" if self.name == "target-duckdb" else "tapwell_state"
        if not self.columns(table):
            return None
        rows = self.sql(f"SELECT value FROM {table}")
        if not rows:
            return None
        value = rows[0][0]
        return json.loads(value) if isinstance(value, str) else value


def make_target(
    name: str, bin_path: Path, tmp_path: Path, pg_db: dict[str, Any] | None = None
) -> TargetRun:
    """A TargetRun for `name` with its destination in `tmp_path` (target-postgres: `pg_db`)."""
    if name == "target-jsonl":
        config: dict[str, Any] = {"destination_path": str(tmp_path / "out")}
    elif name == "target-duckdb":
        config = {"path": str(tmp_path / "warehouse.duckdb")}
    else:
        assert pg_db is not None, "target-postgres needs the pg_db fixture"
        config = dict(pg_db)
    return TargetRun(name, bin_path, tmp_path, config)
