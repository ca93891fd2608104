"""What every SQL tap (tap-mysql, tap-postgres) shares: the config parsers their settings use
(flags, ports, name lists) and the settings they both declare (`*_setting`), the resolved stream (`SqlStreamPlan`, built by `resolve_stream` from
the catalog entry and the live table), the run's context
(`SqlSyncContext`: the state and its bookmarks, the message writer, one lazy connection), and the
SCHEMA and ACTIVATE_VERSION messages of a stream.

A tap subclasses the two dataclasses with its own table, column and config types; the context
has one seam, `connect()`. Nothing here knows a database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Generic, Protocol, TypeVar

from tapwell.singer import state as st
from tapwell.singer.catalog import Catalog, StreamEntry
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import MessageWriter

from .progress import Progress
from .settings import Parse, setting, whole_number
from .tap_batch import parse_batch_config

__all__ = [
    "DELETED_AT",
    "FLAG",
    "METHODS",
    "WHOLE",
    "SqlStreamPlan",
    "SqlSyncContext",
    "activate_version",
    "batch_config_setting",
    "batch_rows_setting",
    "connect_timeout_setting",
    "filter_setting",
    "flag",
    "loose_flag",
    "name_list",
    "password_setting",
    "plan_streams",
    "port",
    "resolve_stream",
    "selected_columns",
    "start_date_setting",
    "state_every_setting",
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


# ----------------------------------------------------------------------------- shared settings
# The settings both SQL taps declare, as fields of their config dataclasses (tapwell.sdk.settings):
# one declaration, so the taps' --about and READMEs say the same words for the same setting.


def password_setting() -> Any:
    return setting("", secret=True, show_default=False, help="Password; never printed")


def filter_setting(noun: str, aliases: tuple[str, ...] = ()) -> Any:
    """`filter_dbs` / `filter_schemas`: the databases or schemas (`noun`, plural) to discover."""
    return setting(
        (),
        type=("string", "array"),
        aliases=aliases,
        parse=name_list(noun.rstrip("s")),
        show_default=False,
        help=f'{noun.capitalize()} to discover: "a,b" or ["a", "b"] (default: all but the '
        "system schemas)",
    )


def state_every_setting(rows: str = "Rows") -> Any:
    """`state_every` (PipelineWise's `export_batch_rows`)."""
    return setting(
        10_000,
        type=WHOLE,
        aliases=("export_batch_rows",),
        parse=whole_number(1),
        help=f"{rows} between STATE messages",
    )


def batch_rows_setting(aliases: tuple[str, ...] = ()) -> Any:
    return setting(
        5_000,
        type=WHOLE,
        aliases=aliases,
        parse=whole_number(1),
        help="Rows fetched from the server-side cursor at a time",
    )


def start_date_setting(kinds: str) -> Any:
    """`start_date`; `kinds`: the key types it applies to ("date or datetime")."""
    return setting(
        "",
        show_default=False,
        help=f"INCREMENTAL on a {kinds} key: where to start without a bookmark",
    )


def batch_config_setting(rows: str, csv: str) -> Any:
    """singer-sdk's `batch_config`, the fast lane; `rows`: which rows take it, `csv`: what its
    csv is."""
    return setting(
        None,
        type="object",
        parse=parse_batch_config,
        show_default=False,
        help=f"The fast lane (singer-sdk's spelling): {rows} go into files, "
        '{"encoding": {"format": "jsonl"|"csv", "compression": "none"|"gzip"}, '
        '"storage": {"root": "file:///dir", "prefix": ""}, "batch_size": 100000, '
        '"max_pending_files": 0, "durable": true}, each file followed by BATCH and a STATE '
        f"(csv: {csv}); max_pending_files (tapwell's): wait while more files are not yet "
        "consumed (0: never); durable (tapwell's): fsync each file before its BATCH (false: not, "
        "as `tapwell run`'s spool says, whose target commits the rows within the run)",
    )


def connect_timeout_setting() -> Any:
    return setting(30, type=WHOLE, parse=whole_number(1), help="Seconds to wait for a connection")


# ----------------------------------------------------------------------------- streams


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class _HasColumns(Protocol):
    @property
    def columns(self) -> Sequence[Any]: ...


class _Table(_HasColumns, Protocol):
    @property
    def is_view(self) -> bool: ...


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


DELETED_AT = "_sdc_deleted_at"  # the LOG_BASED column that marks a deleted row
METHODS = ("FULL_TABLE", "INCREMENTAL", "LOG_BASED")
P = TypeVar("P", bound=SqlStreamPlan[Any, Any])


def selected_columns(entry: StreamEntry) -> set[str]:
    """Columns a selected stream emits: its properties selected by the one rule every tap and the
    runner use (StreamEntry.selected_properties, singer-sdk's: `unsupported` never, `automatic`
    always, then the column's `selected`, then its `selected-by-default`, else the stream's)."""
    return set(entry.selected_properties())


def resolve_stream(
    plan: Callable[..., P],
    entry: StreamEntry,
    table: _Table,
    *,
    supported: Callable[[Any], bool],
    column_schema: Callable[[Any, dict[str, Any] | None], dict[str, Any]],
    log: logging.Logger,
    check_log_based: Callable[[StreamEntry, list[Any], dict[str, Any]], None] | None = None,
) -> P:
    """A selected stream resolved against the live table: its columns (selected or key, and
    `supported` by the tap), their schema (`column_schema(column, the catalog's schema of it or
    None)`), keys, replication method and key; every catalog mistake is a ConfigError naming the
    stream. `check_log_based(entry, columns, their resolved schemas)` may refuse a LOG_BASED
    stream whose columns changed since discovery. `plan` is the tap's SqlStreamPlan."""
    sid = entry.tap_stream_id
    props = entry.schema.get("properties") or {}
    if not props:
        raise ConfigError(
            f"stream {sid!r}: its catalog entry has no schema (no properties); "
            "run --discover again and select the stream in the catalog it prints"
        )
    selected = selected_columns(entry)
    declared = entry.key_properties or list(entry.metadata().get("view-key-properties") or [])
    keys = [k for k in declared if any(c.name == k for c in table.columns)]
    columns = [c for c in table.columns if supported(c) and (c.name in selected or c.name in keys)]
    missing = sorted(selected - {c.name for c in table.columns} - {DELETED_AT})
    if missing:
        log.warning(
            "stream %s: selected columns %s are no longer in the table; skipping them", sid, missing
        )
    if not columns:
        raise ConfigError(
            f"stream {sid!r}: none of its columns is selected or still in the table; "
            "select at least one column in the catalog (or deselect the stream)"
        )
    schema_props = {c.name: column_schema(c, props.get(c.name) or None) for c in columns}
    method = entry.replication_method
    if method not in METHODS:
        raise ConfigError(
            f"stream {sid!r}: replication-method {method!r} is not one of {', '.join(METHODS)}"
        )
    rkey = entry.replication_key if method == "INCREMENTAL" else None
    if method == "INCREMENTAL":
        if not rkey:
            raise ConfigError(
                f"stream {sid!r} is INCREMENTAL but has no replication-key in its metadata"
            )
        if rkey not in schema_props:
            raise ConfigError(
                f"stream {sid!r}: replication key {rkey!r} is not a selected column of the table"
            )
    if method == "LOG_BASED":
        if check_log_based is not None:
            check_log_based(entry, columns, schema_props)
        if table.is_view:
            raise ConfigError(
                f"stream {sid!r} is a view: LOG_BASED needs a table; use FULL_TABLE or INCREMENTAL"
            )
        schema_props[DELETED_AT] = {"type": ["null", "string"], "format": "date-time"}
    schema = {
        **entry.schema,
        "type": entry.schema.get("type", "object"),
        "properties": schema_props,
    }
    return plan(entry, table, columns, schema, keys, method, rkey)


def plan_streams(
    catalog: Catalog,
    *,
    table_of: Callable[[StreamEntry], tuple[str, str]],
    read_tables: Callable[[set[tuple[str, str]]], dict[tuple[str, str], Any]],
    resolve: Callable[[StreamEntry, Any], P],
    log: logging.Logger,
) -> list[P]:
    """The selected streams resolved against their live tables: `table_of` names an entry's
    (database or schema, table), `read_tables` reads those that exist by that name, `resolve`
    is the tap's (resolve_stream with its parts). A table that is gone is a ConfigError."""
    entries = catalog.selected()
    if not entries:
        log.warning("no stream is selected in the catalog; nothing to do")
        return []
    wanted = {table_of(e): e for e in entries}
    tables = read_tables(set(wanted))
    plans = []
    for key, entry in wanted.items():
        table = tables.get(key)
        if table is None:
            raise ConfigError(
                f"stream {entry.tap_stream_id!r}: table {key[0]}.{key[1]} does not exist or the "
                "user cannot read it; run --discover again"
            )
        plans.append(resolve(entry, table))
    return plans


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
