"""target-jsonl's command line."""

from __future__ import annotations

from typing import Any

from tapwell.sdk.target_cli import target_command

from .loader import JsonlLoader

SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "destination_path": {
            "type": "string",
            "description": "Folder for the <stream>.jsonl files (default output)",
        },
        "add_metadata_columns": {"type": "boolean"},
        "batch_size_rows": {"type": "integer"},
    },
}

main = target_command(
    "target-jsonl",
    JsonlLoader,
    description="Write Singer streams to one JSON-lines file per stream, fsynced before STATE is printed.",
    settings=SETTINGS,
)
