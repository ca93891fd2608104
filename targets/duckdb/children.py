"""`nested: tables` in target-duckdb (tapwell.sdk.nested): a stream's root table with its
objects flattened, and a child table per array, created and evolved as a stream's own tables are.

A batch loads its parent rows first, then, in the same transaction, deletes every child row of
the batch's parents at every level and inserts the new ones, so a child never outlives or lags
its parent; the state row commits with them (DuckDBLoader.load).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

import duckdb
from tapwell.sdk import nested
from tapwell.sdk.nested_split import (
    Bounded,
    RowMaker,
    as_read,
    compile_splitter,
    is_position,
    split_batch,
)
from tapwell.sdk.sql_names import quote_ident
from tapwell.sdk.target import Batch, RowEncoder, StreamSpec
from tapwell.sdk.target_lanes import respeller
from tapwell.singer.errors import ProtocolError, SyncError

from . import children_sql, ddl, nested_zero, raw, stage

if TYPE_CHECKING:
    from .loader import DuckDBLoader

LOG = logging.getLogger("target-duckdb")
_V = re.compile(r"\bv\b")


def prepare(loader: DuckDBLoader, spec: StreamSpec) -> nested.NestedStream:
    """Create or evolve the stream's root table and every child table for its new SCHEMA."""
    schema, name = loader.config.target_of(spec.name)
    try:
        tables = nested.stream(spec, name, loader.config.nested_max_depth, rename=str)
    except nested.NestedSchemaError as exc:
        raise ProtocolError(str(exc), stream=spec.name) from None
    tables.json_columns = _old_json_columns(loader, spec, schema, name, tables.plan)
    loader._prepare(tables.spec)
    settings = loader.config.settings_for(spec.name)
    for table, child in tables.children.items():
        loader._prepare(child, where=(schema, table), settings=settings)
        loader.tables[child.name].keys = []  # replaced by the parent's keys, never merged
    loader.nested_sql[spec.name] = sql_plan(loader, tables)
    return tables


def _existing(loader: DuckDBLoader, schema: str, table: str) -> tuple[str, dict[str, str]]:
    """(schema.table as DuckDB spells them, its columns by folded name); no columns when the
    table does not exist."""
    spelled = loader._ensure_schema(schema)
    found = ddl.find_table(loader.con, loader.catalog, spelled, table)
    if found is None:
        return ddl.qualified(spelled, table), {}
    columns = ddl.existing_columns(loader.con, loader.catalog, spelled, found.name)
    return ddl.qualified(spelled, found.name), {ddl.fold(c): c for c in columns}


def _old_json_columns(
    loader: DuckDBLoader, spec: StreamSpec, schema: str, name: str, root: nested.TablePlan
) -> list[str]:
    """The root table's JSON columns from `nested: json` that `nested: tables` no longer fills,
    said once a run with the SQL that drops them."""
    where, columns = _existing(loader, schema, name)
    old = [
        columns[ddl.fold(p)]
        for p in nested.json_columns(spec.schema, root)
        if ddl.fold(p) in columns
    ]
    if old and spec.name not in loader.said:
        loader.said.add(spec.name)
        drop = "; ".join(f"ALTER TABLE {where} DROP COLUMN {quote_ident(c)}" for c in old)
        LOG.warning(nested.switched_to_tables(spec.name, where, old, drop))
    return old


def leftovers(loader: DuckDBLoader, spec: StreamSpec) -> None:
    """A stream loaded with `nested: json` whose child tables or flattened columns a load with
    `nested: tables` left: kept, no longer filled, said once a run with the SQL that drops them."""
    if spec.name in loader.said:
        return
    schema, name = loader.config.target_of(spec.name)
    try:
        root = nested.plan(
            name, spec.schema, spec.key_properties, loader.config.nested_max_depth, str
        )
    except nested.NestedSchemaError:
        return
    flat = nested.flattened_columns(root)
    if not root.children and not flat:
        return
    where, columns = _existing(loader, schema, name)
    old_columns = [columns[ddl.fold(c)] for c in flat if ddl.fold(c) in columns]
    old_tables = []
    for child in list(root.walk())[1:]:
        table, child_columns = _existing(loader, schema, child.name)
        if child_columns:
            old_tables.append(table)
    if not old_columns and not old_tables:
        return
    loader.said.add(spec.name)
    drop = [f"DROP TABLE {t}" for t in old_tables]
    drop += [f"ALTER TABLE {where} DROP COLUMN {quote_ident(c)}" for c in old_columns]
    LOG.warning(nested.switched_to_json(spec.name, where, old_tables, old_columns, "; ".join(drop)))


def _specs(tables: nested.NestedStream) -> dict[str, StreamSpec]:
    """Each table's spec by its plan name."""
    return {tables.plan.name: tables.spec, **tables.children}


def _maker(loader: DuckDBLoader, specs: dict[str, StreamSpec]) -> RowMaker:
    """Rows as the staged tuples `stage.compile_row` makes (the same conversions, inline): a
    batch of them goes to `_load_batch` as rows its encoder made."""

    def make(
        plan: nested.TablePlan, n: int, values: dict[str, str]
    ) -> tuple[list[str], str, dict[str, Any]]:
        env: dict[str, Any] = {f"_t{n}{k}": f for k, f in stage.ENV.items()}
        exprs = []
        for j, col in enumerate(loader.tables[specs[plan.name].name].staged):
            v = values.get(col.prop, "None")
            if v == "None":
                exprs.append("None")
                continue
            if is_position(v) and col.arrow == "int64":
                exprs.append(v)
                continue
            generic = col.generic.format(j=j)
            if col.arrow == "float64":
                env[f"_t{n}_db{j}"] = _number(col.prop, stage.double_of(col.prop))
            elif col.arrow == "int64":  # values inside documents: no SCHEMA check saw them
                env[f"_t{n}_in{j}"] = _number(col.prop, _integer(col.prop))
                generic = f"_in{j}(v)"
            generic = re.sub(r"\b(_[a-z]{2}\d*)\(", rf"_t{n}\1(", generic)
            expr = generic
            for kind, fast in reversed(list(col.pinned.items())):
                expr = f"{fast} if type(v) is {kind.__name__} else {expr}"
            exprs.append(f"None if {v} is None else ({_V.sub(v, expr)})")
        return [], "(" + "".join(e + ", " for e in exprs) + ")", env

    return make


def _integer(prop: str) -> Callable[[Any], int]:
    """A BIGINT column's staging of a value inside a document: an integral number as an int;
    anything else refused, naming the field (never truncated: 1.5 is not 1)."""

    def integer(v: Any) -> int:
        try:
            if v == int(v):
                return int(v)
        except (ValueError, OverflowError, ArithmeticError):
            pass
        raise stage.StagedRefusal(prop, f"{v!r} is not an integer")

    return integer


def _number(prop: str, then: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`then` for a number (not a bool); anything else refused, naming the field."""

    def number(v: Any) -> Any:
        if type(v) is bool or not isinstance(v, int | float | Decimal):
            raise stage.StagedRefusal(prop, f"{v!r} is not a number")
        return then(v)

    return number


def _bounded(loader: DuckDBLoader, specs: dict[str, StreamSpec]) -> Bounded:
    """Whether a table's column is staged as a 64-bit integer (a BIGINT column)."""

    def bounded(plan: nested.TablePlan, column: str) -> bool:
        staged = loader.tables[specs[plan.name].name].staged
        return any(c.prop == column and c.arrow == "int64" for c in staged)

    return bounded


def splitter(loader: DuckDBLoader, tables: nested.NestedStream) -> Any:
    """The stream's compiled splitter for its tables as they are now (once per SCHEMA): the
    record checked, every value inside it against its schema too, as its rows are made (the
    records were kept unchecked as they were read: nested_split.as_read)."""
    if tables.splitter is None:
        specs = _specs(tables)
        tables.splitter = compile_splitter(
            tables.plan,
            _maker(loader, specs),
            bounded=_bounded(loader, specs),
            record_check=True,
            stream=tables.spec.name,
        )
    return tables.splitter


def sql_plan(loader: DuckDBLoader, tables: nested.NestedStream) -> children_sql.Plan | None:
    """How the stream's RECORD lines are split in SQL (children_sql.py) for its tables as they
    are now, or None when they go the Python way (raw_lines off, a kind SQL does not check)."""
    if not loader.config.raw_lines:
        return None
    specs = _specs(tables)
    staged = {name: loader.tables[spec.name].staged for name, spec in specs.items()}
    return children_sql.plan(tables.plan, specs, staged)


def row_encoder(loader: DuckDBLoader, spec: StreamSpec) -> RowEncoder:
    """Each record kept as it was read (checked and split at load): its RECORD line as it is
    when the stream's lines can be split in SQL. A record whose documents (JSON columns, in any
    of its tables) its line spells otherwise than the reader writes them back (`1.50`, `1E5`,
    `-0`) has the properties holding them read again from the line, every number as it was
    written (tapwell.sdk.target_lanes.respeller), as the flat paths do."""
    tables = loader.nested[spec.name]
    props = document_props(loader, tables)
    return replace(
        as_read(),
        raw=loader.nested_sql.get(spec.name) is not None,
        respell=nested_zero.signer(
            _plain_spots(loader, tables), respeller(props) if props else None
        ),
    )


def _plain_spots(loader: DuckDBLoader, tables: nested.NestedStream) -> nested_zero.Spot | None:
    """Where a record holds the stream's plain-number columns (nested_zero.spots)."""
    specs = _specs(tables)
    plain = {}
    for name, spec in specs.items():
        table = loader.tables[spec.name]
        plain[name] = {table.staged[j].prop for j in table.plain}
    return nested_zero.spots(tables.plan, plain)


def document_props(loader: DuckDBLoader, tables: nested.NestedStream) -> list[str]:
    """The record's properties that hold a JSON column, or a union's text column (numbers kept as
    spelled: stage.keeps_spelling), of any of the stream's tables (a child table's: the property
    holding its array, or its ancestor's)."""
    specs = _specs(tables)
    found: list[str] = []

    def visit(table: nested.TablePlan, top: str | None) -> None:
        staged = loader.tables[specs[table.name].name].staged
        documents = {c.prop for c in staged if stage.keeps_spelling(c)}  # and a union's text
        for column in table.columns:
            prop = top or (column.path[0] if column.path else None)
            if column.name in documents and prop is not None and prop not in found:
                found.append(prop)
        for child in table.children:
            visit(child, top or (child.path[0] if child.path else None))

    visit(tables.plan, None)
    return found


def load(loader: DuckDBLoader, batch: Batch, tables: nested.NestedStream) -> None:
    """The batch's parent rows, then its child rows replacing the parents' old ones: split in
    SQL from the batch's lines, or in Python when SQL refused one (which then names it)."""
    loader.replaced = 0
    if raw.has_lines(batch):
        plan = loader.nested_sql.get(batch.spec.name)
        if plan is not None and _load_lines(loader, batch, tables, plan):
            return
        raw.decode(batch, lambda exc: None)
    specs = _specs(tables)
    layouts = {name: loader.tables[spec.name].staged for name, spec in specs.items()}
    split = splitter(loader, tables)
    parts = split_batch(tables.plan, split, batch, specs, layouts, uuid.uuid4().hex)
    loader._load_batch(parts[0])
    parent = loader.tables[tables.spec.name]
    source = [tables.plan.source_columns[k] for k in parent.keys]
    for part in parts[1:]:
        table = loader.tables[part.spec.name]
        keys = partial(_key_lists, table, source, parts[0].keys)
        _replace_children(loader, batch, tables, part.spec.name, keys)
        if part.records:
            loader._load_batch(part)


def _load_lines(
    loader: DuckDBLoader, batch: Batch, tables: nested.NestedStream, plan: children_sql.Plan
) -> bool:
    """The batch's RECORD lines split, checked and typed in SQL and merged into every table;
    False (nothing merged) when SQL refused a line, for the Python path to name the problem."""
    if set(map(type, batch.records)) != {bytes}:
        return False  # some records took the Python path (a version changed, long numbers)
    con = loader.con
    lines = raw.arrow_lines(batch.records)
    con.register(raw.LINES, lines)
    signed = nested_zero.signed_lines(batch.records) if plan.doubles else None
    if signed is not None:  # a line writes a number -0: read as -0.0 (nested_zero.py)
        con.register(children_sql.SIGNED, raw.arrow_lines(signed))
    try:
        for sql, params in children_sql.statements(plan, uuid.uuid4().hex, signed is not None):
            con.execute(sql, params)
    except duckdb.Error as exc:  # the load rolls back, the temporary tables with it
        raise SyncError(
            f"stream {batch.spec.name!r}, input lines {batch.first_line}-{batch.last_line}: "
            f"DuckDB could not split the batch's lines: {str(exc).splitlines()[0]}"
        ) from None
    con.unregister(raw.LINES)
    if signed is not None:
        con.unregister(children_sql.SIGNED)
    del lines, signed
    found = con.execute(children_sql.refused(plan)).fetchone()
    if found is None or found[0]:
        _drop(loader, plan)
        return False
    _merge_lines(loader, batch, tables, plan, bool(found[1]))
    _drop(loader, plan)
    return True


def _drop(loader: DuckDBLoader, plan: children_sql.Plan) -> None:
    for sql in children_sql.drop(plan):
        loader.con.execute(sql)


def _merge_lines(
    loader: DuckDBLoader,
    batch: Batch,
    tables: nested.NestedStream,
    plan: children_sql.Plan,
    dedupe: bool,
) -> None:
    """The SQL-split rows merged as the Python path's batches are (DuckDBLoader._merge)."""
    for t in plan.tables:
        table = loader.tables[t.stream]
        if batch.version is not None:
            loader._ensure_column(table, "_sdc_table_version", "BIGINT")
        rows, cols = children_sql.rows(plan, t, batch.version, dedupe)
        target = loader._qualified(table.schema, table.name)
        deleted = table.settings.hard_delete and any(
            c.column == "_sdc_deleted_at" for c in table.staged
        )
        if t is not plan.tables[0]:
            keys = plan.source[t.stream]
            parents = (
                f"(SELECT DISTINCT {', '.join(k for _, k in keys)} FROM {plan.tables[0].temp})"
            )
            _replace_children(loader, batch, tables, t.stream, partial(_no_params, parents))
        merged = table.keys if table.settings.load_method == "upsert" else []
        try:
            child = t is not plan.tables[0]
            loader._merge(batch, table, target, rows, cols, merged, deleted, null_keys=child)
        except duckdb.Error as exc:
            raise SyncError(
                f"stream {batch.spec.name!r}, input lines {batch.first_line}-{batch.last_line}: "
                f"DuckDB refused the batch: {str(exc).splitlines()[0]}"
            ) from None


def _replace_children(
    loader: DuckDBLoader,
    batch: Batch,
    tables: nested.NestedStream,
    stream: str,
    parents: Callable[[], tuple[str, list[Any]]],
) -> None:
    """Before a child table's rows are inserted: overwrite's first delete, and with upsert the
    rows of the batch's parents (`parents()`: a relation of their keys k0, k1, ... and its
    parameters), so a child never outlives or lags its parent."""
    parent = loader.tables[tables.spec.name]
    table = loader.tables[stream]
    target = loader._qualified(table.schema, table.name)
    # Children live and die with their parent in one transaction: when the batch replaced no
    # parent row (a first load, new keys), no child row can have these keys; unless the stream
    # was loaded with nested: json in between (its old JSON columns say so).
    replaced = loader.replaced or tables.json_columns
    upsert = parent.settings.load_method == "upsert" and parent.keys and replaced
    try:
        if parent.settings.load_method == "overwrite" and stream not in loader.overwritten:
            loader.con.execute(f"DELETE FROM {target}")
            loader.overwritten.add(stream)
        if upsert:
            relation, params = parents()
            source = [tables.plan.source_columns[k] for k in parent.keys]
            match = " AND ".join(  # `=`: the parents' keys are never NULL
                f"c.{quote_ident(col)} = s.k{i}" for i, col in enumerate(source)
            )
            loader.con.execute(
                f"DELETE FROM {target} AS c USING {relation} AS s WHERE {match}", params
            )
    except duckdb.Error as exc:
        raise SyncError(
            f"stream {batch.spec.name!r}: cannot replace the rows of child table "
            f"{table.name}: {str(exc).splitlines()[0]}"
        ) from None


def _no_params(relation: str) -> tuple[str, list[Any]]:
    return relation, []


def _key_lists(table: Any, source: list[str], parents: list[Any]) -> tuple[str, list[Any]]:
    """The batch's parent keys (a value each, a tuple with several key properties) as a relation
    of text lists cast to the child's column types."""
    unnest = ", ".join(
        f"CAST(unnest(?::VARCHAR[]) AS {table.columns[col]}) AS k{i}"
        for i, col in enumerate(source)
    )
    if len(source) == 1:
        lists = [[_text(v) for v in parents]]
    else:
        lists = [[_text(v[j]) for v in parents] for j in range(len(source))]
    return f"(SELECT {unnest})", lists


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def retire(loader: DuckDBLoader, tables: nested.NestedStream, version: int) -> None:
    """After ACTIVATE_VERSION retired parent rows: their child rows go too (hard_delete) or get
    the parent's `_sdc_deleted_at`. A keyless stream's child rows carry the version themselves."""
    parent = loader.tables[tables.spec.name]
    if not parent.keys:
        for child in tables.children.values():
            loader._activate(child.name, version)
        return
    root = loader._qualified(parent.schema, parent.name)
    match = " AND ".join(
        f"p.{quote_ident(k)} IS NOT DISTINCT FROM c.{quote_ident(tables.plan.source_columns[k])}"
        for k in parent.keys
    )
    for child in tables.children.values():
        table = loader.tables[child.name]
        target = loader._qualified(table.schema, table.name)
        if parent.settings.hard_delete:
            loader.con.execute(
                f"DELETE FROM {target} AS c WHERE NOT EXISTS (SELECT 1 FROM {root} AS p WHERE {match})"
            )
        elif "_sdc_deleted_at" in parent.columns:
            loader._ensure_column(table, "_sdc_deleted_at", "TIMESTAMPTZ")
            loader.con.execute(
                f"UPDATE {target} AS c SET _sdc_deleted_at = p._sdc_deleted_at FROM {root} AS p "
                f"WHERE {match} AND p._sdc_deleted_at IS NOT NULL AND c._sdc_deleted_at IS NULL"
            )
