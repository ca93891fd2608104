"""Load batches into PostgreSQL: tables from SCHEMA messages, every batch and the state committed
together, ACTIVATE_VERSION.

One `load` is one transaction: every stream's batch and the `tapwell_state` row commit together
or not at all, so the state kept in the destination never runs ahead of its rows. How one batch
goes in (straight COPY, or staging and merge) is merge.py's; a batch COPYed while it is read,
stream.py's; csv BATCH files, files.py's.
"""

from __future__ import annotations

import logging
import operator
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql
from tapwell.sdk import nested
from tapwell.sdk.target import Batch, RowEncoder, StreamSpec
from tapwell.sdk.target_lanes import respeller
from tapwell.singer.errors import ProtocolError, SyncError
from tapwell.singer.record_check import CheckCode
from tapwell.singer.schema import number_union
from tapwell.singer.wire import dumps

from . import children, ddl, merge, nested_copy
from .config import PostgresConfig, StreamSettings
from .config import parse as parse_settings
from .connection import connect, errors_mapped
from .encode import Nul, compile_row_encoder, plain_check
from .files import load_files
from .merge import STAGE, UNCHANGED
from .owners import Owners
from .spelled import PlainTexts, as_read_line
from .stream import Streamer
from .types import family, pg_type, wider

LOG = logging.getLogger("target-postgres")


@dataclass
class Table:
    stream: str
    schema: str
    name: str
    columns: dict[str, str]  # column -> type, as the table has them now
    props: dict[str, str]  # property -> column, for the stream's current schema
    keys: list[str]  # key columns
    key_props: list[str]
    pk: list[str] = field(default_factory=list)  # the table's primary key columns, sorted
    direct: bool = True  # try COPY straight into the table until a batch meets a key already there
    encoders: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    nul: Nul = field(default_factory=Nul)  # what its NUL characters become, and how many
    how: StreamSettings = field(default_factory=StreamSettings)  # its load_method, hard_delete
    unchanged: bool = False  # its records may list `_sdc_unchanged` columns (merge.py)
    # the flattened columns `nested: tables` left, which `json` no longer fills: NULL in an
    # upserted row (merge.merge_staged), never the stale value (children.leftovers)
    cleared: list[str] = field(default_factory=list)

    @property
    def target(self) -> sql.Identifier:
        return ddl.qualified(self.schema, self.name)


class PostgresLoader:
    batch_formats = ("csv",)  # BATCH files COPYed straight from disk (files.py)

    def __init__(self, config: PostgresConfig | dict[str, Any]) -> None:
        self.config = config = parse_settings(config)
        self.settings = settings = parse_settings(config)
        self.primary_key_required = settings.primary_key_required
        self.number_type = settings.number_type
        self.nul_mode = settings.nul_mode
        self.state_schema = settings.state_schema
        self.state_table = settings.state_table
        self.state_id = settings.state_id
        self.source = "stdin"
        self.conn = connect(config)
        self.tables: dict[str, Table] = {}
        self.overwritten: set[str] = set()  # streams whose rows this run has replaced
        self.nested: dict[str, nested.NestedStream] = {}  # streams loaded with nested: tables
        self.said: set[str] = set()  # streams whose switch of nested mode was said (children.py)
        self.passes: dict[str, Any] = {}  # a nested stream's splitter per table (nested_copy.py)
        # a stream's plain numbers' texts for its rows (spelled.PlainTexts), when it has any
        self.plain_texts: dict[str, PlainTexts | None] = {}
        self.state_table_ready = False
        self.schemas_made: set[str] = set()
        self.owners = Owners(self.state_schema, self.state_table)
        with errors_mapped(self.conn, "cannot check the state table"):
            with self.conn.cursor() as cur:  # a user's own table of that name: refused first
                self.owners.check_state_table(cur)
            self.conn.commit()
        self.streamer = Streamer(self)  # COPY while a batch is read (see stream.py)

    # ------------------------------------------------------------------ tables

    def prepare(self, spec: StreamSpec) -> None:
        """Create or evolve the stream's table for its new SCHEMA, in a transaction of its own."""
        dropped = self.streamer.abandon()
        with errors_mapped(self.conn, "cannot create or change its table", stream=spec.name):
            with self.conn.cursor() as cur:
                if self.config.tables_for(spec.name, spec.schema):
                    self.nested[spec.name] = children.prepare(self, cur, spec)
                else:
                    left = children.leftovers(self, cur, spec)
                    self.tables[spec.name] = self._prepare(cur, spec)
                    self.tables[spec.name].cleared = left
            self.conn.commit()
        self.streamer.said_abandoned(
            dropped, f"a SCHEMA of stream {spec.name!r} came in its middle"
        )

    def _prepare(
        self,
        cur: Any,
        spec: StreamSpec,
        where: tuple[str, str] | None = None,
        how: StreamSettings | None = None,
    ) -> Table:
        """The stream's table, created or evolved; `where` and `how` (a child table's schema,
        name and settings, those of its parent stream) default to the stream's own."""
        props: dict[str, Any] = spec.schema.get("properties") or {}
        names = ddl.column_names(props, spec.name)
        for key in spec.key_properties:
            if key not in props:
                raise SyncError(
                    f"stream {spec.name!r}: key property {key!r} is not in the schema's properties"
                )
        how = how or self.settings.of(spec.name)
        if not spec.key_properties and self.primary_key_required and how.upsert:
            raise SyncError(
                f"stream {spec.name!r} has no key properties; set primary_key_required to false to append its rows"
            )
        unchanged = UNCHANGED in props and UNCHANGED not in spec.key_properties
        wanted = {  # `_sdc_unchanged` is no column: it says which ones to keep (merge.py)
            names[p]: pg_type(prop, self.number_type)
            for p, prop in props.items()
            if not (unchanged and p == UNCHANGED)
        }
        schema, name = where or ddl.target_of(spec.name, self.config)
        self._ensure_schema(cur, schema)
        target = ddl.qualified(schema, name)
        keys = [names[k] for k in spec.key_properties]
        existing = ddl.existing_columns(cur, schema, name)
        unmarked = self.owners.claim(cur, spec.name, schema, name, bool(existing))
        if not existing:
            use_keys = keys if how.upsert else []
            cur.execute(ddl.create_table(target, wanted, use_keys))
            existing = dict(wanted)
        else:
            for col, sqltype in wanted.items():
                have = existing.get(col)
                if have is None:
                    cur.execute(ddl.add_column(target, col, sqltype))
                    existing[col] = sqltype
                    continue
                new = wider(have, sqltype)
                if new is not None:
                    cur.execute(ddl.alter_type(target, col, new))
                    existing[col] = new
        if unmarked:
            self.owners.mark(cur, spec.name, schema, name)
        pk = ddl.primary_key(cur, schema, name)
        before = self.tables.get(spec.name)
        nul = before.nul if before is not None else Nul(self.nul_mode)  # one count per stream
        if unchanged and not (keys and how.upsert) and (before is None or not before.unchanged):
            LOG.warning(
                "stream %r: its records may list unchanged columns (_sdc_unchanged) but it has no "
                "key to keep their stored values by: they load as NULL in the appended rows",
                spec.name,
            )
        return Table(
            spec.name,
            schema,
            name,
            existing,
            names,
            keys,
            list(spec.key_properties),
            pk,
            nul=nul,
            how=how,
            unchanged=unchanged,
        )

    def row_encoder(self, spec: StreamSpec, check: CheckCode) -> RowEncoder | None:
        """Check and encode each record as it is read (see compile_row_encoder), for the table
        `prepare` just made: every property, the _sdc_* metadata columns included. The batch's
        constant columns (its table version, deleted-at) come last in every COPY, appended when
        the batch is loaded. None (records stay dicts, encoded at load) only when the check
        covers a property that is not a column, which is said once."""
        table = self.tables.get(spec.name)
        if spec.name in self.nested:  # nested: checked and split from the dicts at load
            return children.row_encoder(self, self.nested[spec.name])
        if table is None:
            return None
        columns = [(prop, col, merge.column_type(table, col)) for prop, col in table.props.items()]
        encode = compile_row_encoder(columns, check, nul=table.nul)
        if encode is None:
            self.streamer.say(
                spec.name,
                "records are buffered as dicts and encoded at load (the check covers "
                "a property that is not a column), and its batches are not streamed",
            )
            return None
        keys = table.key_props if table.how.upsert else []
        key = operator.itemgetter(*keys) if keys else None
        # a document's numbers as the line spells them, for jsonb to read (1.50 stays 1.50)
        # and a union's number in a text column (number_union: 1.50 stays '1.50')
        props = spec.schema.get("properties") or {}
        documents = [
            prop
            for prop, _, t in columns
            if family(t) in ("json", "jsonb") or (t == "text" and number_union(props.get(prop)))
        ]
        respell = respeller(documents) if documents else None
        # a plain number's text for an unconstrained numeric (1.50 stays 1.50, as on the csv
        # lane), put into the rows a thousand at a time from the lines the loop keeps
        plain = [prop for prop, _, t in columns if t == "numeric"]
        texts = PlainTexts(columns, plain) if plain else None
        self.plain_texts[spec.name] = texts
        feed = None if self.streamer.broken else self.streamer.feed
        made = RowEncoder(
            encode,
            key,
            columns,
            feed if texts is None else texts.feeding(feed),
            compile_row_encoder(columns, check, clean=True, nul=table.nul),
            # (with a respell the loop gives a jsonl BATCH file's lines too)
            respell=respell if texts is None else respell or as_read_line,
            keep_lines=texts is not None,
        )
        if texts is not None:
            texts.encoder = made
        return made

    def _ensure_schema(self, cur: Any, schema: str) -> None:
        if schema in self.schemas_made:
            return
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ddl.ident(schema)))
        self.schemas_made.add(schema)

    def _ensure_column(self, cur: Any, table: Table, column: str, sqltype: str) -> None:
        if column not in table.columns:
            cur.execute(ddl.add_column(table.target, column, sqltype))
            table.columns[column] = sqltype
            table.encoders.clear()

    # ------------------------------------------------------------------ loading

    def load(self, batches: list[Batch], state: dict[str, Any] | None) -> None:
        """Every batch and the state row, in one transaction."""
        with errors_mapped(self.conn, "cannot commit the batch"):
            for batch in batches:  # every row as it will be sent, before the rest is
                texts = self.plain_texts.get(batch.spec.name)
                if texts is not None and batch.encoder is texts.encoder:
                    texts.patch(batch, last=True)
            with self.conn.cursor() as cur:
                streamed = self.streamer.settle(cur, batches)
                for batch in batches:
                    if batch.files:
                        if batch.spec.name in self.nested:
                            raise ProtocolError(
                                "csv BATCH files cannot feed a stream with nested tables yet "
                                "(set fast_lane: off for this integration)",
                                line=batch.first_line,
                                stream=batch.spec.name,
                            )
                        load_files(self, cur, batch, STAGE)
                    elif batch.spec.name in self.nested:
                        tables = self.nested[batch.spec.name]
                        if not nested_copy.load(self, cur, batch, tables):
                            children.load(self, cur, batch, tables)
                    elif batch is not streamed:
                        self._load_batch(cur, batch)
                if state is not None:
                    self._save_state(cur, state)
            self.conn.commit()

    def copy_layout(self, table: Table, batch: Batch) -> tuple[list[tuple[Any, str, str]], str]:
        """See merge.copy_layout (stream.py asks the loader)."""
        return merge.copy_layout(table, batch)

    def _dict_encoder(self, table: Table, columns: list[Any]) -> Any:
        """The row encoder for a batch buffered as dicts (already checked when read)."""
        key = tuple(columns)
        encode = table.encoders.get(key)
        if encode is None:
            encode = compile_row_encoder(columns, plain_check(table.stream), nul=table.nul)
            table.encoders[key] = encode
        return encode

    def stage_from_now(self, table: Table) -> None:
        """A batch met a key already in the table: from now on the stream's batches are COPYed
        into the staging table and merged (the slower path), which is said once."""
        table.direct = False
        self.streamer.say(
            table.stream,
            "a key already in the table: its batches are staged and merged from now on",
        )

    def _load_batch(self, cur: Any, batch: Batch) -> None:
        merge.load_batch(self, cur, batch)

    def _merge(self, cur: Any, table: Table, cols: list[str], upsert: bool, deletes: bool) -> None:
        merge.merge_staged(cur, table, cols, upsert, deletes)

    # ------------------------------------------------------------------ versions and state

    def activate_version(self, spec: StreamSpec, version: int) -> None:
        """Rows of older versions are deleted (hard_delete) or marked `_sdc_deleted_at`, and so
        are the child rows of those parents (nested: tables), in one transaction."""
        self.streamer.abandon()  # none is open: the loop loads every batch before this
        with errors_mapped(self.conn, "cannot apply ACTIVATE_VERSION", stream=spec.name):
            with self.conn.cursor() as cur:
                self._activate(cur, spec, version)
                if spec.name in self.nested:
                    children.retire(self, cur, self.nested[spec.name], version)
            self.conn.commit()

    def _activate(self, cur: Any, spec: StreamSpec, version: int) -> None:
        table = self.tables.get(spec.name)
        if table is None or "_sdc_table_version" not in table.columns:
            return
        older = sql.SQL("(_sdc_table_version < {} OR _sdc_table_version IS NULL)").format(
            sql.Literal(version)
        )
        if table.how.hard_delete:
            cur.execute(sql.SQL("DELETE FROM {} WHERE {}").format(table.target, older))
        else:
            self._ensure_column(cur, table, "_sdc_deleted_at", "timestamp with time zone")
            cur.execute(
                sql.SQL(
                    "UPDATE {} SET _sdc_deleted_at = now() WHERE {} AND _sdc_deleted_at IS NULL"
                ).format(table.target, older)
            )

    def _save_state(self, cur: Any, state: dict[str, Any]) -> None:
        target = ddl.qualified(self.state_schema, self.state_table)
        if not self.state_table_ready:
            self._ensure_schema(cur, self.state_schema)
            cur.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id text PRIMARY KEY, value jsonb NOT NULL, "
                    "updated_at timestamp with time zone NOT NULL)"
                ).format(target)
            )
            self.owners.check_state_table(cur)  # a user's own table of that name: never written
            self.state_table_ready = True
        cur.execute(
            sql.SQL(
                "INSERT INTO {} (id, value, updated_at) VALUES ({}, {}, now()) ON CONFLICT (id) "
                "DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
            ).format(target, sql.Literal(self.state_id), sql.Literal(dumps(state).decode()))
        )

    def stored_state(self) -> dict[str, Any] | None:
        """The state last committed with the data, to resume from when stdout was lost."""
        target = ddl.qualified(self.state_schema, self.state_table)
        found = None
        with errors_mapped(self.conn, "cannot read the stored state"):
            with self.conn.cursor() as cur:
                if ddl.existing_columns(cur, self.state_schema, self.state_table):
                    cur.execute(
                        sql.SQL("SELECT value FROM {} WHERE id = {}").format(
                            target, sql.Literal(self.state_id)
                        )
                    )
                    found = cur.fetchone()
            self.conn.rollback()
        return found[0] if found else None

    def close(self) -> None:
        self.streamer.abandon()
        self.conn.close()
        for table in self.tables.values():
            if table.nul.count:
                done = "replaced with U+FFFD" if table.nul.mode == "replace" else "stripped"
                LOG.warning(
                    "stream %r: %d %s held NUL characters (\\u0000), which PostgreSQL "
                    "cannot store: %s (setting nul_characters)",
                    table.stream,
                    table.nul.count,
                    "value" if table.nul.count == 1 else "values",
                    done,
                )
