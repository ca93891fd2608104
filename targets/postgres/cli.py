"""target-postgres's command line."""

from __future__ import annotations

from typing import Any

from tapwell.sdk.target_cli import target_command

DEFAULT_BATCH_ROWS = 20_000
DEFAULT_BATCH_BYTES = 8 * 1024 * 1024  # of input JSON; wide rows end a batch before 20,000 do

SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": {"type": "string", "description": "Server host (default localhost)"},
        "port": {"type": "integer", "description": "Server port (default 5432)"},
        "user": {"type": "string", "description": "User name (also: username)"},
        "password": {"type": "string", "secret": True, "description": "Password; never logged"},
        "dbname": {"type": "string", "description": "Database to load into (also: database)"},
        "sslmode": {
            "type": "string",
            "description": "libpq sslmode (also: ssl_mode; ssl / ssl_enable true = require)",
        },
        "ssl_certificate_authority": {
            "type": "string",
            "description": "CA file (libpq sslrootcert)",
        },
        "ssl_client_certificate": {
            "type": "string",
            "description": "Client certificate file (sslcert)",
        },
        "ssl_client_private_key": {"type": "string", "description": "Client key file (sslkey)"},
        "default_target_schema": {
            "type": "string",
            "description": "Schema the tables go in (default public)",
        },
        "schema_mapping": {
            "type": "object",
            "description": "Source schema or stream -> {target_schema, target_table}",
        },
        "load_method": {"type": "string", "enum": ["upsert", "append-only", "overwrite"]},
        "hard_delete": {
            "type": "boolean",
            "description": "Delete rows instead of setting _sdc_deleted_at",
        },
        "stream_settings": {
            "type": "object",
            "description": (
                'Per stream: {"<stream>": {"load_method": ..., "hard_delete": ...}} overrides '
                "the global load_method and hard_delete for that stream (e.g. overwrite a keyless "
                "FULL_TABLE stream that would otherwise grow on every run)"
            ),
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "load_method": {
                        "type": "string",
                        "enum": ["upsert", "append-only", "overwrite"],
                    },
                    "hard_delete": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
        },
        "add_metadata_columns": {
            "type": "boolean",
            "description": "Add the _sdc_* columns (also: add_record_metadata)",
        },
        "primary_key_required": {
            "type": "boolean",
            "description": "Refuse upsert streams without key properties (default false: append them)",
        },
        "number_type": {
            "type": "string",
            "enum": ["numeric", "double precision", "real"],
            "description": "Type of a number without precision (default numeric)",
        },
        "batch_size_rows": {
            "type": "integer",
            "description": "Rows per committed batch (default 20000)",
        },
        "batch_size_bytes": {
            "type": "integer",
            "description": "Input bytes per committed batch (default 8 MiB), so wide rows stay bounded too",
        },
        "batch_wait_limit_seconds": {
            "type": "number",
            "description": "Commit at least this often (default 60)",
        },
        "nul_characters": {
            "type": "string",
            "enum": ["replace", "strip", "error"],
            "description": (
                "A NUL character (\\u0000) in text or JSON, which PostgreSQL cannot store: "
                "replace it with U+FFFD (default), strip it, or refuse the record (exit 65); "
                "affected values are counted in one warning per stream"
            ),
        },
        "lock_timeout": {
            "type": "number",
            "description": (
                "Seconds a statement waits for a lock before the run fails with exit 75, to be "
                "retried (default 120; 0: wait forever)"
            ),
        },
        "statement_timeout": {
            "type": "number",
            "description": "Seconds one statement may run (default 3600; 0: no limit)",
        },
        "connect_timeout": {
            "type": "integer",
            "description": "Seconds to wait for the server when connecting (default 30)",
        },
        "sqlalchemy_url": {
            "type": "string",
            "secret": True,
            "description": (
                "MeltanoLabs' postgresql[+driver]://user:password@host:port/dbname?options, "
                "used instead of the keys above; the password may hold unencoded % / @ :"
            ),
        },
        "state_id": {
            "type": "string",
            "description": "Key of this integration's row in tapwell_state (default 'default')",
        },
        "state_table": {
            "type": "string",
            "description": (
                "Name of the state table (default tapwell_state); a stream never loads into it "
                "and a user's table of that name is never written"
            ),
        },
        "state_schema": {
            "type": "string",
            "description": "Schema of the tapwell_state table (default: default_target_schema)",
        },
    },
    "required": ["dbname"],
}


def _loader(config: dict[str, Any]) -> Any:
    from .loader import PostgresLoader  # the driver is imported only when used

    if "add_record_metadata" in config and "add_metadata_columns" not in config:
        config["add_metadata_columns"] = config["add_record_metadata"]  # MeltanoLabs' name for it
    # A batch is held in memory as dicts (~1.5 KB a row): 20,000 rows or 8 MiB of input keeps a
    # typical stream near 60 MB. An explicit batch_size_rows (PipelineWise's is 100,000) wins.
    config.setdefault("batch_size_rows", DEFAULT_BATCH_ROWS)
    config.setdefault("batch_size_bytes", DEFAULT_BATCH_BYTES)
    return PostgresLoader(config)


def _read_state(config: dict[str, Any]) -> str | None:
    from .read_state import read_state  # the driver is imported only when used

    return read_state(config)


main = target_command(
    "target-postgres",
    _loader,
    description=(
        "Load Singer streams into PostgreSQL: typed tables, COPY into staging then merge on key properties, "
        "exact decimals, state committed with the rows (table tapwell_state). Reads PipelineWise's and "
        "MeltanoLabs' target-postgres configs."
    ),
    settings=SETTINGS,
    read_state=_read_state,
)
