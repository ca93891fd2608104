"""What sync.py and its replication methods share: the resolved stream (`StreamPlan`), the run's
context (`SyncContext`), the SCHEMA and ACTIVATE_VERSION messages (all three from
tapwell.sdk.sql_tap, shared with tap-mysql), and the SQL that reads a table's rows as record
JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tapwell.sdk.sql_tap import (
    DELETED_AT,
    SqlStreamPlan,
    SqlSyncContext,
    activate_version,
    write_schema,
)

from .config import PgConfig
from .connection import connect, quote
from .discovery import Table
from .types import Column, held_condition, select_expression

SRC = "_tw_src"  # table alias in the record query (names a user's column is unlikely to have)
ROW = "_tw_row"

__all__ = [
    "DELETED_AT", "ROW", "SRC", "StreamPlan", "SyncContext", "activate_version", "bookmark_param",
    "write_schema",
]  # fmt: skip


class StreamPlan(SqlStreamPlan[Table, Column]):
    """One selected stream, resolved against the live table."""

    @property
    def from_sql(self) -> str:
        return f"{quote(self.table.schema)}.{quote(self.table.name)}"

    def record_sql(
        self,
        version: int,
        extra: list[str],
        columns: list[Column] | None = None,
        *,
        held_only: bool = False,
    ) -> str:
        """SELECT of the record JSON text (of `columns`, default all selected), then each of
        `extra` (the bookmark values) as JSON text, from the table aliased SRC; the caller adds
        WHERE and ORDER BY. `held_only` (a replication key): an `extra` value the record gives
        as null (NaN, infinity, 24:00:00: they sort after every real value) is NULL, so it is
        never bookmarked and rows written after it are still synced."""
        exprs = ", ".join(
            f"{select_expression(c, SRC, quote, version)} AS {quote(c.name)}"
            for c in (self.columns if columns is None else columns)
        )
        tail = "".join(f", {self._bookmark_sql(x, version, held_only)}" for x in extra)
        return (
            f"SELECT row_to_json({ROW})::text{tail} FROM {self.from_sql} AS {SRC} "
            f"CROSS JOIN LATERAL (SELECT {exprs}) AS {ROW}"
        )

    def _bookmark_sql(self, name: str, version: int, held_only: bool) -> str:
        c = f"{SRC}.{quote(name)}"
        held = held_condition(self.column(name), c, version) if held_only else None
        return (
            f"to_json({c})::text"
            if held is None
            else f"to_json(CASE WHEN {held} THEN {c} END)::text"
        )

    def cast(self, name: str) -> str:
        """`%s::<type>`: a bookmark value (JSON text) compared as the column's own type."""
        return f"%s::{self.column(name).sql_datatype}"


@dataclass(kw_only=True)
class SyncContext(SqlSyncContext):
    cfg: PgConfig

    def connect(self) -> Any:
        return connect(self.cfg)


def bookmark_param(value: Any) -> str | None:
    """A bookmarked JSON value as the text the query casts to the column's type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    from tapwell.singer.wire import dumps

    return dumps(value).decode()
