"""What sync.py and its replication methods (sync_full, sync_incremental, sync_binlog,
binlog_values) share: the resolved stream (`StreamPlan`), the run's context (`SyncContext`), the
SCHEMA and ACTIVATE_VERSION messages, and bookmark values to and from JSON.

Its own module so that the methods need not import sync.py, which runs them (no import cycle).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

import orjson
from tapwell.sdk.progress import Progress
from tapwell.singer import state as st
from tapwell.singer.catalog import StreamEntry
from tapwell.singer.wire import MessageWriter

from .config import MySQLConfig
from .connection import connect, quote
from .discovery import Table
from .types import Column, ZeroDates, row_plan

DELETED_AT = "_sdc_deleted_at"


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
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def from_sql(self) -> str:
        return f"{quote(self.table.database)}.{quote(self.table.name)}"

    def select_list(self) -> str:
        from .types import select_expression

        return ", ".join(select_expression(c, quote) for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.table.columns if c.name == name)

    def plan(self) -> list[tuple[int, Any]]:
        return row_plan(self.columns, self.schema["properties"])


@dataclass
class SyncContext:
    config: MySQLConfig
    out: IO[bytes]
    writer: MessageWriter
    zero: ZeroDates
    progress: Progress
    state: dict[str, Any]
    state_every: int
    batch_rows: int
    conv: dict[Any, Any] = field(default_factory=dict)
    _conn: Any = None

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = connect(self.config, self.conv)
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
    """ACTIVATE_VERSION: the target may retire rows of older versions of the stream.

    Sent only after (or together with) the version's first records, never before: a target
    retires older rows only for a version it received records of. A FULL_TABLE sync of a table
    that is really empty has no records to send; it says so with `"empty": true`."""
    msg: dict[str, Any] = {"type": "ACTIVATE_VERSION", "stream": sp.stream, "version": version}
    if empty:
        msg["empty"] = True
    ctx.writer.write_dict(msg)


# ----------------------------------------------------------------------------- bookmarks


def to_json_value(value: Any) -> Any:
    """A key value as it is kept in the state: JSON, exact (decimals stay Fragments)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    return value


def to_sql_param(col: Column, value: Any) -> Any:
    """A bookmarked value back to what the query compares the column with."""
    if value is None:
        return None
    kind = col.kind
    if kind == "datetime" and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed
    if kind == "binary" and isinstance(value, str):
        return base64.b64decode(value)
    if isinstance(value, float) or (kind in ("decimal", "float") and isinstance(value, (int, str))):
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    if kind in ("bool",) and isinstance(value, bool):
        return int(value)
    return value
