"""target-duckdb's settings, declared once (tapwell.sdk.settings): what the loader reads, what
`--about` prints and the README's table lists.

Per-stream settings (`stream_settings`) override `load_method` and `hard_delete` for one stream
and are checked exactly as the global ones are; `schema_mapping` gives a stream its own schema
or table name, keyed by its whole name or its source schema (two streams never share a table:
the loader refuses, naming this setting).
"""

from __future__ import annotations

import os
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
from tapwell.sdk.target_settings import LoopSettings
from tapwell.singer.errors import ConfigError

__all__ = ["DIALECT", "LOAD_METHODS", "SETTINGS", "STREAM_KEYS", "DuckDBConfig", "StreamSettings"]

# target-duckdb reads its settings strictly (tapwell.sdk.load_settings) and words its errors so
DIALECT = Dialect(
    loose=False,
    not_object='config key stream_settings: must be an object {"<stream>": {"load_method": ..., '
    '"hard_delete": ...}}',
    entry_not_object="config key {where}: must be an object with load_method and/or hard_delete",
    unknown_key="config key {where}: unknown setting {first} (per-stream settings are {keys})",
)

# DuckDB's own defaults are 80% of the machine's memory and a thread per core. A load is one
# batch at a time, so a fixed limit bounds the target's memory without slowing it: on 5,000,000
# orders rows 256MB gave a peak RSS of 467 MB against 497 MB with 1GB (DuckDB's own read_json of
# the same records: 414 MB), in no more time (README, Benchmarks).
MEMORY_LIMIT = "256MB"
# DuckDB checkpoints the WAL into the file at a commit once it holds this much (its default is
# 16MB, which a 25,000-row batch passes: every commit checkpointed, rewriting the table's last,
# partly filled row group each time). On 1,000,000 orders rows 64MB cut the commits from 2.1 to
# 0.8 s and the process's CPU from 9.4 to 6.8 s at about the same peak RSS (305-310 MB against
# 327); 256MB gave 372 MB (uncheckpointed rows are held in memory).
CHECKPOINT_THRESHOLD = "64MB"
THREADS = 2
# DuckDB's threads for a load that runs beside the reader (overlap_loads). Since the next batch's
# lines are read and checked while the load before it commits (DuckDBLoader.load_ahead), two
# statements run beside the reader: with 1 thread each the three take the 2 cores, with 2 they
# cost more CPU for no wall time (README "A batch loads while the next is read"). Before that, 2
# gave the lower wall time on a quiet machine (one load at a time beside the reader).
OVERLAP_THREADS = 1
# DuckDB's threads for a load of csv BATCH files, during which the tap writes the next file: 1
# leaves the tap (the lane's critical path) a core of its own. tap-csv | target-duckdb, csv lane,
# interleaved against 2 (2026-12-06 21:50, load 6-6.6 on 2 cores): 300,000 orders rows, target
# CPU median 1.07 s against 1.11 (lower in 4 of 5 pairs), peak RSS 153-168 MB against 173-220;
# 1,000,000 rows, 3.26 against 3.32 s, 215-222 MB against 234-243, wall lower in 3 of 3 pairs.
BATCH_THREADS = 1
# Rows per committed batch. A batch is held as Python rows until it is loaded; 25,000 rows kept
# the peak RSS under DuckDB's own read_json on 1,000,000 orders rows (247-261 MB against 346 MB;
# 343-355 MB with 100,000) for the same CPU seconds (README, Benchmarks).
BATCH_ROWS = 25_000

MAPPING_KEYS = ("target_schema", "target_table")
_MAPPING_SCHEMA = {
    "type": "object",
    "properties": {"target_schema": {"type": "string"}, "target_table": {"type": "string"}},
    "additionalProperties": False,
}
_STREAM_SCHEMA = {
    "type": "object",
    "properties": {
        "load_method": {"type": "string", "enum": list(LOAD_METHODS)},
        "hard_delete": {"type": "boolean"},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True, kw_only=True)
class DuckDBConfig(LoopSettings, NestedSettings):
    """target-duckdb's config, parsed once (SETTINGS.parse): every setting checked, a bad one a
    ConfigError naming the key and the fix; `defaults` and `streams` derived from them."""

    path: str = setting(
        "warehouse.duckdb",
        aliases=("database", "filepath"),
        parse=lambda value, key: _file_path(value, key),
        help="The DuckDB file (created, with any missing folders, if it does not exist)",
    )
    default_target_schema: str = setting(
        "main", aliases=("schema",), help="Schema the tables (and _tapwell_state) go in"
    )
    schema_mapping: dict[str, dict[str, str]] = setting(
        {},
        parse=lambda value, key: _schema_mapping(value),
        schema={"additionalProperties": _MAPPING_SCHEMA},
        help='{"<stream or source schema>": {"target_schema": "...", "target_table": "..."}}: a '
        "stream's own schema and/or table, the entry under its whole name first, else under the "
        "source schema of a <schema>-<table> name (PipelineWise's meaning; target_table only "
        "under the whole name); by default the table is the stream's name; a string is the "
        "target_schema",
    )
    load_method: str = setting(
        "upsert",
        choices=LOAD_METHODS,
        parse=lambda value, key: load_method(value, key, DIALECT),
        help="How rows load: upsert merges on the key properties",
    )
    hard_delete: bool = setting(
        False,
        parse=lambda value, key: flag(value, key, DIALECT),
        help="Delete rows (ACTIVATE_VERSION, _sdc_deleted_at) instead of marking _sdc_deleted_at",
    )
    stream_settings: dict[str, Any] = setting(
        {},
        type="object",
        parse=lambda value, key: value,  # checked in __post_init__, against the global settings
        schema={"additionalProperties": _STREAM_SCHEMA},
        help='{"<stream>": {"load_method": ..., "hard_delete": ...}}: the two settings above for '
        "one stream, checked the same way (the runner passes tapwell.yml's per-stream settings "
        "here)",
    )
    stream_settings_derived: tuple[str, ...] = derived_setting()
    state_id: str = setting(
        "default",
        help="Key of the state row kept in _tapwell_state, written in the batch's transaction",
    )
    memory_limit: str = setting(
        MEMORY_LIMIT,
        parse=lambda value, key: _size(value, key),
        help="DuckDB's memory_limit for the load (512MB, 4GB): bounds the target's memory; past "
        "it DuckDB spills to a temp directory beside the file",
    )
    checkpoint_threshold: str = setting(
        CHECKPOINT_THRESHOLD,
        parse=lambda value, key: _size(value, key),
        help="DuckDB's checkpoint_threshold: the WAL is written into the file at the first "
        "commit past this size (bigger: fewer, larger checkpoints, more memory)",
    )
    threads: int = setting(
        THREADS,
        type=("integer", "string"),
        parse=whole_number(1),
        help="DuckDB's threads for the load",
    )
    overlap_threads: int = setting(
        OVERLAP_THREADS,
        type=("integer", "string"),
        parse=whole_number(1),
        help="DuckDB's threads for a load that runs while the next batch is read (overlap_loads: "
        "the reader and the next batch's check take the other core); `threads` is for the others",
    )
    batch_threads: int = setting(
        BATCH_THREADS,
        type=("integer", "string"),
        parse=whole_number(1),
        help="DuckDB's threads for a load of csv BATCH files (the fast lane: the tap writes the "
        "next file meanwhile, on a core of its own)",
    )
    raw_lines: bool = setting(
        True,
        parse=lambda value, key: flag(value, key, DIALECT),
        help="RECORD lines of tapwell's own writers go to DuckDB as they are, checked and typed "
        "in SQL (a batch SQL refuses is checked again in Python, which names the problem); "
        "false: every record is parsed and checked in Python",
    )
    overlap_loads: bool = setting(
        True,
        parse=lambda value, key: flag(value, key, DIALECT),
        help="A full batch is loaded and committed in a second thread while the next one is "
        "read, and that one's lines are checked while it commits (STATE lines still printed in "
        "order, each only after its commit); false: read, then load, in turn",
    )
    batch_size_rows: int = setting(
        BATCH_ROWS,
        type=("integer", "string"),
        aliases=("batch_rows",),
        parse=whole_number(1),
        help="Rows per committed batch; a batch is held in memory until it commits",
    )
    defaults: StreamSettings = field(init=False, default=StreamSettings())
    streams: dict[str, StreamSettings] = field(init=False, default_factory=dict)
    # the streams of this load, as the loader asks for their settings and table: for `unmatched`
    seen: set[str] = field(init=False, default_factory=set, compare=False, repr=False)

    def __post_init__(self) -> None:
        defaults = StreamSettings(self.load_method, self.hard_delete)
        object.__setattr__(self, "defaults", defaults)
        streams = _stream_settings(self.stream_settings, defaults, DIALECT)
        object.__setattr__(self, "streams", streams)

    @classmethod
    def parse(cls, config: DuckDBConfig | dict[str, Any]) -> DuckDBConfig:
        """The parsed config (SETTINGS.parse), or `config` itself when it already is one."""
        return SETTINGS.of(config)

    @property
    def schema(self) -> str:
        """The schema the tables go in unless schema_mapping says otherwise."""
        return self.default_target_schema

    def settings_for(self, stream: str) -> StreamSettings:
        """The stream's own settings where `stream_settings` has them, else the global ones."""
        self.seen.add(stream)
        return self.streams.get(stream, self.defaults)

    def target_of(self, stream: str) -> tuple[str, str]:
        """(schema, table) the stream loads into: the schema_mapping entry under the stream's
        whole name, else under its source schema (`shop` of `shop-orders`, as target-postgres
        and PipelineWise's targets read it), else default_target_schema; the table is the
        stream's name unless the whole name's entry gives target_table (a source schema's entry
        maps several streams, which never share a table)."""
        self.seen.add(stream)
        if stream in self.schema_mapping:
            mapped = self.schema_mapping[stream]
            return mapped.get("target_schema", self.schema), mapped.get("target_table", stream)
        source, _ = split_stream(stream)
        by_source = self.schema_mapping.get(source, {}) if source is not None else {}
        return by_source.get("target_schema", self.schema), stream

    def unmatched(self) -> list[str]:
        """A warning per entry of stream_settings and schema_mapping (by stream name or source
        schema, target_of) that no stream of the load matched; entries the runner made
        (stream_settings_derived) are its own to check."""
        seen, quiet = self.seen, set(self.stream_settings_derived)
        lines = unmatched_entries(
            "stream_settings", [k for k in self.streams if k not in quiet], seen.__contains__, seen
        )
        lines += unmatched_mappings([k for k in self.schema_mapping if k not in quiet], seen)
        return lines


def _size(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip() or "'" in value:
        raise ConfigError(
            f"config key {key}: {value!r} is not a size; write it as DuckDB does, e.g. "
            '"512MB" or "2GB"'
        )
    return value.strip()


def _file_path(value: Any, key: str) -> str:
    """`value` if a DuckDB file can be there: not a folder, and its nearest existing folder a
    writable folder (a missing folder is created by the loader). A non-DuckDB file, or one another
    process holds, is found when it is opened (loader.connect)."""
    if not isinstance(value, str) or "\x00" in value:
        raise ConfigError(f"config key {key}: {value!r} is not a file path")
    if os.path.isdir(value):
        raise ConfigError(
            f"config key {key}: {value} is a folder; name a file in it, e.g. "
            f"{os.path.join(value, 'warehouse.duckdb')}"
        )
    folder = os.path.dirname(os.path.abspath(value))
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ConfigError(
            f"config key {key}: {value} cannot be created, {folder} is a file, not a folder; "
            "give a path in a folder"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"config key {key}: {value} cannot be created, folder {folder} is not writable; "
            "give a path in a folder this user can write, or change its permissions"
        )
    return value


def _schema_mapping(value: Any) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            'config key schema_mapping: must be an object {"<stream>": {"target_schema": ..., "target_table": ...}}'
        )
    out: dict[str, dict[str, str]] = {}
    for stream, given in value.items():
        where = f"schema_mapping.{stream}"
        if isinstance(given, str):
            given = {"target_schema": given}
        if not isinstance(given, dict):
            raise ConfigError(
                f"config key {where}: must be an object with target_schema and/or target_table"
            )
        unknown = sorted(set(given) - set(MAPPING_KEYS))
        if unknown:
            raise ConfigError(
                f"config key {where}: unknown setting {unknown[0]!r} (use {' or '.join(MAPPING_KEYS)})"
            )
        for key, name in given.items():
            if not isinstance(name, str) or not name or "\x00" in name:
                raise ConfigError(
                    f"config key {where}.{key}: {name!r} is not a table or schema name"
                )
        out[stream] = dict(given)
    return out


SETTINGS = Settings(DuckDBConfig)
