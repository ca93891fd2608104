"""Values sent as null because JSON, `format: time` or the targets' date types cannot hold them
(NaN, ±Infinity, dates outside 0001..9999, 24:00:00: README, "NaN, ±Infinity ..."), told to the
user: one line on stderr per stream and column at the end of the stream's sync, never one per row.

A snapshot (RECORD lines and both BATCH formats alike) counts them with one query over the rows it
read, in its own snapshot, and only for columns whose type can hold such values: a table without
any costs nothing. The WAL path counts them as it converts each value (`Tally`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from .connection import quote, server_version, translated
from .sync_common import SRC, StreamPlan, SyncContext
from .types import NULLABLE_KINDS, Column, held_condition

_WHAT = {
    "decimal": ("NaN/Infinity", "JSON has no such number"),
    "float": ("NaN/Infinity", "JSON has no such number"),
    "date": ("infinity/-infinity or outside years 1..9999", "no target date type holds them"),
    "timestamp": ("infinity/-infinity or outside years 1..9999", "no target date type holds them"),
    "timestamptz": (
        "infinity/-infinity or outside years 1..9999",
        "no target date type holds them",
    ),
    "time": ("24:00:00", "format time has no such time"),
}


def line(table: str, column: str, kind: str, n: int, *, elements: bool = False) -> str:
    """`tap-postgres: stream public.t column x: 3 values NaN/Infinity sent as null (...)`."""
    what, why = _WHAT[kind]
    noun = ("array element" if elements else "value") + ("" if n == 1 else "s")
    return f"tap-postgres: stream {table} column {column}: {n} {noun} {what} sent as null ({why})\n"


def _nullable(col: Column) -> tuple[str, bool] | None:
    """(kind, is an array) of a column whose values (or elements) may be sent as null."""
    t = col.type.element if col.type.element is not None else col.type
    if t.kind not in NULLABLE_KINDS or t.typtype == "c":
        return None
    return t.kind, col.type.element is not None


def count_sql(columns: list[Column], from_sql: str, src: str, version: int) -> str | None:
    """SELECT of how many values of each column that may be sent as null are (array columns:
    how many elements), over `from_sql` aliased `src` (the caller adds the WHERE of the rows it
    read); None when no column may be."""
    exprs = []
    for col in columns:
        nullable = _nullable(col)
        if nullable is None:
            continue
        c = f"{src}.{quote(col.name)}"
        if nullable[1]:
            assert col.type.element is not None
            held = held_condition(Column("e", col.type.element), "_tw_e", version)
            exprs.append(
                f"coalesce(sum((SELECT count(*) FROM unnest({c}) AS _tw_e WHERE NOT ({held}))), 0)"
            )
        else:
            exprs.append(f"count(*) FILTER (WHERE NOT ({held_condition(col, c, version)}))")
    return f"SELECT {', '.join(exprs)} FROM {from_sql} AS {src}" if exprs else None


def count_snapshot(ctx: SyncContext, sp: StreamPlan, where: str, params: list[Any]) -> None:
    """Count, in the open snapshot, the values of the rows `where` selects (the table aliased
    SRC) that were sent as null; tell them."""
    query = count_sql(sp.columns, sp.from_sql, SRC, server_version(ctx.conn))
    if query is None:
        return
    with (
        translated(ctx.cfg, f"counting the values of {sp.tap_stream_id} sent as null"),
        ctx.conn.cursor() as cur,
    ):
        cur.execute(query + where, params)
        counts = cur.fetchone()
    table = f"{sp.table.schema}.{sp.table.name}"
    cols = [(c, k) for c in sp.columns if (k := _nullable(c)) is not None]
    err = sys.stderr
    for (col, (kind, elements)), n in zip(cols, counts, strict=True):
        if n:
            err.write(line(table, col.name, kind, int(n), elements=elements))
    err.flush()


class Tally:
    """The WAL path's counts, per stream table and column, told by `report` at the end."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str, bool], int] = {}

    def counter(self, table: str, col: Column) -> Callable[[], None] | None:
        """A function to call for each value of `col` sent as null; None when none can be."""
        nullable = _nullable(col)
        if nullable is None:
            return None
        key = (table, col.name, *nullable)

        def add() -> None:
            self.counts[key] = self.counts.get(key, 0) + 1

        return add

    def report(self, err: IO[str] | None = None) -> None:
        out = err or sys.stderr
        for (table, column, kind, elements), n in self.counts.items():
            out.write(line(table, column, kind, n, elements=elements))
        out.flush()
