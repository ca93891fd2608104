"""Load batches into DuckDB: each batch as typed Arrow columns, delete-and-insert by key, in one
transaction with the state row.

No PRIMARY KEY constraint is declared on the tables: DuckDB checks constraints eagerly inside a
transaction, so deleting and re-inserting a key in one commit would fail. Keys are enforced by
the merge itself: a batch is deduplicated (the last record of a key wins) and every key it holds
is deleted before the batch is inserted.

A batch is one Arrow table (stage.py) registered on the load's connection as `_tapwell_arrow`
and read in place; every table this target writes is named with its catalog and schema, so a
user's table of that name is never touched; the state table `_tapwell_state` is only written
when it is ours.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
from tapwell.sdk import nested
from tapwell.sdk.sql_names import quote_ident
from tapwell.sdk.target import Batch, RowEncoder, StreamSpec
from tapwell.singer.errors import ConfigError, ProtocolError, RetriableSyncError, SyncError
from tapwell.singer.record_check import CheckCode
from tapwell.singer.wire import dumps

from . import children, ddl, files, plainnumber, raw, stage, stored, unchanged
from .config import DuckDBConfig, StreamSettings
from .ddl import columns_of

STATE_TABLE = "_tapwell_state"
STATE_COLUMNS = {"id": "VARCHAR", "value": "JSON", "updated_at": "TIMESTAMPTZ"}
STATE_MARK = "tapwell: state"
ARROW = "_tapwell_arrow"  # the batch's Arrow table, registered on this connection only
KEPT = "temp.main._tapwell_kept"  # a batch's rows with their unchanged columns' stored values
_HELD_BY = re.compile(r"lock is held in (.*?) \(PID (\d+)\)")


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, str]  # column -> DuckDB type (canonical), as the table has them now
    keys: list[str] = field(default_factory=list)
    settings: StreamSettings = StreamSettings()
    staged: list[stage.StagedColumn] = field(default_factory=list)  # the stream's properties
    raw: raw.Plan | None = None  # how its RECORD lines are read in SQL (raw.py), if they can be
    plain: tuple[int, ...] = ()  # staged columns of plain numbers, made exact as needed
    # columns a load behind the reader made exact -> how many of the table's next batches may
    # have been read before (plainnumber.READ_AHEAD)
    fresh: dict[str, int] = field(default_factory=dict)


@dataclass
class Checked:
    """A batch's RECORD lines read and checked into ROWS on a load's connection before its
    transaction (load_ahead), while the load before it commits: the columns ROWS fills, or None
    when SQL refused a line. Taken only while the table is as it was then (`table`, its `plan`,
    the staged columns' `types`): a load before it that changed a column (plainnumber) or a
    SCHEMA in between has the lines read again in the transaction."""

    records: list[Any]
    table: Table
    plan: raw.Plan
    types: tuple[str, ...]
    cols: list[str] | None


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
    batch_formats = ("csv",)  # BATCH files read by read_csv straight into the merge (files.py)

    def __init__(self, config: DuckDBConfig | dict[str, Any]) -> None:
        self.config = DuckDBConfig.parse(config)
        self.path = self.config.path
        self.state_id = self.config.state_id
        self._con = connect(self.path)
        self._local = threading.local()  # a load's own connection (load_ahead), its Checked
        self.con.execute("SET TimeZone = 'UTC'")
        self._limit_resources()
        # connections for the loads behind the reader: two run at once (load_ahead), each with
        # its own temporary tables; the reader's thread uses the first
        self._cons = (self._con, self._second())
        self._free: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
        for con in self._cons:
            self._free.put(con)
        row = self.con.execute("SELECT current_database()").fetchone()
        self.catalog = str(row[0]) if row else "memory"
        self.schemas: dict[str, str] = {}  # schema as configured -> as DuckDB spells it
        self.schema = self._ensure_schema(self.config.schema)
        self._check_state_table()
        self.tables: dict[str, Table] = {}
        self.owners: dict[tuple[str, str], tuple[str, str]] = {}  # folded -> (stream, table)
        self.overwritten: set[str] = set()
        self.nested: dict[str, nested.NestedStream] = {}  # with nested: tables
        self.nested_sql: dict[str, children.children_sql.Plan | None] = {}  # their SQL split
        self.replaced = 0  # rows the last merge deleted by key (replaced by the batch's)
        self.said: set[str] = set()  # streams whose switch of nested mode was said (children.py)
        self.unchanged_warned: set[str] = set()  # streams warned about _sdc_unchanged
        self._threads_now = self.config.threads  # DuckDB's threads now (load_behind changes them)
        self._lines_ready: dict[int, tuple[list[Any], Any]] = {}  # (records, their lines_table)
        self._looked = True  # csv BATCH files looked through before DuckDB reads them (files.py)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection of this thread's load (load_ahead), else the reader's."""
        return getattr(self._local, "con", None) or self._con

    @property
    def _behind(self) -> bool:
        """Whether this thread runs a load behind the reader."""
        return bool(getattr(self._local, "behind", False))

    def _second(self) -> duckdb.DuckDBPyConnection:
        """A second connection to the file, as the first is set (threads, memory_limit and
        checkpoint_threshold are the database's; the time zone is each connection's)."""
        second = self._con.cursor()
        second.execute("SET TimeZone = 'UTC'")
        return second

    def _limit_resources(self) -> None:
        """DuckDB's memory_limit, threads and checkpoint_threshold from the settings; a value
        DuckDB refuses is a config error naming the key."""
        for key, value in (
            ("memory_limit", self.config.memory_limit),
            ("threads", self.config.threads),
            ("checkpoint_threshold", self.config.checkpoint_threshold),
        ):
            try:
                self.con.execute(f"SET {key} = '{value}'")
            except duckdb.Error as exc:
                self.con.close()
                raise ConfigError(
                    f"config key {key}: DuckDB refused {value!r}: {str(exc).splitlines()[0]}"
                ) from None

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
            if self.config.tables_for(spec.name, spec.schema):
                self.nested[spec.name] = children.prepare(self, spec)
            else:
                children.leftovers(self, spec)
                self._prepare(spec)
        except duckdb.Error as exc:
            raise SyncError(
                f"stream {spec.name!r}: cannot create or change its table: {str(exc).splitlines()[0]}"
            ) from None

    def _prepare(
        self,
        spec: StreamSpec,
        where: tuple[str, str] | None = None,
        settings: StreamSettings | None = None,
    ) -> None:
        wanted = self._columns(spec)
        settings = settings or self.config.settings_for(spec.name)
        schema_name, table_name = where or self.config.target_of(spec.name)
        problem = ddl.nul_free("table", table_name)
        if problem:
            raise ProtocolError(problem, stream=spec.name)
        schema = self._ensure_schema(schema_name)
        found = self._claim(spec, schema, table_name)
        table = found.name if found else table_name
        target = self._qualified(schema, table)
        existing = ddl.existing_columns(self.con, self.catalog, schema, table) if found else {}
        props = spec.schema.get("properties") or {}
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
                    self.con.execute(ddl.alter_type(target, have, existing[have], new, props[col]))
                    existing[have] = new
        if found is None or found.owner is None:
            comment = ddl.owner_comment(spec.name, list(spec.key_properties))
            self.con.execute(f"COMMENT ON TABLE {target} IS {ddl.literal(comment)}")
        by_fold = {ddl.fold(c): c for c in existing}
        staged = [
            stage.staged_column(
                prop, by_fold[ddl.fold(prop)], existing[by_fold[ddl.fold(prop)]], props.get(prop)
            )
            for prop in wanted
        ]
        if stage.UNCHANGED in (spec.schema.get("properties") or {}):
            staged.append(stage.unchanged_column())
        plan = raw.plan(spec, staged) if self.config.raw_lines and where is None else None
        self.tables[spec.name] = Table(
            schema, table, existing, list(spec.key_properties), settings, staged, plan
        )
        self.tables[spec.name].plain = plainnumber.plain_columns(spec.schema, staged)

    def _columns(self, spec: StreamSpec) -> dict[str, str]:
        """Column -> type for the stream's schema; names DuckDB cannot tell apart are refused."""
        wanted = columns_of(spec.schema)
        wanted.pop(stage.UNCHANGED, None)  # a record's list of unchanged columns, not a column
        folded: dict[str, str] = {}
        for col in wanted:
            problem = ddl.nul_free("column", col)
            if problem:
                raise ProtocolError(problem, stream=spec.name, field=col)
            if ddl.fold(col) in folded:
                raise ProtocolError(
                    ddl.case_clash(spec.name, folded[ddl.fold(col)], col),
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

    def before_behind(self, batches: list[Batch]) -> None:
        """In the reader's thread, before `load_behind`: the Arrow tables of the batches' RECORD
        lines are built here, where the reader's Python would otherwise fight the load's for
        the GIL (the load waits for it at each step)."""
        for b in batches:
            if (
                not b.files
                and b.spec.name not in self.nested
                and (t := self.tables.get(b.spec.name)) is not None
                and t.raw is not None
                and raw.lines_only(b)
            ):
                built = raw.lines_table(raw.batch_lines(b), t.raw)
                self._lines_ready[id(b.records)] = (b.records, built)

    def _lines_table(self, batch: Batch, plan: raw.Plan) -> tuple[Any, bool, frozenset[int]]:
        """The Arrow table of the batch's lines (raw.lines_table), as before_behind built it if
        it did."""
        built = self._lines_ready.pop(id(batch.records), None)
        if built is not None and built[0] is batch.records:
            return built[1]
        return raw.lines_table(raw.batch_lines(batch), plan)

    def load_behind(self, batches: list[Batch], state: dict[str, Any] | None) -> None:
        """`load`, in a worker thread while the loop reads the next batch (`overlaps`), with
        DuckDB's overlap_threads: the reader's thread takes a core of its own."""
        behind, self._local.behind = self._behind, True
        try:
            self.load(batches, state)
        finally:
            self._local.behind = behind
            for b in batches:
                self._lines_ready.pop(id(b.records), None)

    def load_ahead(
        self, batches: list[Batch], state: dict[str, Any] | None, after: Callable[[], bool]
    ) -> bool:
        """`load_behind` on a connection of its own, begun while the load before it may still
        commit (tapwell.sdk.target_behind): a batch's RECORD lines are read and checked first
        (writing nothing but this connection's temporary table), then `after()` waits for the
        load before; only when that one committed does this one begin its transaction, so the
        merges, commits and STATE lines stay in input order. False: the load before failed and
        nothing was done."""
        if not batches:  # a state alone: a connection once the load before it is done
            if not after():
                return False
            with self._connection():
                self.load_behind(batches, state)
            return True
        with self._connection() as con:
            checked = self._check_ahead(batches)
            try:
                if not after():
                    return False
                self._local.checked = checked
                self.load_behind(batches, state)
                return True
            finally:
                self._local.checked = None
                if checked is not None:  # taken or not, ROWS is not kept past the load
                    with contextlib.suppress(duckdb.Error):
                        con.execute(f"DROP TABLE IF EXISTS {raw.ROWS}")
                for b in batches:
                    self._lines_ready.pop(id(b.records), None)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection of the loads' own for this thread's load (load_ahead): two loads of
        batches hold one each at most, and a load waits for one to be free."""
        con = self._free.get()
        self._local.con, self._local.behind = con, True
        try:
            yield con
        finally:
            self._local.con, self._local.behind = None, False
            self._free.put(con)

    def _check_ahead(self, batches: list[Batch]) -> Checked | None:
        """The one batch of RECORD lines of `batches`, read and checked into ROWS outside any
        transaction (Checked), when the load reads it in SQL; None otherwise, or when DuckDB
        failed (the load reads it again in its transaction, which says why)."""
        if len(batches) != 1:
            return None
        batch = batches[0]
        table = self.tables.get(batch.spec.name)
        if (
            batch.files
            or batch.spec.name in self.nested
            or table is None
            or table.raw is None
            or not raw.lines_only(batch)
        ):
            return None
        plan, types = table.raw, tuple(c.sqltype for c in table.staged)
        self._use_threads(self.config.overlap_threads)
        try:
            cols = self._read_lines(batch, plan)
        except SyncError:
            return None
        return Checked(batch.records, table, plan, types, cols)

    def _checked(self, batch: Batch, table: Table) -> Checked | None:
        """The batch's lines as load_ahead checked them, if the table is as it was then."""
        checked: Checked | None = getattr(self._local, "checked", None)
        if checked is None or checked.records is not batch.records:
            return None
        self._local.checked = None
        if (
            checked.table is not self.tables.get(batch.spec.name)
            or checked.table is not table
            or checked.plan is not table.raw
            or checked.types != tuple(c.sqltype for c in table.staged)
        ):
            return None
        return checked

    def _use_threads(self, threads: int) -> None:
        if threads != self._threads_now:
            self.con.execute(f"SET threads = {int(threads)}")
            self._threads_now = threads

    def load(self, batches: list[Batch], state: dict[str, Any] | None) -> None:
        if batches and all(b.files for b in batches):  # the tap writes the next file meanwhile
            self._use_threads(self.config.batch_threads)
        else:
            self._use_threads(self.config.overlap_threads if self._behind else self.config.threads)
        if not all(b.files for b in batches):
            self._load(batches, state)
            return
        # csv BATCH files only: first read unlooked (files.py); anything refused, all again looked
        tables = {b.spec.name: t for b in batches if (t := self.tables.get(b.spec.name))}
        kept = {name: dict(t.columns) for name, t in tables.items()}
        overwritten = set(self.overwritten)
        self._looked = False
        try:
            self._load(batches, state)
            return
        except files.Unlooked:  # rolled back: what the load changed in this object too
            for name, t in tables.items():
                t.columns.clear()
                t.columns.update(kept[name])
            self.overwritten = overwritten
            for b in batches:
                b.file_rows = 0
        finally:
            self._looked = True
        self._load(batches, state)

    def _load(self, batches: list[Batch], state: dict[str, Any] | None) -> None:
        self.con.execute("BEGIN TRANSACTION")
        try:
            for batch in batches:
                if batch.files:
                    if batch.spec.name in self.nested:
                        raise ProtocolError(
                            "csv BATCH files cannot feed a stream with nested tables yet "
                            "(set fast_lane: off for this integration)",
                            line=batch.first_line,
                            stream=batch.spec.name,
                        )
                    self._load_files(batch)
                elif batch.spec.name in self.nested:
                    children.load(self, batch, self.nested[batch.spec.name])
                else:
                    self._load_batch(batch)
            if state is not None:
                self._save_state(state)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def overlaps(self, batches: list[Batch]) -> bool:
        """Whether the loop may load `batches` in a worker thread while it reads the next ones
        (tapwell.sdk.target_behind): DuckDB releases the GIL while it runs a statement, so the
        reading costs no wall time. Not BATCH files nor nested tables (loaded in turn)."""
        return self.config.overlap_loads and not any(
            b.files or b.spec.name in self.nested for b in batches
        )

    def row_encoder(self, spec: StreamSpec, check: CheckCode) -> RowEncoder | None:
        """Check each record and stage it as a row tuple as it is read (stage.compile_row), for
        the table `prepare` just made."""
        table = self.tables.get(spec.name)
        if spec.name in self.nested:  # nested: checked and split at load (children.py)
            return children.row_encoder(self, spec)
        if table is None:
            return None
        encode = stage.compile_row(table.staged, check)
        if encode is None:
            return None
        return RowEncoder(
            encode,
            layout=table.staged,
            raw=table.raw is not None,
            raw_digits=table.raw is None or table.raw.digits,
            blocks=True,
            respell=plainnumber.respeller(table, stage.respell(table.staged)),
            keep_lines=bool(table.plain),  # for the batch that makes a plain column text
        )

    def _rows(self, batch: Batch, table: Table) -> list[tuple[Any, ...]]:
        """The batch's staged rows: as the encoder made them, or made now from the records (a
        batch of dicts: metadata columns). A value refused while it was read is raised here,
        naming its line; with keys, only the last row of each key is kept."""
        if batch.encoder is not None and batch.encoder.layout is table.staged:
            rows: list[Any] = batch.records
        else:
            convert = stage.compile_row(table.staged, None)
            assert convert is not None
            rows = []
            for i, record in enumerate(batch.records):
                try:
                    rows.append(convert(record, None))
                except stage.StagedRefusal as refused:
                    batch.refused[i] = refused
                    rows.append(None)
        if batch.refused:
            first = min(batch.refused)
            why = batch.refused[first]
            raise ProtocolError(
                str(why),
                line=batch.lines[first] if first < len(batch.lines) else None,
                stream=batch.spec.name,
                field=getattr(why, "field", None),
            )
        return rows

    @staticmethod
    def _last_of_each_key(rows: list[Any], table: Table) -> list[Any]:
        """With keys, only the last row of each key (as staged), in the order keys first came."""
        keys = table.keys if table.settings.load_method == "upsert" else []
        if not keys:
            return rows
        where = [i for i, c in enumerate(table.staged) if c.prop in keys]
        if len(where) == 1:
            j = where[0]
            return list({row[j]: row for row in rows}.values())
        return list({tuple(row[j] for j in where): row for row in rows}.values())

    def _refuse_values(self, batch: Batch, table: Table, rows: list[Any]) -> None:
        """Raise for the first staged value (in input order) that its column cannot hold, naming
        its input line, stream and field; return when there is none."""
        found = stage.first_refusal(rows, table.staged)
        if found is None:
            return
        i, field, problem = found
        line = batch.lines[i] if i < len(batch.lines) else None
        raise ProtocolError(problem, line=line, stream=batch.spec.name, field=field)

    def _load_batch(self, batch: Batch) -> None:
        table = self.tables[batch.spec.name]
        settings = table.settings
        keys = table.keys if settings.load_method == "upsert" else []
        if batch.version is not None:
            self._ensure_column(table, "_sdc_table_version", "BIGINT")
        deleted = settings.hard_delete and any(c.column == "_sdc_deleted_at" for c in table.staged)
        if raw.has_lines(batch):  # RECORD lines as they came, read in SQL unless others joined
            lines_only = table.raw is not None and raw.lines_only(batch)
            if lines_only and self._load_lines(batch, table, keys, deleted):
                return
            raw.decode(batch, lambda exc: None)  # SQL refused a line: the usual check says why
            if batch.version is not None:  # a line held one the loop did not see
                self._ensure_column(table, "_sdc_table_version", "BIGINT")
        every = self._rows(batch, table)
        u = unchanged.position(table.staged)
        kept = u is not None and unchanged.present(every, u)
        if kept and not keys:
            self._warn_unchanged(batch.spec.name)
            kept = False
        elif kept:
            every = unchanged.fill_from_batch(every, table.staged, keys, u)  # type: ignore[arg-type]
        rows = self._last_of_each_key(every, table)
        if table.plain:  # a value a DOUBLE would not give back makes its column exact
            rows = plainnumber.widen(self, batch, table, rows, every)
        target = self._qualified(table.schema, table.name)
        staged = [
            (f"c{j}", c.column, table.columns[c.column])
            for j, c in enumerate(table.staged)
            if not c.unchanged
        ]
        if batch.version is not None:  # the batch's version, whatever its records say
            staged = [s for s in staged if s[1] != "_sdc_table_version"]
            staged.append((f"{int(batch.version)}", "_sdc_table_version", "BIGINT"))
        select = [f"CAST({src} AS {sqltype}) AS {quote_ident(col)}" for src, col, sqltype in staged]
        cols = [col for _, col, _ in staged]
        if kept:
            select.append(unchanged.list_select(u))  # type: ignore[arg-type]
        try:
            try:
                arrow = stage.arrow_table(table.staged, rows)
            except (OverflowError, ValueError, TypeError) as exc:  # pyarrow: past 64 bits
                self._refuse_values(batch, table, every)
                raise SyncError(
                    f"stream {batch.spec.name!r}, input lines {batch.first_line}-{batch.last_line}: "
                    f"cannot stage the batch: {exc}"
                ) from None
            staged_rows = f"(SELECT {', '.join(select)} FROM {ARROW})"
            self.con.register(ARROW, arrow)
            try:
                if kept:  # the listed columns keep their stored values: read before the delete
                    self.con.execute(
                        f"CREATE OR REPLACE TEMP TABLE {KEPT} AS "
                        + unchanged.kept_select(table.staged, keys, cols, target, staged_rows)[1:-1]
                    )
                    staged_rows = KEPT
                self._merge(batch, table, target, staged_rows, cols, keys, deleted)
            finally:  # after an error DuckDB refuses these too: the load's ROLLBACK undoes them
                with contextlib.suppress(duckdb.TransactionException):
                    self.con.unregister(ARROW)
                    if kept:
                        self.con.execute(f"DROP TABLE IF EXISTS {KEPT}")
                del arrow
        except duckdb.Error as exc:
            self._refuse_values(batch, table, every)  # a value named by its line, when that is why
            raise SyncError(
                f"stream {batch.spec.name!r}, input lines {batch.first_line}-{batch.last_line}: "
                f"DuckDB refused the batch: {str(exc).splitlines()[0]}"
            ) from None

    def _load_lines(self, batch: Batch, table: Table, keys: list[str], deleted: bool) -> bool:
        """A batch of RECORD lines read, checked and typed in SQL (raw.py) and merged; False
        (nothing merged) when SQL refused a line, for the Python path to name the problem."""
        plan = table.raw
        assert plan is not None
        checked = self._checked(batch, table)
        cols = checked.cols if checked is not None else self._read_lines(batch, plan)
        if cols is None:
            return False
        try:
            target = self._qualified(table.schema, table.name)
            rows = raw.staged_rows(plan, cols, bool(keys))
            try:
                self._merge(batch, table, target, rows, cols, keys, deleted, raw.ROWS)
            except duckdb.Error as exc:
                raise SyncError(
                    f"stream {batch.spec.name!r}, input lines {batch.first_line}-{batch.last_line}: "
                    f"DuckDB refused the batch: {str(exc).splitlines()[0]}"
                ) from None
        finally:
            with contextlib.suppress(duckdb.TransactionException):  # after an error (above)
                self.con.execute(f"DROP TABLE IF EXISTS {raw.ROWS}")
        return True

    def _read_lines(self, batch: Batch, plan: raw.Plan) -> list[str] | None:
        """The batch's RECORD lines read, checked and typed into ROWS (raw.py), their documents
        as their lines spell them; the columns ROWS fills, or None (no ROWS) when SQL refused
        a line."""
        lines, mentions_version, lone = self._lines_table(batch, plan)
        reads = (True, False) if raw.strict_first(batch.version, mentions_version) else (False,)
        self.con.register(raw.LINES, lines)
        try:
            for strict in reads:  # strict: lines as our writers write them, the usual case
                create, cols = raw.create_rows(plan, batch.version, strict, lone)
                self.con.execute(create, [raw.structure(plan, batch.version, strict)])
                found = self.con.execute(f"SELECT bool_or({raw.BAD}) FROM {raw.ROWS}").fetchall()
                if not found[0][0]:
                    break
            else:
                self.con.execute(f"DROP TABLE IF EXISTS {raw.ROWS}")
                return None
            # documents DuckDB spelled otherwise
            raw.respell_rows(self.con, plan, raw.TableLines(lines))
        except duckdb.Error as exc:
            raise SyncError(
                f"stream {batch.spec.name!r}, input lines {batch.first_line}-{batch.last_line}: "
                f"DuckDB could not read the batch's lines: {str(exc).splitlines()[0]}"
            ) from None
        finally:
            with contextlib.suppress(duckdb.TransactionException):  # after an error (above)
                self.con.unregister(raw.LINES)
            del lines
        return cols

    def _warn_unchanged(self, stream: str) -> None:
        """Once per stream: records listed unchanged columns where no stored row can be kept."""
        if stream in self.unchanged_warned:
            return
        self.unchanged_warned.add(stream)
        logging.getLogger("target-duckdb").warning(
            "stream %r: records list unchanged columns (_sdc_unchanged) but the stream is not "
            "upserted on key properties, so there is no stored value to keep: those columns "
            "load as NULL (give the source table a key, or REPLICA IDENTITY FULL)",
            stream,
        )

    def _load_files(self, batch: Batch) -> None:
        """A csv BATCH: each file read by read_csv and merged as a batch's rows are."""
        table = self.tables[batch.spec.name]
        keys = table.keys if table.settings.load_method == "upsert" else []
        if batch.version is not None:
            self._ensure_column(table, "_sdc_table_version", "BIGINT")
        deleted = table.settings.hard_delete and any(
            c.column == "_sdc_deleted_at" for c in table.staged
        )
        target = self._qualified(table.schema, table.name)
        source = getattr(self, "source", "stdin")
        if table.settings.load_method == "overwrite" and batch.spec.name not in self.overwritten:
            self.con.execute(f"DELETE FROM {target}")
            self.overwritten.add(batch.spec.name)
        unnamed = self._unnamed(batch, table)
        # every file looked at before any is merged: a later file making a column text, the
        # earlier ones' values are text as written too (one transaction, as a batch of records)
        planned, changed = [], False
        seen: dict[str, tuple[int, int]] = {}  # the extents of the files looked at before
        for path, gz in batch.files:
            f = files.plan(batch, table, path, gz, source, bool(keys), self._looked)
            if table.plain and plainnumber.widen_for_file(self, batch, table, f, seen):
                changed = True
            planned.append((path, gz, f))
        for path, gz, f in planned:
            if changed:
                f = files.plan(batch, table, path, gz, source, bool(keys), self._looked)
            try:
                batch.file_rows += files.merge(self.con, target, f, deleted, unnamed)
            except duckdb.Error as exc:
                if not self._looked:
                    raise files.Unlooked(path) from None
                raise files.refused(self.con, batch, f, exc, source) from None

    def _unnamed(self, batch: Batch, table: Table) -> list[str]:
        """The table's columns the stream's SCHEMA no longer names (stored.unnamed): with
        `nested: tables`, its root's properties and the JSON columns nested: json left."""
        nest = self.nested.get(batch.spec.name)
        spec = nest.spec if nest is not None else batch.spec
        props = list((spec.schema.get("properties") or {}).keys())
        return stored.unnamed(table.columns, props + (nest.json_columns if nest else []))

    def _merge(
        self,
        batch: Batch,
        table: Table,
        target: str,
        staged_rows: str,
        cols: list[str],
        keys: list[str],
        deleted: bool,
        keyed: str | None = None,
        null_keys: bool = False,
    ) -> int:
        """The staged rows (a SELECT casting the Arrow columns, read in place: no copy in a
        staging table) into the table: overwrite's first delete, the delete by key (of the keys
        in `keyed` when given: the rows before the last of each key was chosen; by `=` unless
        `null_keys`), the insert; returns the rows inserted."""
        if table.settings.load_method == "overwrite" and batch.spec.name not in self.overwritten:
            self.con.execute(f"DELETE FROM {target}")
            self.overwritten.add(batch.spec.name)
        left = [] if null_keys else stored.left_out(self._unnamed(batch, table), cols, keys)
        if left:  # columns the schema no longer names keep their stored values (stored.py)
            stored.save(self.con, target, keys, left, keyed or staged_rows)
        if keys:
            match = ddl.key_match(keys, "IS NOT DISTINCT FROM" if null_keys else "=")
            gone = self.con.execute(
                f"DELETE FROM {target} AS t USING {keyed or staged_rows} AS s WHERE {match}"
            ).fetchone()
            self.replaced = int(gone[0]) if gone else 0  # children.load reads it
        where = " WHERE _sdc_deleted_at IS NULL" if deleted else ""
        collist = ", ".join(quote_ident(c) for c in cols)
        rows = f"SELECT {collist} FROM {staged_rows} AS s{where}"
        insert = stored.insert(target, cols, left, keys, rows) if left else None
        inserted = self.con.execute(insert or f"INSERT INTO {target} ({collist}) {rows}").fetchone()
        if left:
            stored.drop(self.con)
        return int(inserted[0]) if inserted else 0

    def activate_version(self, spec: StreamSpec, version: int) -> None:
        """Rows of other versions are deleted (hard_delete) or marked `_sdc_deleted_at`, and so
        are the child rows of those parents (nested: tables), in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._activate(spec.name, version)
            if spec.name in self.nested:
                children.retire(self, self.nested[spec.name], version)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _activate(self, stream: str, version: int) -> None:
        table = self.tables.get(stream)
        if table is None or "_sdc_table_version" not in table.columns:
            return
        target = self._qualified(table.schema, table.name)
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
        """Close the file. The checkpoint that writes the WAL's rows into it runs now, on
        `threads` (DuckDB 2.0.1 spreads it over them), not on the overlap_threads a last load
        behind the reader left set."""
        try:
            self._use_threads(self.config.threads)
        finally:
            for con in reversed(self._cons):
                con.close()
