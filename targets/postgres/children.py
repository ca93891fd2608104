"""`nested: tables` in target-postgres (tapwell.sdk.nested): a stream's root table with its
objects flattened, and a child table per array, created and evolved as a stream's own tables are,
each with a primary key on its natural key (`_sdc_source_key_<key>`, `_sdc_level_N_id`).

A batch loads its parent rows first, then, in the same transaction, deletes every child row of
the batch's parents at every level and copies the new ones in, so a child never outlives or lags
its parent; the state row commits with them (PostgresLoader.load).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from psycopg import sql
from tapwell.sdk import nested
from tapwell.sdk.target import Batch, StreamSpec
from tapwell.singer.errors import ProtocolError

from . import ddl

if TYPE_CHECKING:
    from .loader import PostgresLoader


def prepare(loader: PostgresLoader, cur: Any, spec: StreamSpec) -> nested.NestedStream:
    """Create or evolve the stream's root table and every child table for its new SCHEMA."""
    schema, name = ddl.target_of(spec.name, loader.config)
    try:
        tables = nested.stream(spec, name, loader.config.nested_max_depth)
    except nested.NestedSchemaError as exc:
        raise ProtocolError(str(exc), stream=spec.name) from None
    loader.tables[spec.name] = loader._prepare(cur, tables.spec)
    how = loader.settings.of(spec.name)
    for table, child in tables.children.items():
        made = loader.tables[child.name] = loader._prepare(
            cur, child, where=(schema, table), how=how
        )
        made.key_props = []  # its rows replace the parent's old ones: COPY, no merge
    return tables


def load(loader: PostgresLoader, cur: Any, batch: Batch, tables: nested.NestedStream) -> None:
    """The batch's parent rows, then its child rows replacing the parents' old ones."""
    parts = nested.split(tables.plan, batch, tables.spec, tables.children, uuid.uuid4().hex)
    loader._load_batch(cur, parts[0])
    parent = loader.tables[tables.spec.name]
    replaced = parent.how.upsert and bool(parent.key_props) and bool(parts[0].records)
    for part in parts[1:]:
        table = loader.tables[part.spec.name]
        if parent.how.load_method == "overwrite" and table.stream not in loader.overwritten:
            cur.execute(sql.SQL("DELETE FROM {}").format(table.target))
            loader.overwritten.add(table.stream)
        if replaced:
            _delete_children(cur, table, parent, parts[0].records, tables.plan.source_columns)
        if part.records:
            loader._load_batch(cur, part)


def _delete_children(
    cur: Any, table: Any, parent: Any, parents: list[dict[str, Any]], source: dict[str, str]
) -> None:
    """Delete the rows of child `table` whose source keys are those of `parents` (one statement,
    the keys sent as text arrays and cast to the columns' own types)."""
    cols = [source[k] for k in parent.key_props]
    arrays = [[_text(r.get(k)) for r in parents] for k in parent.key_props]
    names = [sql.Identifier(f"k{i}") for i in range(len(cols))]
    match = sql.SQL(" AND ").join(
        sql.SQL("c.{} = s.{}::{}").format(ddl.ident(col), n, sql.SQL(table.columns[col]))
        for col, n in zip(cols, names, strict=True)
    )
    unnest = sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in cols)
    cur.execute(
        sql.SQL("DELETE FROM {} AS c USING unnest({}) AS s({}) WHERE {}").format(
            table.target, unnest, sql.SQL(", ").join(names), match
        ),
        arrays,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def retire(loader: PostgresLoader, cur: Any, tables: nested.NestedStream, version: int) -> None:
    """After ACTIVATE_VERSION retired parent rows: their child rows go too (hard_delete) or get
    the parent's `_sdc_deleted_at`. A keyless stream's child rows carry the version themselves."""
    parent = loader.tables[tables.spec.name]
    if not parent.key_props:
        for child in tables.children.values():
            loader._activate(cur, child, version)
        return
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(ddl.ident(col), ddl.ident(tables.plan.source_columns[key]))
        for key, col in zip(parent.key_props, parent.keys, strict=True)
    )
    for child in tables.children.values():
        table = loader.tables[child.name]
        if parent.how.hard_delete:
            cur.execute(
                sql.SQL(
                    "DELETE FROM {} AS c WHERE NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})"
                ).format(table.target, parent.target, match)
            )
        elif "_sdc_deleted_at" in parent.columns:
            loader._ensure_column(cur, table, "_sdc_deleted_at", "timestamp with time zone")
            cur.execute(
                sql.SQL(
                    "UPDATE {} AS c SET _sdc_deleted_at = p._sdc_deleted_at FROM {} AS p "
                    "WHERE {} AND p._sdc_deleted_at IS NOT NULL AND c._sdc_deleted_at IS NULL"
                ).format(table.target, parent.target, match)
            )
