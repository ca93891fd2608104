"""Load batches into DuckDB: stage as JSON lines, then delete-and-insert by key in one transaction.

No PRIMARY KEY constraint is declared on the tables: DuckDB checks constraints eagerly inside a
transaction, so deleting and re-inserting a key in one commit would fail. Keys are enforced by
the merge itself: a batch is deduplicated (the last record of a key wins) and every key it holds
is deleted before the batch is inserted.

The staging table is a real TEMP table (`temp.main._tapwell_stage`), so a user's table of that
name is never touched; the state table `_tapwell_state` is only written when it is ours.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

import duckdb
from tapwell.sdk.sql_names import quote_ident
from tapwell.sdk.target import Batch, StreamSpec
from tapwell.singer.errors import ConfigError, ProtocolError, RetriableSyncError, SyncError
from tapwell.singer.wire import dumps

from . import ddl
from .config import DuckDBConfig, StreamSettings
from .ddl import base_type, columns_of
from .types import Refused, staging_transform, staging_type, value_check

STATE_TABLE = "_tapwell_state"
STATE_COLUMNS = {"id": "VARCHAR", "value": "JSON", "updated_at": "TIMESTAMPTZ"}
STATE_MARK = "tapwell: state"
STAGE = "temp.main._tapwell_stage"
_HELD_BY = re.compile(r"lock is held in (.*?) \(PID (\d+)\)")


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, str]  # column -> DuckDB type (canonical), as the table has them now
    keys: list[str] = field(default_factory=list)
    settings: StreamSettings = StreamSettings()


def connect(path: str) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file. Another process holding it (a notebook, another integration's
    load) is temporary: exit 75, so the runner retries."""
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        return duckdb.connect(path)
    except duckdb.IOException as exc:
        text = str(exc).splitlines()[0]
        if "lock" in text.lower():
            held = _HELD_BY.search(text)
            who = f"process {held[2]} ({held[1]})" if held else "another process"
            raise RetriableSyncError(
                f"DuckDB file {path} is in use by {who}: close its connection (a notebook, "
                "another integration's load) and run again"
            ) from None
        raise ConfigError(f"cannot open DuckDB file {path}: {text}") from None
    except duckdb.Error as exc:
        raise ConfigError(f"cannot open DuckDB file {path}: {str(exc).splitlines()[0]}") from None


class DuckDBLoader:
    def __init__(self, config: DuckDBConfig | dict[str, Any]) -> None:
        self.config = DuckDBConfig.parse(config)
        self.path = self.config.path
        self.state_id = self.config.state_id
        self.con = connect(self.path)
        self.con.execute("SET TimeZone = 'UTC'")
        row = self.con.execute("SELECT current_database()").fetchone()
        self.catalog = str(row[0]) if row else "memory"
        self.schemas: dict[str, str] = {}  # schema as configured -> as DuckDB spells it
        self.schema = self._ensure_schema(self.config.schema)
        self._check_state_table()
        self.tables: dict[str, Table] = {}
        self.owners: dict[tuple[str, str], tuple[str, str]] = {}  # folded -> (stream, table)
        self.overwritten: set[str] = set()
        self.tmp = tempfile.mkdtemp(prefix="target-duckdb-")

    # ------------------------------------------------------------------ tables

    def _qualified(self, schema: str, table: str) -> str:
        return f"{quote_ident(self.catalog)}.{ddl.qualified(schema, table)}"

    def _ensure_schema(self, schema: str) -> str:
        """Create the schema if missing; its name as DuckDB spells it (`Shop` may be `shop`)."""
        if schema in self.schemas:
            return self.schemas[schema]
        problem = ddl.nul_free("schema", schema)
        if problem:
            raise ConfigError(problem)
        try:
            self.con.execute(
                f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.catalog)}.{quote_ident(schema)}"
            )
        except duckdb.Error as exc:
            raise ConfigError(
                f"cannot create schema {schema!r} in {self.path}: {str(exc).splitlines()[0]}"
            ) from None
        rows = self.con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? "
            "AND lower(schema_name) = lower(?)",
            [self.catalog, schema],
        ).fetchall()
        spelled = [str(r[0]) for r in rows if ddl.fold(str(r[0])) == ddl.fold(schema)]
        self.schemas[schema] = spelled[0] if spelled else schema
        return self.schemas[schema]

    def _check_state_table(self) -> None:
        """A table named `_tapwell_state` that is not ours (other columns, no mark) is a user's:
        refuse before anything is written."""
        found = ddl.find_table(self.con, self.catalog, self.schema, STATE_TABLE)
        if found is None or found.comment == STATE_MARK:
            return
        columns = ddl.existing_columns(self.con, self.catalog, self.schema, found.name)
        if columns == STATE_COLUMNS:  # made before tables were marked: ours
            return
        raise ConfigError(
            f"table {self.schema}.{found.name} exists and is not target-duckdb's state table "
            f"(columns {', '.join(columns)}): rename that table, or set default_target_schema "
            "to another schema"
        )

    def prepare(self, spec: StreamSpec) -> None:
        try:
            self._prepare(spec)
        except duckdb.Error as exc:
            raise SyncError(
                f"stream {spec.name!r}: cannot create or change its table: {str(exc).splitlines()[0]}"
            ) from None

    def _prepare(self, spec: StreamSpec) -> None:
        wanted = self._columns(spec)
        settings = self.config.settings_for(spec.name)
        schema_name, table_name = self.config.target_of(spec.name)
        problem = ddl.nul_free("table", table_name)
        if problem:
            raise ProtocolError(problem, stream=spec.name)
        schema = self._ensure_schema(schema_name)
        found = self._claim(spec, schema, table_name)
        table = found.name if found else table_name
        target = self._qualified(schema, table)
        existing = ddl.existing_columns(self.con, self.catalog, schema, table) if found else {}
        if not existing:
            cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in wanted.items())
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {target} ({cols})")
            existing = dict(wanted)
        else:
            by_fold = {ddl.fold(c): c for c in existing}
            for col, sqltype in wanted.items():
                have = by_fold.get(ddl.fold(col))
                if have is None:
                    self.con.execute(
                        f"ALTER TABLE {target} ADD COLUMN {quote_ident(col)} {sqltype}"
                    )
                    existing[col] = sqltype
                    continue
                new = ddl.wider(existing[have], sqltype)
                if new is not None:
                    self.con.execute(
                        f"ALTER TABLE {target} ALTER COLUMN {quote_ident(have)} TYPE {new}"
                    )
                    existing[have] = new
        if found is None or found.owner is None:
            comment = ddl.owner_comment(spec.name, list(spec.key_properties))
            self.con.execute(f"COMMENT ON TABLE {target} IS {ddl.literal(comment)}")
        self.tables[spec.name] = Table(schema, table, existing, list(spec.key_properties), settings)

    def _columns(self, spec: StreamSpec) -> dict[str, str]:
        """Column -> type for the stream's schema; names DuckDB cannot tell apart are refused."""
        wanted = columns_of(spec.schema)
        folded: dict[str, str] = {}
        for col in wanted:
            problem = ddl.nul_free("column", col)
            if problem:
                raise ProtocolError(problem, stream=spec.name, field=col)
            if ddl.fold(col) in folded:
                raise ProtocolError(
                    f"columns {folded[ddl.fold(col)]!r} and {col!r} differ only in case, which "
                    "DuckDB cannot tell apart",
                    stream=spec.name,
                    field=col,
                )
            folded[ddl.fold(col)] = col
        for key in spec.key_properties:
            if key not in wanted:
                raise ProtocolError(
                    "key property is not in the schema", stream=spec.name, field=key
                )
        return wanted

    def _claim(self, spec: StreamSpec, schema: str, table: str) -> ddl.Found | None:
        """The stream's existing table, if any, after making sure no other stream owns it (in
        this run, or in an earlier one: the table's comment) and its keys did not change."""
        where = (ddl.fold(schema), ddl.fold(table))
        fix = 'give one of them its own table with schema_mapping {"<stream>": {"target_table": "..."}}'
        if where == (ddl.fold(self.schema), STATE_TABLE):
            raise ConfigError(
                f"stream {spec.name!r} would load into {schema}.{STATE_TABLE}, where target-duckdb "
                f"keeps its state: map it to another table with schema_mapping"
            )
        other, spelled = self.owners.get(where, (spec.name, table))
        if other != spec.name:
            raise ConfigError(
                f"streams {other!r} and {spec.name!r} would load into one table {schema}.{spelled} "
                f"(DuckDB names ignore case): {fix}"
            )
        found = ddl.find_table(self.con, self.catalog, schema, table)
        owner = found.owner if found else None
        if owner is not None and owner.get("stream") != spec.name:
            raise ConfigError(
                f"stream {spec.name!r} would load into table {schema}.{found.name if found else table}, "
                f"which holds stream {owner.get('stream')!r}: {fix}"
            )
        old = owner.get("key_properties") if owner is not None else None
        settings = self.config.settings_for(spec.name)
        if (
            isinstance(old, list)
            and settings.load_method == "upsert"
            and sorted(old) != sorted(spec.key_properties)
        ):
            raise ProtocolError(
                f"key properties changed from {old} to {list(spec.key_properties)}: table "
                f"{schema}.{table} was merged on {old}. Drop or rename that table and load the "
                "stream again from the start, or map the stream to a new table with schema_mapping",
                stream=spec.name,
            )
        self.owners[where] = (spec.name, found.name if found else table)
        return found

    def _ensure_column(self, table: Table, column: str, sqltype: str) -> None:
        if column not in table.columns:
            self.con.execute(
                f"ALTER TABLE {self._qualified(table.schema, table.name)} ADD COLUMN {quote_ident(column)} {sqltype}"
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

    def _staging_file(self, batch: Batch, table: Table, keys: list[str]) -> str:
        """The batch's rows as JSON lines, each value as its column's staging transform writes
        it; with keys, only the last record of each key."""
        transforms = {
            c: fn
            for c, t in table.columns.items()
            if (fn := staging_transform(base_type(t))) is not None
        }
        version = batch.version
        last: dict[tuple[Any, ...], dict[str, Any]] = {}
        path = os.path.join(self.tmp, "batch.jsonl")
        with open(path, "wb") as f:
            write = f.write
            for r in batch.records:
                if transforms or version is not None:
                    r = dict(r)
                    for c, convert in transforms.items():
                        if c in r:
                            r[c] = convert(r[c])
                    if version is not None:
                        r["_sdc_table_version"] = version
                if keys:  # keyed on the values as staged (JSON keys as their text)
                    last[tuple(r.get(k) for k in keys)] = r
                else:
                    write(dumps(r) + b"\n")
            for r in last.values():
                write(dumps(r) + b"\n")
        return path

    def _refuse_values(self, batch: Batch, table: Table) -> None:
        """Raise for the first value (in input order) that its column cannot hold, naming its
        input line, stream and field; return when there is none."""
        checks = {c: fn for c, t in table.columns.items() if (fn := value_check(t)) is not None}
        for i, r in enumerate(batch.records):
            for c, check in checks.items():
                try:
                    check(r.get(c))
                except Refused as bad:
                    line = batch.lines[i] if i < len(batch.lines) else None
                    raise ProtocolError(
                        str(bad), line=line, stream=batch.spec.name, field=c
                    ) from None

    def _load_batch(self, batch: Batch) -> None:
        table = self.tables[batch.spec.name]
        settings = table.settings
        keys = table.keys if settings.load_method == "upsert" else []
        if batch.version is not None:
            self._ensure_column(table, "_sdc_table_version", "BIGINT")
        deleted = settings.hard_delete and "_sdc_deleted_at" in table.columns
        path = self._staging_file(batch, table, keys)

        target = self._qualified(table.schema, table.name)
        cols = list(table.columns)
        staging_cols = {c: staging_type(base_type(t)) for c, t in table.columns.items()}
        select = ", ".join(
            f"CAST({quote_ident(c)} AS {table.columns[c]}) AS {quote_ident(c)}" for c in cols
        )
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE _tapwell_stage AS SELECT {select} "
                "FROM read_json(?, format = 'newline_delimited', columns = ?, maximum_object_size = 1073741824)",
                [path, staging_cols],
            )
            doubles = [c for c, t in table.columns.items() if t == "DOUBLE"]
            if doubles:  # a number past double's range was read as infinity
                test = " OR ".join(f"isinf({quote_ident(c)})" for c in doubles)
                if self.con.execute(f"SELECT 1 FROM {STAGE} WHERE {test} LIMIT 1").fetchone():
                    self._refuse_values(batch, table)
            if settings.load_method == "overwrite" and batch.spec.name not in self.overwritten:
                self.con.execute(f"DELETE FROM {target}")
                self.overwritten.add(batch.spec.name)
            if keys:
                match = " AND ".join(
                    f"t.{quote_ident(k)} IS NOT DISTINCT FROM s.{quote_ident(k)}" for k in keys
                )
                self.con.execute(f"DELETE FROM {target} AS t USING {STAGE} AS s WHERE {match}")
            where = " WHERE _sdc_deleted_at IS NULL" if deleted else ""
            collist = ", ".join(quote_ident(c) for c in cols)
            self.con.execute(
                f"INSERT INTO {target} ({collist}) SELECT {collist} FROM {STAGE}{where}"
            )
        except duckdb.Error as exc:
            self._refuse_values(batch, table)  # a value named by its line, when that is why
            raise SyncError(
                f"stream {batch.spec.name!r}, input lines {batch.first_line}-{batch.last_line}: "
                f"DuckDB refused the batch: {str(exc).splitlines()[0]}"
            ) from None

    def activate_version(self, spec: StreamSpec, version: int) -> None:
        table = self.tables.get(spec.name)
        if table is None or "_sdc_table_version" not in table.columns:
            return
        target = self._qualified(table.schema, table.name)
        self.con.execute("BEGIN TRANSACTION")
        try:
            if table.settings.hard_delete:
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
        where = self._qualified(self.schema, STATE_TABLE)
        if ddl.find_table(self.con, self.catalog, self.schema, STATE_TABLE) is None:
            cols = ", ".join(f"{c} {t}" for c, t in STATE_COLUMNS.items())
            self.con.execute(f"CREATE TABLE {where} ({cols})")
            self.con.execute(f"COMMENT ON TABLE {where} IS {ddl.literal(STATE_MARK)}")
        self.con.execute(f"DELETE FROM {where} WHERE id = ?", [self.state_id])
        self.con.execute(
            f"INSERT INTO {where} VALUES (?, ?, now())",
            [self.state_id, dumps(state).decode()],
        )

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
