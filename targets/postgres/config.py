"""target-postgres's settings, declared once (tapwell.sdk.settings): what the loader, the
connection and `--read-state` read, what `--about` prints and the README's table lists.

Configs written for PipelineWise's or MeltanoLabs' target-postgres work unchanged: their names
are aliases (`username`, `database`, `ssl_mode`, `add_record_metadata`, `sslrootcert`, ...),
values are read loosely (yes/no/on/off/1/0 are booleans, numbers may be numeric strings), and
the keys of theirs that mean nothing here are accepted without a warning.

`stream_settings` overrides `load_method` and `hard_delete` for one stream:

    {"load_method": "upsert", "stream_settings": {"shop-events": {"load_method": "append-only"},
                                                  "shop-lookup": {"hard_delete": true}}}

A keyless FULL_TABLE stream appended and soft-deleted on every run grows without bound; an
`overwrite` or a `hard_delete` for that one stream keeps it the size of its source, while the
other streams keep the global settings. A bad value is a config error (exit 2) naming the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tapwell.sdk.load_settings import (
    LOAD_METHODS,
    STREAM_KEYS,
    Dialect,
    StreamSettings,
    derived_setting,
    flag,
    load_method,
    split_stream,
    unmatched_entries,
    unmatched_mappings,
)
from tapwell.sdk.load_settings import stream_settings as _stream_settings
from tapwell.sdk.nested_settings import NestedSettings
from tapwell.sdk.settings import Settings, setting, whole_number
from tapwell.sdk.sql_names import shorten
from tapwell.sdk.target_settings import LoopSettings
from tapwell.singer.errors import ConfigError

from .encode import NUL_MODES

__all__ = [
    "DIALECT",
    "LOAD_METHODS",
    "NUMBER_TYPES",
    "SETTINGS",
    "STREAM_KEYS",
    "PostgresConfig",
    "StreamSettings",
    "parse",
    "split_stream",
]

NUMBER_TYPES = ("numeric", "double precision", "real")
DEFAULT_LOCK_TIMEOUT = 120  # seconds a statement waits for a lock (a vanished session's, say)
DEFAULT_STATEMENT_TIMEOUT = 3600  # seconds one statement may run; 0 turns it off
# Keys PipelineWise's and MeltanoLabs' target-postgres take that mean nothing here.
IGNORED = (
    *("parallelism", "max_parallelism", "flush_all_streams", "validate_records", "temp_dir"),
    *("data_flattening_max_level", "default_target_schema_select_permission", "dialect+driver"),
    *("activate_version", "process_activate_version_messages", "interpret_content_encoding"),
    *("ssl_client_certificate_enable", "ssl_storage_directory"),
)

# target-postgres reads its settings loosely (tapwell.sdk.load_settings) and words its errors so
DIALECT = Dialect(
    loose=True,
    not_object='config key stream_settings must be an object: {"<stream>": {"load_method": ..., '
    '"hard_delete": ...}}',
    entry_not_object="config key {where} must be an object with load_method or hard_delete",
    unknown_key="config key {where}: {unknown} cannot be set per stream (only {keys})",
)


def _flag(value: Any, key: str) -> bool:
    return flag(value, key, DIALECT)


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"config key {key}: {value!r} is not a number of seconds (0: no limit)")
    return float(value)


def _text(value: Any, key: str) -> str:
    return str(value)  # libpq takes any value as text, as the drivers did


_WHOLE = ("integer", "string")
_LOOSE_FLAG = ("boolean", "string")
_STREAM_SCHEMA = {
    "type": "object",
    "properties": {
        "load_method": {"type": "string", "enum": list(LOAD_METHODS)},
        "hard_delete": {"type": "boolean"},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True, kw_only=True)
class PostgresConfig(LoopSettings, NestedSettings):
    """target-postgres's config, parsed once; `defaults` and `streams` derived from it, and
    `state_schema` / `state_table` resolved (shortened to PostgreSQL's 63 bytes)."""

    host: str = setting("localhost", parse=_text, help="Server host")
    port: int = setting(5432, type=_WHOLE, parse=whole_number(1), help="Server port")
    user: str = setting("postgres", aliases=("username",), parse=_text, help="User name")
    password: str = setting(
        "", secret=True, parse=_text, show_default=False, help="Never logged, masked in every error"
    )
    dbname: str = setting(
        "",
        aliases=("database",),
        parse=_text,
        show_default=False,
        help="Database to load into (required unless sqlalchemy_url names it)",
    )
    sqlalchemy_url: str = setting(
        "",
        secret=True,
        show_default=False,
        help="MeltanoLabs' postgresql[+driver]://user:password@host:port/dbname?options, used "
        "instead of the keys above. Parsed by the target into libpq's keywords: the password runs "
        "to the last @ and may hold unencoded % / : or @ (percent escapes are decoded); libpq "
        "never sees the URL, so its errors never quote a piece of the password",
    )
    sslmode: str = setting(
        "",
        aliases=("ssl_mode",),
        parse=_text,
        show_default=False,
        help="libpq's sslmode, disable ... verify-full (default: libpq's)",
    )
    ssl: bool = setting(False, type=_LOOSE_FLAG, parse=_flag, help="true: sslmode require")
    ssl_enable: bool = setting(
        False, type=_LOOSE_FLAG, parse=_flag, help="true: sslmode require (PipelineWise's name)"
    )
    ssl_certificate_authority: str = setting(
        "", aliases=("sslrootcert",), show_default=False, help="CA file (libpq sslrootcert)"
    )
    ssl_client_certificate: str = setting(
        "", aliases=("sslcert",), show_default=False, help="Client certificate file (sslcert)"
    )
    ssl_client_private_key: str = setting(
        "", aliases=("sslkey",), show_default=False, help="Client key file (sslkey)"
    )
    default_target_schema: str = setting(
        "public", parse=_text, help="Schema for every table (created if missing)"
    )
    schema_mapping: dict[str, Any] = setting(
        {},
        help='{"<source schema or stream>": {"target_schema": "...", "target_table": "..."}} '
        "(PipelineWise's shape; target_table only when keyed by the whole stream), or "
        '{"<source schema>": "<schema>"}',
    )
    load_method: str = setting(
        "upsert",
        choices=LOAD_METHODS,
        parse=lambda value, key: load_method(value, key, DIALECT),
        help="upsert (merge on the key properties), append-only (COPY straight in, keys "
        "ignored), overwrite (the run's first batch of a stream replaces the table's rows, in "
        "its transaction)",
    )
    hard_delete: bool = setting(
        False,
        type=_LOOSE_FLAG,
        parse=_flag,
        help="ACTIVATE_VERSION deletes rows of older versions and records with _sdc_deleted_at "
        "are deleted; otherwise both are marked in _sdc_deleted_at",
    )
    stream_settings: Any = setting(
        {},
        type="object",
        parse=lambda value, key: value,  # checked in __post_init__, against the global settings
        schema={"additionalProperties": _STREAM_SCHEMA},
        help='Per stream, by the name the tap sends: {"shop-events": {"load_method": '
        '"append-only"}} overrides load_method and hard_delete for that stream only; any other '
        "key, or a bad value, is a config error naming stream_settings.<stream>.<key>. A keyless "
        "FULL_TABLE stream is appended and soft-deleted on every run and grows without bound: "
        "give it overwrite (or hard_delete) here. The runner passes tapwell.yml's per-stream "
        "settings under this key",
    )
    stream_settings_derived: tuple[str, ...] = derived_setting()
    add_metadata_columns: bool = setting(
        False,
        type=_LOOSE_FLAG,
        aliases=("add_record_metadata",),
        parse=_flag,
        help="Add _sdc_extracted_at, _sdc_received_at, _sdc_batched_at, _sdc_deleted_at, "
        "_sdc_table_version and _sdc_sequence to every table",
    )
    primary_key_required: bool = setting(
        False,
        type=_LOOSE_FLAG,
        parse=_flag,
        help="With upsert, refuse a stream without key properties (false: its rows are appended)",
    )
    number_type: str = setting(
        "numeric", choices=NUMBER_TYPES, help="Type of a number without precision"
    )
    nul_characters: str = setting(
        "replace",
        choices=NUL_MODES,
        help="A NUL character (\\u0000) in text or JSON, which PostgreSQL cannot store: replace "
        "it with U+FFFD, strip it, or error (refuse the record, exit 65); the values changed are "
        "counted in one warning per stream at the end of the run",
    )
    # A batch is held in memory as dicts (~1.5 KB a row): 20,000 rows or 8 MiB of input keeps a
    # typical stream near 60 MB. An explicit batch_size_rows (PipelineWise's is 100,000) wins.
    batch_size_rows: int = setting(
        20_000,
        type=_WHOLE,
        aliases=("batch_rows",),
        parse=whole_number(1),
        help="Rows per committed batch (held in memory until committed)",
    )
    batch_size_bytes: int = setting(
        8 * 1024 * 1024,
        type=_WHOLE,
        parse=whole_number(1),
        help="Input bytes per committed batch, so wide rows stay bounded too",
    )
    state_id: str = setting(
        "default",
        parse=_text,
        help="Key of this integration's row in the state table; give each integration its own",
    )
    state_schema: str = setting(
        "",
        parse=_text,
        show_default=False,
        help="Schema of the state table (default: default_target_schema)",
    )
    state_table: str = setting(
        "tapwell_state",
        parse=_text,
        help="Name of the state table; a stream never loads into it and a user's table of that "
        "name is never written",
    )
    connect_timeout: int = setting(
        30, type=_WHOLE, parse=whole_number(1), help="Seconds to wait for the server"
    )
    lock_timeout: float = setting(
        DEFAULT_LOCK_TIMEOUT,
        type="number",
        parse=_seconds,
        help="Seconds a statement waits for a lock (a table another load holds, or the locks of a "
        "session the network lost) before the run fails with exit 75, to be retried; 0 waits "
        "forever",
    )
    statement_timeout: float = setting(
        DEFAULT_STATEMENT_TIMEOUT,
        type="number",
        parse=_seconds,
        help="Seconds one statement may run; 0: no limit",
    )
    defaults: StreamSettings = field(init=False, default=StreamSettings())
    streams: dict[str, StreamSettings] = field(init=False, default_factory=dict)
    # the streams of this load, as the loader asks for their settings (`of`): for `unmatched`
    seen: set[str] = field(init=False, default_factory=set, compare=False, repr=False)

    def __post_init__(self) -> None:
        defaults = StreamSettings(self.load_method, self.hard_delete)
        object.__setattr__(self, "defaults", defaults)
        object.__setattr__(
            self, "streams", _stream_settings(self.stream_settings, defaults, DIALECT)
        )
        object.__setattr__(
            self, "state_schema", shorten(self.state_schema or self.default_target_schema)
        )
        object.__setattr__(self, "state_table", shorten(self.state_table))

    @property
    def nul_mode(self) -> str:
        return self.nul_characters

    def of(self, stream: str) -> StreamSettings:
        """The settings of `stream`: its own entry in stream_settings, else the global ones.
        The loader asks once for every stream that comes (its SCHEMA), which `unmatched` reads."""
        self.seen.add(stream)
        return self.streams.get(stream, self.defaults)

    def unmatched(self) -> list[str]:
        """A warning per entry of stream_settings (by stream name) and schema_mapping (by source
        schema or stream name, ddl.target_of) that no stream of the load matched; entries the
        runner made (stream_settings_derived) are its own to check."""
        seen, quiet = self.seen, set(self.stream_settings_derived)
        lines = unmatched_entries(
            "stream_settings", [k for k in self.streams if k not in quiet], seen.__contains__, seen
        )
        lines += unmatched_mappings([k for k in self.schema_mapping if k not in quiet], seen)
        return lines


SETTINGS = Settings(PostgresConfig, ignored=IGNORED)


def parse(config: PostgresConfig | dict[str, Any]) -> PostgresConfig:
    """The parsed config (SETTINGS.parse), or `config` itself when it already is one."""
    return SETTINGS.of(config)
