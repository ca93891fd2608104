"""tap-csv's settings, declared once: what discovery and sync read, what `--about` prints and the
README's table lists (tapwell.sdk.settings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tapwell.sdk.settings import Settings, setting, whole_number
from tapwell.sdk.tap_batch import BatchConfig, parse_batch_config
from tapwell.sdk.tap_cli import raise_config_errors

__all__ = ["SETTINGS", "CsvConfig"]

STREAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "path": {"type": "string"},
        "paths": {"type": "array", "items": {"type": "string"}},
        "key_properties": {"type": "array", "items": {"type": "string"}},
        "replication_key": {"type": "string"},
        "schema": {"type": "object"},
        "column_types": {"type": "object"},
        "delimiter": {"type": "string", "minLength": 1, "maxLength": 1},
        "encoding": {"type": "string"},
        "null_values": {"type": "array", "items": {"type": "string"}},
    },
}


def _streams(value: Any, key: str) -> tuple[dict[str, Any], ...]:
    """The `streams` list, each entry checked against STREAM_SCHEMA (every problem at once)."""
    raise_config_errors(
        {"type": "object", "properties": {key: {"type": "array", "items": STREAM_SCHEMA}}},
        {key: value},
    )
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class CsvConfig:
    streams: tuple[dict[str, Any], ...] | None = setting(
        None,
        type="array",
        parse=_streams,
        schema={"items": STREAM_SCHEMA},
        help="Streams: name, path (or paths: globs), key_properties, replication_key, schema, "
        "column_types, delimiter, encoding, null_values",
    )
    files: tuple[dict[str, Any], ...] = setting(
        (), type="array", help="Meltano tap-csv's shape: entity, path, keys"
    )
    base_dir: str = setting(
        ".", help="Relative paths are taken from here (default: the working directory)"
    )
    sample_rows: int = setting(
        1000, type="integer", parse=whole_number(0), help="Rows read to infer types (0: all)"
    )
    start_date: str = setting(
        "", help="Replication-key value to start from when there is no bookmark", show_default=False
    )
    batch_config: BatchConfig | None = setting(
        None,
        type="object",
        parse=parse_batch_config,
        show_default=False,
        help="The fast lane (singer-sdk's spelling): rows go into csv (tapwell's dialect) or jsonl "
        'files, {"encoding": {"format": "csv"|"jsonl", "compression": "none"|"gzip"}, "storage": '
        '{"root": "file:///dir", "prefix": ""}, "batch_size": 100000, "max_pending_files": 0}, '
        "each file announced by a BATCH message and followed by a STATE; `tapwell run` sets it "
        "when the target reads csv files",
    )


SETTINGS = Settings(CsvConfig)
