"""Columns a load does not fill keep their stored values on upsert.

A property that a re-sent SCHEMA no longer names leaves its column (a column is never dropped).
The source stopped sending it, so an upserted row of a key the table holds keeps the value
stored there, as `INSERT ... ON CONFLICT DO UPDATE` of the schema's columns keeps it in
target-postgres (and as PipelineWise's targets update only the current schema's columns); a new
key gets NULL there. The merge is delete-then-insert (loader.py): such columns are read from the
stored rows of the batch's keys into STORED before the delete and joined back on insert. A
property the schema still names but a record leaves out is NULL, as in any record.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import duckdb
from tapwell.sdk.sql_names import quote_ident

from .ddl import fold, key_match

STORED = "temp.main._tapwell_stored"  # the stored values of the left-out columns, by key
DELETED_AT = "_sdc_deleted_at"


def unnamed(columns: Collection[str], props: Collection[str]) -> list[str]:
    """The table's columns no property of the stream's SCHEMA names, itself or as the prefix of
    a column it was split into (`address` of `address__city`, and the other way round: a switch
    of `nested` mode leaves the other mode's columns unfilled, NULL, never stale), and not
    `_sdc_deleted_at`: a row sent again is alive again (NULL), as in target-postgres."""
    names = {fold(p) for p in props}
    prefixes = tuple(f"{n}__" for n in names)
    return [
        c
        for c in columns
        if fold(c) not in names
        and not fold(c).startswith(prefixes)
        and not any(n.startswith(f"{fold(c)}__") for n in names)
        and fold(c) != DELETED_AT
    ]


def left_out(unnamed: Sequence[str], filled: Sequence[str], keys: Sequence[str]) -> list[str]:
    """Of the `unnamed` columns, those the load does not fill (none without keys: no row is
    replaced)."""
    if not keys:
        return []
    taken = {fold(c) for c in [*filled, *keys]}
    return [c for c in unnamed if fold(c) not in taken]


def save(
    con: duckdb.DuckDBPyConnection, target: str, keys: Sequence[str], left: Sequence[str], rows: str
) -> None:
    """STORED: the key columns and `left` columns of `target`'s rows whose keys are in `rows`
    (a relation or a table), one row per key; before the delete by key."""
    cols = ", ".join(f"t.{quote_ident(c)}" for c in [*keys, *left])
    distinct = ", ".join(f"t.{quote_ident(k)}" for k in keys)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STORED} AS SELECT DISTINCT ON ({distinct}) {cols} "
        f"FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {rows} AS s WHERE {key_match(list(keys))})"
    )


def insert(
    target: str, cols: Sequence[str], left: Sequence[str], keys: Sequence[str], rows: str
) -> str:
    """The INSERT of `rows` (a SELECT of the table's `cols`) with each `left` column's stored
    value (STORED) for its key, NULL for a new key."""
    every = ", ".join(quote_ident(c) for c in [*cols, *left])
    values = [f"s.{quote_ident(c)}" for c in cols] + [f"t.{quote_ident(c)}" for c in left]
    return (
        f"INSERT INTO {target} ({every}) SELECT {', '.join(values)} FROM ({rows}) AS s "
        f"LEFT JOIN {STORED} AS t ON {key_match(list(keys))}"
    )


def drop(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {STORED}")
