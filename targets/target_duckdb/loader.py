"""Load batches into DuckDB: stage as JSON lines, then delete-and-insert by key in one transaction.

No PRIMARY KEY constraint is declared on the tables: DuckDB checks constraints eagerly inside a
transaction, so deleting and re-inserting a key in one commit would fail. Keys are enforced by
the merge itself: a batch is deduplicated (the last record of a key wins) and every key it holds
is deleted before the batch is inserted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

import duckdb
from tapwell.errors import ConfigError, SyncError
from tapwell.target import Batch, StreamSpec
from tapwell.wire import dumps

from target_duckdb.ddl import base_type, columns_of, qualified, quote, wider
from target_duckdb.types import staging_transform, staging_type

STATE_TABLE = "_tapwell_state"


@dataclass
class Table:
    name: str
    columns: dict[str, str]  # column -> DuckDB type, as the table has them now
    keys: list[str] = field(default_factory=list)


class DuckDBLoader:
    def __init__(self, config: dict[str, Any]) -> None:
        self.path = str(
            config.get("path")
            or config.get("database")
            or config.get("filepath")
            or "warehouse.duckdb"
        )
        self.schema = str(config.get("default_target_schema") or config.get("schema") or "main")
        self.hard_delete = bool(config.get("hard_delete", False))
        self.load_method = str(config.get("load_method") or "upsert")
        if self.load_method not in ("upsert", "append-only", "overwrite"):
            raise ConfigError(
                f"config key load_method: {self.load_method!r} is not one of upsert, append-only, overwrite"
            )
        self.state_id = str(config.get("state_id") or "default")
        if os.path.dirname(self.path):
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
        try:
            self.con = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise ConfigError(f"cannot open DuckDB file {self.path}: {exc}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        row = self.con.execute("SELECT current_database()").fetchone()
        self.catalog = str(row[0]) if row else "memory"
        try:
            self.con.execute(
                f"CREATE SCHEMA IF NOT EXISTS {quote(self.catalog)}.{quote(self.schema)}"
            )
        except duckdb.Error as exc:
            raise ConfigError(
                f"cannot create schema {self.schema!r} in {self.path}: {exc}"
            ) from None
        self.tables: dict[str, Table] = {}
        self.overwritten: set[str] = set()
        self.tmp = tempfile.mkdtemp(prefix="target-duckdb-")

    # ------------------------------------------------------------------ tables

    def _qualified(self, table: str) -> str:
        return f"{quote(self.catalog)}.{qualified(self.schema, table)}"

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [self.catalog, self.schema, table],
        ).fetchall()
        return {name: dtype for name, dtype in rows}

    def prepare(self, spec: StreamSpec) -> None:
        try:
            self._prepare(spec)
        except duckdb.Error as exc:
            raise SyncError(
                f"stream {spec.name!r}: cannot create or change its table: {str(exc).splitlines()[0]}"
            ) from None

    def _prepare(self, spec: StreamSpec) -> None:
        wanted = columns_of(spec.schema)
        lowered: dict[str, str] = {}
        for col in wanted:
            if col.lower() in lowered:
                raise SyncError(
                    f"stream {spec.name!r}: columns {lowered[col.lower()]!r} and {col!r} differ only in case, which DuckDB cannot tell apart"
                )
            lowered[col.lower()] = col
        for key in spec.key_properties:
            if key not in wanted:
                raise SyncError(f"stream {spec.name!r}: key property {key!r} is not in the schema")
        table = spec.name
        existing = self._existing_columns(table)
        target = self._qualified(table)
        if not existing:
            cols = ", ".join(f"{quote(c)} {t}" for c, t in wanted.items())
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {target} ({cols})")
            existing = dict(wanted)
        else:
            by_lower = {c.lower(): c for c in existing}
            for col, sqltype in wanted.items():
                have = by_lower.get(col.lower())
                if have is None:
                    self.con.execute(f"ALTER TABLE {target} ADD COLUMN {quote(col)} {sqltype}")
                    existing[col] = sqltype
                    continue
                new = wider(existing[have], sqltype)
                if new is not None:
                    self.con.execute(f"ALTER TABLE {target} ALTER COLUMN {quote(have)} TYPE {new}")
                    existing[have] = new
        self.tables[spec.name] = Table(table, existing, list(spec.key_properties))

    def _ensure_column(self, table: Table, column: str, sqltype: str) -> None:
        if column not in table.columns:
            self.con.execute(
                f"ALTER TABLE {self._qualified(table.name)} ADD COLUMN {quote(column)} {sqltype}"
            )
            table.columns[column] = sqltype

    # ------------------------------------------------------------------ loading

    def load(self, batches: list[Batch], state: dict[str, Any] | None) -> None:
        self.con.execute("BEGIN TRANSACTION")
        try:
            for batch in batches:
                self._load_batch(batch)
            if state is not None:
                self._save_state(state)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _load_batch(self, batch: Batch) -> None:
        table = self.tables[batch.spec.name]
        keys = table.keys if self.load_method == "upsert" else []
        if batch.version is not None:
            self._ensure_column(table, "_sdc_table_version", "BIGINT")
        records = batch.records
        if keys:
            last: dict[tuple[Any, ...], dict[str, Any]] = {}
            for r in records:
                last[tuple(r.get(k) for k in keys)] = r
            records = list(last.values())
        deleted = self.hard_delete and "_sdc_deleted_at" in table.columns

        transforms = {
            c: fn
            for c, t in table.columns.items()
            if (fn := staging_transform(base_type(t))) is not None
        }
        path = os.path.join(self.tmp, "batch.jsonl")
        with open(path, "wb") as f:
            write = f.write
            version = batch.version
            for r in records:
                if transforms or version is not None:
                    r = dict(r)
                    for c, convert in transforms.items():
                        if c in r:
                            r[c] = convert(r[c])
                    if version is not None:
                        r["_sdc_table_version"] = version
                write(dumps(r) + b"\n")

        target = self._qualified(table.name)
        cols = list(table.columns)
        staging_cols = {c: staging_type(base_type(t)) for c, t in table.columns.items()}
        select = ", ".join(f"CAST({quote(c)} AS {table.columns[c]}) AS {quote(c)}" for c in cols)
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE _tapwell_stage AS SELECT {select} "
                "FROM read_json(?, format = 'newline_delimited', columns = ?, maximum_object_size = 1073741824)",
                [path, staging_cols],
            )
            if self.load_method == "overwrite" and batch.spec.name not in self.overwritten:
                self.con.execute(f"DELETE FROM {target}")
                self.overwritten.add(batch.spec.name)
            if keys:
                match = " AND ".join(
                    f"t.{quote(k)} IS NOT DISTINCT FROM s.{quote(k)}" for k in keys
                )
                self.con.execute(
                    f"DELETE FROM {target} AS t USING _tapwell_stage AS s WHERE {match}"
                )
            where = " WHERE _sdc_deleted_at IS NULL" if deleted else ""
            collist = ", ".join(quote(c) for c in cols)
            self.con.execute(
                f"INSERT INTO {target} ({collist}) SELECT {collist} FROM _tapwell_stage{where}"
            )
        except duckdb.Error as exc:
            raise SyncError(
                f"stream {batch.spec.name!r}, input lines {batch.first_line}-{batch.last_line}: "
                f"DuckDB refused the batch: {str(exc).splitlines()[0]}"
            ) from None

    def activate_version(self, spec: StreamSpec, version: int) -> None:
        table = self.tables.get(spec.name)
        if table is None or "_sdc_table_version" not in table.columns:
            return
        target = self._qualified(table.name)
        self.con.execute("BEGIN TRANSACTION")
        try:
            if self.hard_delete:
                self.con.execute(
                    f"DELETE FROM {target} WHERE _sdc_table_version IS DISTINCT FROM ?", [version]
                )
            else:
                self._ensure_column(table, "_sdc_deleted_at", "TIMESTAMPTZ")
                self.con.execute(
                    f"UPDATE {target} SET _sdc_deleted_at = now() "
                    "WHERE _sdc_table_version IS DISTINCT FROM ? AND _sdc_deleted_at IS NULL",
                    [version],
                )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _save_state(self, state: dict[str, Any]) -> None:
        self.con.execute(
            f"CREATE TABLE IF NOT EXISTS {self._qualified(STATE_TABLE)} "
            "(id VARCHAR, value JSON, updated_at TIMESTAMPTZ)"
        )
        self.con.execute(
            f"DELETE FROM {self._qualified(STATE_TABLE)} WHERE id = ?", [self.state_id]
        )
        self.con.execute(
            f"INSERT INTO {self._qualified(STATE_TABLE)} VALUES (?, ?, now())",
            [self.state_id, dumps(state).decode()],
        )

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
