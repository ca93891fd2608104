"""What sync.py and its replication methods (sync_full, sync_incremental, sync_binlog,
binlog_values) share: the resolved stream (`StreamPlan`), the run's context (`SyncContext`), the
SCHEMA and ACTIVATE_VERSION messages (all three from tapwell.sdk.sql_tap, shared with
tap-postgres), and bookmark values to and from JSON.

Its own module so that the methods need not import sync.py, which runs them (no import cycle).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from tapwell.sdk.sql_tap import (
    DELETED_AT,
    SqlStreamPlan,
    SqlSyncContext,
    activate_version,
    write_schema,
)
from tapwell.singer.datetime_rule import parse_datetime

from .config import MySQLConfig
from .connection import connect, quote
from .discovery import Table
from .types import Column, ZeroDates, row_plan

__all__ = [
    "DELETED_AT", "StreamPlan", "SyncContext", "activate_version", "to_json_value", "to_sql_param",
    "write_schema",
]  # fmt: skip


class StreamPlan(SqlStreamPlan[Table, Column]):
    """One selected stream, resolved against the live table."""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def from_sql(self) -> str:
        return f"{quote(self.table.database)}.{quote(self.table.name)}"

    def select_list(self) -> str:
        from .types import select_expression

        return ", ".join(select_expression(c, quote) for c in self.columns)

    def plan(self) -> list[tuple[int, Any]]:
        return row_plan(self.columns, self.schema["properties"])


@dataclass(kw_only=True)
class SyncContext(SqlSyncContext):
    config: MySQLConfig
    zero: ZeroDates
    state_every: int
    batch_rows: int
    conv: dict[Any, Any] = field(default_factory=dict)

    def connect(self) -> Any:
        return connect(self.config, self.conv)


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
        parsed = parse_datetime(value)  # checked by bookmarks._value_problem
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
