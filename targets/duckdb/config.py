"""target-duckdb's settings, parsed once: what `--about` prints and the README's table lists.

Per-stream settings (`stream_settings`) override `load_method` and `hard_delete` for one stream
and are checked exactly as the global ones are; `schema_mapping` gives a stream its own schema
or table name (two streams never share a table: the loader refuses, naming this setting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tapwell.sdk.load_settings import LOAD_METHODS, STREAM_KEYS, Dialect, StreamSettings
from tapwell.sdk.load_settings import defaults as load_defaults
from tapwell.sdk.load_settings import stream_settings as _stream_settings
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
# batch at a time (100,000 rows by default), so a fixed limit bounds the target's memory without
# slowing it: on 5,000,000 orders rows 256MB gave a peak RSS of 467 MB against 497 MB with 1GB
# (DuckDB's own read_json of the same records: 414 MB), in no more time (README, Benchmarks).
MEMORY_LIMIT = "256MB"
# Rows per committed batch. A batch is held as Python rows until it is loaded; 25,000 rows kept
# the peak RSS under DuckDB's own read_json on 1,000,000 orders rows (247-261 MB against 346 MB;
# 343-355 MB with 100,000) for the same CPU seconds (README, Benchmarks).
BATCH_ROWS = 25_000
THREADS = 2

_LOAD_METHOD = {
    "type": "string",
    "enum": list(LOAD_METHODS),
    "description": "upsert on key properties (default), append-only, or overwrite",
}
_HARD_DELETE = {
    "type": "boolean",
    "description": "Delete rows instead of marking _sdc_deleted_at (default false)",
}

SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {
            "type": "string",
            "description": "DuckDB database file (default warehouse.duckdb)",
        },
        "default_target_schema": {
            "type": "string",
            "description": "Schema the tables go in (default main)",
        },
        "schema_mapping": {
            "type": "object",
            "description": 'Per stream: {"<stream>": {"target_schema": "...", "target_table": "..."}}',
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "target_schema": {"type": "string"},
                    "target_table": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        "load_method": _LOAD_METHOD,
        "hard_delete": _HARD_DELETE,
        "stream_settings": {
            "type": "object",
            "description": 'Per stream: {"<stream>": {"load_method": ..., "hard_delete": ...}}, '
            "overriding the global settings for that stream",
            "additionalProperties": {
                "type": "object",
                "properties": {"load_method": _LOAD_METHOD, "hard_delete": _HARD_DELETE},
                "additionalProperties": False,
            },
        },
        "add_metadata_columns": {"type": "boolean"},
        "batch_size_rows": {
            "type": "integer",
            "description": f"Rows per committed batch (default {BATCH_ROWS})",
        },
        "state_id": {
            "type": "string",
            "description": "Key of the state row kept in _tapwell_state",
        },
        "memory_limit": {
            "type": "string",
            "description": "DuckDB's memory_limit for the load, e.g. 512MB or 2GB (default "
            f"{MEMORY_LIMIT}); past it DuckDB spills to a temp directory beside the database file",
        },
        "threads": {
            "type": "integer",
            "description": f"DuckDB's threads for the load (default {THREADS}; more only helps "
            "when the target is not waiting for its input)",
        },
    },
}

MAPPING_KEYS = ("target_schema", "target_table")


@dataclass(frozen=True)
class DuckDBConfig:
    path: str = "warehouse.duckdb"
    schema: str = "main"
    state_id: str = "default"
    defaults: StreamSettings = StreamSettings()
    streams: dict[str, StreamSettings] = field(default_factory=dict)
    mapping: dict[str, dict[str, str]] = field(default_factory=dict)
    memory_limit: str = MEMORY_LIMIT
    threads: int = THREADS

    @classmethod
    def parse(cls, config: dict[str, Any]) -> DuckDBConfig:
        """Every setting checked once; a bad one is a ConfigError naming the key and the fix."""
        globals_ = load_defaults(config, DIALECT)
        return cls(
            path=str(
                config.get("path") or config.get("database") or config.get("filepath") or cls.path
            ),
            schema=str(config.get("default_target_schema") or config.get("schema") or cls.schema),
            state_id=str(config.get("state_id") or cls.state_id),
            defaults=globals_,
            streams=_stream_settings(config.get("stream_settings"), globals_, DIALECT),
            mapping=_schema_mapping(config.get("schema_mapping")),
            memory_limit=_memory_limit(config.get("memory_limit")),
            threads=_threads(config.get("threads")),
        )

    def settings_for(self, stream: str) -> StreamSettings:
        """The stream's own settings where `stream_settings` has them, else the global ones."""
        return self.streams.get(stream, self.defaults)

    def target_of(self, stream: str) -> tuple[str, str]:
        """(schema, table) the stream loads into: its table is its name unless mapped."""
        mapped = self.mapping.get(stream, {})
        return mapped.get("target_schema", self.schema), mapped.get("target_table", stream)


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


def _memory_limit(value: Any) -> str:
    if value is None:
        return MEMORY_LIMIT
    if not isinstance(value, str) or not value.strip() or "'" in value:
        raise ConfigError(
            f"config key memory_limit: {value!r} is not a size; write it as DuckDB does, e.g. "
            '"512MB" or "2GB"'
        )
    return value.strip()


def _threads(value: Any) -> int:
    if value is None:
        return THREADS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"config key threads: {value!r} is not a positive whole number, e.g. 2")
    return value
