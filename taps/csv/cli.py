"""tap-csv's command line: the Singer tap CLI, from tapwell's light tap API."""

from __future__ import annotations

import functools
from typing import Any

from tapwell.sdk.tap import Stream, Tap

from .discovery import infer_schema, stream_configs
from .sync import read_rows

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "streams": {
            "type": "array",
            "description": "Streams: name, path (or paths: globs), key_properties, replication_key, schema, column_types, delimiter, encoding, null_values",
            "items": {
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
            },
        },
        "files": {"type": "array", "description": "Meltano tap-csv's shape: entity, path, keys"},
        "base_dir": {
            "type": "string",
            "description": "Relative paths are taken from here (default: the working directory)",
        },
        "sample_rows": {
            "type": "integer",
            "minimum": 0,
            "description": "Rows read to infer types (0: all)",
        },
        "start_date": {
            "type": "string",
            "description": "Replication-key value to start from when there is no bookmark",
        },
    },
}


def streams(config: dict[str, Any]) -> list[Stream]:
    out = []
    for sc in stream_configs(config):
        schema = infer_schema(sc, int(config.get("sample_rows", 1000)))
        out.append(
            Stream(
                name=sc.name,
                schema=schema,
                records=functools.partial(read_rows, sc, schema),
                key_properties=sc.key_properties,
                replication_key=sc.replication_key,
                filter_start=True,
            )
        )
    return out


tap = Tap(
    "tap-csv",
    streams,
    description="CSV files as Singer streams: typed, exact, incremental.",
    config_schema=CONFIG_SCHEMA,
)


def main() -> None:
    tap.main()
