"""One batch of records into its table: straight COPY when every key is new, else COPY into a
temporary staging table and merge; the stored values of `_sdc_unchanged` columns kept.

Upserts merge with `INSERT ... ON CONFLICT` on the primary key (or delete-then-insert when the
table has no matching key); duplicates inside a batch are resolved before the COPY, the last
record winning. Append-only streams COPY straight into their table. Either merge keeps the
stored value of a column no property of the current SCHEMA names (a property a re-sent SCHEMA
dropped: the source stopped sending it, and NULL would claim a value it never sent), except the
flattened columns a switch from `nested: tables` to `json` left (Table.cleared), which an
upserted row holds NULL in: their stored value is stale, the source sends it in the JSON column.

`_sdc_unchanged` (tap-postgres's LOG_BASED records: unchanged TOASTed values left out, their
property names listed) is no column of the table: a stream whose schema has it is always staged,
the list travels in a staging column of its own, and before the merge each listed column takes
the value the table holds for that key (or, within a batch, the value of the key's earlier
record). A key the table does not hold yet is inserted with NULL in the listed columns: there
is no stored value to keep (README).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
import psycopg.errors
from psycopg import sql
from tapwell.sdk.target import Batch
from tapwell.singer.errors import ProtocolError, SyncError

from . import ddl, locate
from .connection import map_error
from .dedupe import fold_unchanged, key_families, last_of_each
from .encode import BadValue, CopyRows, encode_constants

if TYPE_CHECKING:
    from .loader import PostgresLoader, Table

# A real temporary table, named in pg_temp: never a user's table of that name on the search_path.
STAGE = sql.Identifier("pg_temp", "_tapwell_stage")
UNCHANGED = "_sdc_unchanged"
# Columns a batch may fill with one value for every row, when they are not properties of the
# stream (with add_metadata_columns they are, and each record carries its own value).
CONSTANT_TYPES = {"_sdc_table_version": "bigint", "_sdc_deleted_at": "timestamp with time zone"}


@dataclass
class Plan:
    """How one batch goes in: its table, its rows (the batch's records, or a copy with
    `_sdc_unchanged` values folded in), which of them (the last of each key), the columns in
    COPY order (the properties', then the constant ones) and the text the constants append to
    every row."""

    table: Table
    merge: bool
    rows: list[Any]
    indexes: list[int] | range
    columns: list[tuple[str | None, str, str]]
    suffix: str


def column_type(table: Table, column: str) -> str:
    """A COPY column's type: the table's, or jsonb for the staging-only `_sdc_unchanged`."""
    return table.columns.get(column) or ("jsonb" if column == UNCHANGED else "")


def copy_layout(table: Table, batch: Batch) -> tuple[list[tuple[Any, str, str]], str]:
    """The COPY's columns for `batch` (property, column, type): the stream's properties in
    the encoder's order, then the columns whose value is the same for the whole batch
    (property None), and the text those append to every row."""
    constants: dict[str, Any] = {}
    if batch.version is not None and "_sdc_table_version" not in table.props:
        constants["_sdc_table_version"] = batch.version
    if "_sdc_deleted_at" in table.columns and "_sdc_deleted_at" not in table.props:
        constants["_sdc_deleted_at"] = None  # a row sent again is alive again
    columns: list[tuple[Any, str, str]] = [
        (prop, col, column_type(table, col)) for prop, col in table.props.items()
    ]
    columns += [(None, col, table.columns.get(col) or CONSTANT_TYPES[col]) for col in constants]
    return columns, encode_constants(columns, constants, table.nul)


def make_plan(loader: PostgresLoader, batch: Batch) -> Plan:
    table = loader.tables[batch.spec.name]
    keys = table.key_props if table.how.upsert else []
    rows = batch.records
    indexes: list[int] | range = range(len(rows))
    columns, suffix = copy_layout(table, batch)
    if keys:
        found = batch_keys(batch, keys)
        families = key_families(table)
        indexes = last_of_each(found, families)
        if table.unchanged and not isinstance(indexes, range):
            props = [p for p, _, _ in columns if p is not None]
            rows = fold_unchanged(rows, found, families, props, UNCHANGED, batch.encoder is None)
    return Plan(table, bool(keys), rows, indexes, columns, suffix)


def batch_keys(batch: Batch, keys: list[str]) -> list[Any]:
    """The key of each record of `batch`: taken as it was read (RowEncoder.key), or from the
    buffered dicts (one value, or a tuple for several key properties)."""
    if batch.encoder is not None:
        return batch.keys
    if len(keys) == 1:
        k = keys[0]
        return [r.get(k) for r in batch.records]
    return [tuple(r.get(k) for k in keys) for r in batch.records]


def load_batch(loader: PostgresLoader, cur: Any, batch: Batch) -> None:
    plan = make_plan(loader, batch)
    table = plan.table
    columns = plan.columns
    if batch.version is not None:
        loader._ensure_column(cur, table, "_sdc_table_version", "bigint")
    if table.how.load_method == "overwrite" and table.stream not in loader.overwritten:
        cur.execute(sql.SQL("DELETE FROM {}").format(table.target))
        loader.overwritten.add(table.stream)
    deletes = "_sdc_deleted_at" in table.props and table.how.hard_delete
    merge = plan.merge
    straight = not deletes and not table.unchanged and table.direct
    if merge and straight and sorted(table.keys) == table.pk:
        # New keys only (a first load, an append-heavy stream): one COPY, no staging. The
        # primary key catches a key already there; the savepoint undoes the attempt.
        cur.execute("SAVEPOINT tapwell_direct")
        try:
            copy_rows(loader, cur, batch, plan, table.target, raw_unique=True)
            cur.execute("RELEASE SAVEPOINT tapwell_direct")
            return
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT tapwell_direct")
            loader.stage_from_now(table)
    if not (merge or deletes or table.unchanged):
        copy_rows(loader, cur, batch, plan, table.target)
        return
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(STAGE))
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(STAGE, table.target)
    )
    if table.unchanged:
        cur.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} jsonb").format(
                STAGE, ddl.ident(UNCHANGED)
            )
        )
    copy_rows(loader, cur, batch, plan, STAGE)
    cols = [c for _, c, _ in columns if c != UNCHANGED]
    if table.unchanged and merge:
        keep_unchanged(cur, table)
    merge_staged(cur, table, cols, merge, deletes)


def keep_unchanged(cur: Any, table: Table) -> None:
    """Staged rows listing columns in `_sdc_unchanged` take those columns' stored values, for
    the keys the table holds (the others keep NULL there)."""
    keys = set(table.keys)
    sets = [
        sql.SQL(
            "{c} = CASE WHEN s.{u}::jsonb @> jsonb_build_array({p}::text) THEN t.{c} ELSE s.{c} END"
        ).format(c=ddl.ident(col), u=ddl.ident(UNCHANGED), p=sql.Literal(prop))
        for prop, col in table.props.items()
        if prop != UNCHANGED and col not in keys
    ]
    if not sets:
        return
    match = sql.SQL(" AND ").join(
        sql.SQL("t.{k} = s.{k}").format(k=ddl.ident(k)) for k in table.keys
    )
    cur.execute(
        sql.SQL("UPDATE {} AS s SET {} FROM {} AS t WHERE s.{} IS NOT NULL AND {}").format(
            STAGE, sql.SQL(", ").join(sets), table.target, ddl.ident(UNCHANGED), match
        )
    )


def copy_rows(
    loader: PostgresLoader,
    cur: Any,
    batch: Batch,
    plan: Plan,
    into: sql.Identifier,
    raw_unique: bool = False,
) -> None:
    table, columns, indexes = plan.table, plan.columns, plan.indexes
    props = [(p, c, t) for p, c, t in columns if p is not None]
    encode = None
    if batch.encoder is None:
        encode = loader._dict_encoder(table, props)
    elif [c for _, c, _ in props] != [c for _, c, _ in batch.encoder.layout]:
        raise SyncError(f"stream {table.stream!r}: its columns changed inside a batch")
    rows = CopyRows(plan.rows, indexes, plan.suffix, batch.refused, columns, encode)
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(into, ddl.idents(c for _, c, _ in columns))
    try:
        with cur.copy(copy) as pipe:
            for chunk in rows.chunks():
                pipe.write(chunk)
    except (BadValue, UnicodeEncodeError):  # the COPY was ended with the error: nothing went in
        raise _bad_value(loader, batch, rows) from None
    except psycopg.Error as exc:
        if raw_unique and isinstance(exc, psycopg.errors.UniqueViolation):
            raise
        raise _copy_error(loader, exc, batch, plan) from None


def _line_of(batch: Batch, index: int) -> int | None:
    lines = getattr(batch, "lines", None)
    if lines and index < len(lines):
        line: int = lines[index]  # as it is: a FileRow names a BATCH file's row
        return line
    return None


def _bad_value(loader: PostgresLoader, batch: Batch, source: CopyRows) -> ProtocolError:
    bad = source.error or BadValue("?", "a value could not be written")
    line = _line_of(batch, source.failed_at) if source.failed_at is not None else None
    return ProtocolError(
        bad.problem, line=line, stream=batch.spec.name, field=bad.column, source=loader.source
    )


def _copy_error(loader: PostgresLoader, exc: psycopg.Error, batch: Batch, plan: Plan) -> Exception:
    indexes, columns = plan.indexes, plan.columns
    at = locate.refused_row(exc, indexes)
    line = column = None
    if at is not None:
        row, named = at
        line = _line_of(batch, indexes[row])
        column = locate.column_named(named, columns)
        if column is None:
            column = locate.field_refused(exc, loader.conn, plan.rows[indexes[row]], columns)
    return map_error(
        exc,
        "cannot load the batch",
        stream=batch.spec.name,
        line=line,
        column=column,
        source=loader.source,
    )


def merge_staged(cur: Any, table: Table, cols: list[str], merge: bool, deletes: bool) -> None:
    """The staging table's rows into the table: upserted on the key (`merge`), deleted where
    `_sdc_deleted_at` is set (`deletes`: hard_delete), else appended."""
    target = table.target
    keys = table.keys
    quoted = ddl.idents(cols)
    match = sql.SQL(" AND ").join(sql.SQL("t.{k} = s.{k}").format(k=ddl.ident(k)) for k in keys)
    live = sql.SQL("")
    if deletes:
        if keys:
            cur.execute(
                sql.SQL(
                    "DELETE FROM {} AS t USING {} AS s WHERE {} AND s._sdc_deleted_at IS NOT NULL"
                ).format(target, STAGE, match)
            )
        live = sql.SQL(" WHERE _sdc_deleted_at IS NULL")
    cleared = [c for c in table.cleared if c not in cols]
    if merge and sorted(keys) == table.pk:
        rest = [c for c in cols if c not in keys]
        sets = [sql.SQL("{c} = EXCLUDED.{c}").format(c=ddl.ident(c)) for c in rest]
        sets += [sql.SQL("{} = NULL").format(ddl.ident(c)) for c in cleared]
        action = (
            sql.SQL("DO UPDATE SET ") + sql.SQL(", ").join(sets) if sets else sql.SQL("DO NOTHING")
        )
        cur.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}{} ON CONFLICT ({}) {}").format(
                target, quoted, quoted, STAGE, live, ddl.idents(keys), action
            )
        )
        return
    if merge:
        kept = [c for c in table.columns if c not in cols and c not in cleared]
        kept = [c for c in kept if c not in keys and c != "_sdc_deleted_at"]
        if kept:  # the stored values of the columns the load does not fill, by key
            cur.execute(
                sql.SQL("UPDATE {} AS s SET {} FROM {} AS t WHERE {}").format(
                    STAGE,
                    sql.SQL(", ").join(sql.SQL("{c} = t.{c}").format(c=ddl.ident(c)) for c in kept),
                    target,
                    match,
                )
            )
            quoted = ddl.idents([*cols, *kept])
        cur.execute(
            sql.SQL("DELETE FROM {} AS t USING {} AS s WHERE {}").format(target, STAGE, match)
        )
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}{}").format(
            target, quoted, quoted, STAGE, live
        )
    )
