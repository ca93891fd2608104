"""target-duckdb's command line."""

from __future__ import annotations

from typing import Any

from tapwell.target_cli import target_command

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
        "load_method": {"type": "string", "enum": ["upsert", "append-only", "overwrite"]},
        "hard_delete": {
            "type": "boolean",
            "description": "Delete rows instead of marking _sdc_deleted_at",
        },
        "add_metadata_columns": {"type": "boolean"},
        "batch_size_rows": {
            "type": "integer",
            "description": "Rows per committed batch (default 100000)",
        },
        "state_id": {
            "type": "string",
            "description": "Key of the state row kept in _tapwell_state",
        },
    },
}


def _loader(config: dict[str, Any]) -> Any:
    from target_duckdb.loader import DuckDBLoader  # the driver is imported only when used

    return DuckDBLoader(config)


main = target_command(
    "target-duckdb",
    _loader,
    description="Load Singer streams into DuckDB: typed tables, upserts on key properties, exact decimals.",
    settings=SETTINGS,
)
