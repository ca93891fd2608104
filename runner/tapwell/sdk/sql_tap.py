"""What every SQL tap (tap-mysql, tap-postgres) shares: the config parsers their settings use
(flags, ports, name lists), the resolved stream (`SqlStreamPlan`), the run's context
(`SqlSyncContext`: the state and its bookmarks, the message writer, one lazy connection), and the
SCHEMA and ACTIVATE_VERSION messages of a stream.

A tap subclasses the two dataclasses with its own table, column and config types; the context
has one seam, `connect()`. Nothing here knows a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Generic, Protocol, TypeVar

from tapwell.singer import state as st
from tapwell.singer.catalog import StreamEntry
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import MessageWriter

from .progress import Progress
from .settings import Parse

__all__ = [
    "FLAG",
    "WHOLE",
    "SqlStreamPlan",
    "SqlSyncContext",
    "activate_version",
    "flag",
    "loose_flag",
    "name_list",
    "port",
    "truthy",
    "write_schema",
]

# ----------------------------------------------------------------------------- config parsers

FLAG = ("boolean", "string")  # JSON types a flag setting accepts ("true" in older configs)
WHOLE = ("integer", "string")  # JSON types a whole-number setting accepts ("5432")
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def truthy(value: Any) -> bool:
    """Config flags arrive as JSON booleans or as strings ("true", "1") in older configs."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def flag(value: Any, key: str) -> bool:
    """A JSON boolean, or one of the words of older configs ("true", "0", "off"); any other
    value is an error naming the key."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"config key {key}: {value!r} is not true or false")


def loose_flag(value: Any, key: str) -> bool:
    """A JSON boolean or any string, read as singer-io's taps read it (a word other than the
    true ones is false); other JSON types are an error naming the key."""
    if not isinstance(value, bool | str):
        raise ConfigError(f"config key {key}: {value!r} is not true or false")
    return truthy(value)


def port(value: Any, key: str) -> int:
    """A port given as a JSON integer or a numeric string."""
    try:
        if isinstance(value, bool | float | dict | list):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"config key {key}: {value!r} is not a port number") from None


def name_list(noun: str) -> Parse:
    """A parse for a list of names (`noun`: "database", "schema"): a comma-separated string
    (singer-io, PipelineWise) or a JSON list of strings (MeltanoLabs)."""

    def parse(value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"config key {key}: a comma-separated string or a list of {noun} names")

    return parse


# ----------------------------------------------------------------------------- streams


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class _HasColumns(Protocol):
    @property
    def columns(self) -> Sequence[Any]: ...


T = TypeVar("T", bound=_HasColumns)
C = TypeVar("C", bound=_Named)


@dataclass
class SqlStreamPlan(Generic[T, C]):
    """One selected stream, resolved against the live table."""

    entry: StreamEntry
    table: T
    columns: list[C]  # selected, supported, in table order
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

    def column(self, name: str) -> C:
        """The table's column `name` (selected or not)."""
        return next(c for c in self.table.columns if c.name == name)


@dataclass(kw_only=True)
class SqlSyncContext:
    """The run: where messages go, the state as it stands, and one connection opened on first
    use (`connect()`, the tap's seam) and closed by `close()`."""

    out: IO[bytes]
    writer: MessageWriter
    progress: Progress
    state: dict[str, Any]
    _conn: Any = None

    def connect(self) -> Any:
        raise NotImplementedError

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = self.connect()
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


def write_schema(ctx: SqlSyncContext, sp: SqlStreamPlan[Any, Any]) -> None:
    ctx.writer.write_schema(
        sp.stream,
        sp.schema,
        sp.key_properties,
        [sp.replication_key] if sp.replication_key else None,
    )


def activate_version(
    ctx: SqlSyncContext, sp: SqlStreamPlan[Any, Any], version: int, *, empty: bool = False
) -> None:
    """ACTIVATE_VERSION: the target may retire rows of older versions of the stream.

    Sent only after (or together with) the version's first records, never before: a target
    retires older rows only for a version it received records of. A FULL_TABLE sync of a table
    that is really empty has no records to send; it says so with `"empty": true`."""
    ctx.writer.write_activate_version(sp.stream, version, empty=empty)
