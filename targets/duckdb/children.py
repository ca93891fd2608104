"""`nested: tables` in target-duckdb (tapwell.sdk.nested): a stream's root table with its
objects flattened, and a child table per array, created and evolved as a stream's own tables are.

A batch loads its parent rows first, then, in the same transaction, deletes every child row of
the batch's parents at every level and inserts the new ones, so a child never outlives or lags
its parent; the state row commits with them (DuckDBLoader.load).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import duckdb
from tapwell.sdk import nested
from tapwell.sdk.sql_names import quote_ident
from tapwell.sdk.target import Batch, StreamSpec
from tapwell.singer.errors import ProtocolError, SyncError

if TYPE_CHECKING:
    from .loader import DuckDBLoader


def prepare(loader: DuckDBLoader, spec: StreamSpec) -> nested.NestedStream:
    """Create or evolve the stream's root table and every child table for its new SCHEMA."""
    schema, name = loader.config.target_of(spec.name)
    try:
        tables = nested.stream(spec, name, loader.config.nested_max_depth, rename=str)
    except nested.NestedSchemaError as exc:
        raise ProtocolError(str(exc), stream=spec.name) from None
    loader._prepare(tables.spec)
    settings = loader.config.settings_for(spec.name)
    for table, child in tables.children.items():
        loader._prepare(child, where=(schema, table), settings=settings)
        loader.tables[child.name].keys = []  # replaced by the parent's keys, never merged
    return tables


def load(loader: DuckDBLoader, batch: Batch, tables: nested.NestedStream) -> None:
    """The batch's parent rows, then its child rows replacing the parents' old ones."""
    parts = nested.split(tables.plan, batch, tables.spec, tables.children, uuid.uuid4().hex)
    loader._load_batch(parts[0])
    parent = loader.tables[tables.spec.name]
    upsert = parent.settings.load_method == "upsert" and parent.keys and parts[0].records
    for part in parts[1:]:
        table = loader.tables[part.spec.name]
        target = loader._qualified(table.schema, table.name)
        try:
            if (
                parent.settings.load_method == "overwrite"
                and part.spec.name not in loader.overwritten
            ):
                loader.con.execute(f"DELETE FROM {target}")
                loader.overwritten.add(part.spec.name)
            if upsert:
                _delete_children(
                    loader, target, table.columns, parent.keys, parts[0].records, tables
                )
        except duckdb.Error as exc:
            raise SyncError(
                f"stream {batch.spec.name!r}: cannot replace the rows of child table "
                f"{table.name}: {str(exc).splitlines()[0]}"
            ) from None
        if part.records:
            loader._load_batch(part)


def _delete_children(
    loader: DuckDBLoader,
    target: str,
    columns: dict[str, str],
    keys: list[str],
    parents: list[dict[str, Any]],
    tables: nested.NestedStream,
) -> None:
    """Delete the rows of a child table whose source keys are those of `parents` (one
    statement, the keys sent as text lists and cast to the columns' own types)."""
    source = [tables.plan.source_columns[k] for k in keys]
    unnest = ", ".join(
        f"CAST(unnest(?::VARCHAR[]) AS {columns[col]}) AS k{i}" for i, col in enumerate(source)
    )
    match = " AND ".join(
        f"c.{quote_ident(col)} IS NOT DISTINCT FROM s.k{i}" for i, col in enumerate(source)
    )
    lists = [[_text(r.get(k)) for r in parents] for k in keys]
    loader.con.execute(
        f"DELETE FROM {target} AS c USING (SELECT {unnest}) AS s WHERE {match}", lists
    )


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
