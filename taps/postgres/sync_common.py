"""What sync.py and its replication methods share: the resolved stream (`StreamPlan`), the run's
context (`SyncContext`), the SCHEMA and ACTIVATE_VERSION messages, and the SQL that reads a
table's rows as record JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from tapwell.sdk.progress import Progress
from tapwell.singer import state as st
from tapwell.singer.catalog import StreamEntry
from tapwell.singer.wire import MessageWriter

from .config import PgConfig
from .connection import connect, quote
from .discovery import Table
from .types import Column, select_expression

DELETED_AT = "_sdc_deleted_at"
SRC = "_tw_src"  # table alias in the record query (names a user's column is unlikely to have)
ROW = "_tw_row"


@dataclass
class StreamPlan:
    """One selected stream, resolved against the live table."""

    entry: StreamEntry
    table: Table
    columns: list[Column]  # selected, supported, in table order
    schema: dict[str, Any]
    key_properties: list[str]
    method: str
    replication_key: str | None

    @property
    def tap_stream_id(self) -> str:
        return self.entry.tap_stream_id

    @property
    def stream(self) -> str:
        return self.entry.stream

    @property
    def from_sql(self) -> str:
        return f"{quote(self.table.schema)}.{quote(self.table.name)}"

    def column(self, name: str) -> Column:
        return next(c for c in self.table.columns if c.name == name)

    def record_sql(
        self, version: int, extra: list[str], columns: list[Column] | None = None
    ) -> str:
        """SELECT of the record JSON text (of `columns`, default all selected), then each of
        `extra` (the bookmark values) as JSON text, from the table aliased SRC; the caller adds
        WHERE and ORDER BY."""
        exprs = ", ".join(
            f"{select_expression(c, SRC, quote, version)} AS {quote(c.name)}"
            for c in (self.columns if columns is None else columns)
        )
        tail = "".join(f", to_json({SRC}.{quote(x)})::text" for x in extra)
        return (
            f"SELECT row_to_json({ROW})::text{tail} FROM {self.from_sql} AS {SRC} "
            f"CROSS JOIN LATERAL (SELECT {exprs}) AS {ROW}"
        )

    def cast(self, name: str) -> str:
        """`%s::<type>`: a bookmark value (JSON text) compared as the column's own type."""
        return f"%s::{self.column(name).sql_datatype}"


@dataclass
class SyncContext:
    cfg: PgConfig
    out: IO[bytes]
    writer: MessageWriter
    progress: Progress
    state: dict[str, Any]
    _conn: Any = None

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = connect(self.cfg)
        return self._conn

    def bookmark(self, stream: str, key: str, default: Any = None) -> Any:
        return st.get_bookmark(self.state, stream, key, default)

    def set_bookmark(self, stream: str, key: str, value: Any) -> None:
        self.state = st.set_bookmark(self.state, stream, key, value)

    def clear_bookmark(self, stream: str, key: str) -> None:
        self.state = st.clear_bookmark(self.state, stream, key)

    def emit_state(self) -> None:
        self.writer.write_state(self.state)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def write_schema(ctx: SyncContext, sp: StreamPlan) -> None:
    ctx.writer.write_schema(
        sp.stream,
        sp.schema,
        sp.key_properties,
        [sp.replication_key] if sp.replication_key else None,
    )


def activate_version(
    ctx: SyncContext, sp: StreamPlan, version: int, *, empty: bool = False
) -> None:
    """ACTIVATE_VERSION, sent only after the version's records (or with `empty` when the table
    really is empty), so a target never retires rows for a version it has not received."""
    ctx.writer.write_activate_version(sp.stream, version, empty=empty)


def bookmark_param(value: Any) -> str | None:
    """A bookmarked JSON value as the text the query casts to the column's type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    from tapwell.singer.wire import dumps

    return dumps(value).decode()
