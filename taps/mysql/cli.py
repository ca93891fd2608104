"""tap-mysql's command line: the Singer tap CLI (`--config`, `--discover`, `--catalog` /
`--properties`, `--state`, `--about`)."""

from __future__ import annotations

import sys
from typing import Any

from tapwell.sdk.progress import configure_logging
from tapwell.sdk.tap_cli import raise_config_errors, tap_command
from tapwell.singer.catalog import Catalog

NAME = "tap-mysql"

SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["host", "user"],
    "properties": {
        "host": {"type": "string", "description": "Server host name or address"},
        "port": {"type": ["integer", "string"], "description": "Server port (default 3306)"},
        "user": {"type": "string", "description": "User name"},
        "password": {"type": "string", "description": "Password (never printed)"},
        "database": {"type": "string", "description": "Database to connect to (optional)"},
        "filter_dbs": {
            "type": ["string", "array"],
            "description": "Databases to discover: comma-separated or a list (default: all but system schemas)",
        },
        "ssl": {"type": ["boolean", "string"], "description": "Connect with TLS"},
        "ssl_ca": {"type": "string", "description": "CA certificate file"},
        "ssl_cert": {"type": "string", "description": "Client certificate file"},
        "ssl_key": {"type": "string", "description": "Client key file"},
        "check_hostname": {
            "type": ["boolean", "string"],
            "description": "Verify the server certificate's host name",
        },
        "session_sqls": {
            "type": "array",
            "items": {"type": "string"},
            "description": "SQL run at connect (replaces PipelineWise's defaults); time_zone is always forced to UTC",
        },
        "server_id": {
            "type": ["integer", "string"],
            "description": "Replica id used to read the binlog (default: random)",
        },
        "use_gtid": {
            "type": ["boolean", "string"],
            "description": "LOG_BASED: resume from the bookmarked GTID (MariaDB)",
        },
        "engine": {
            "type": "string",
            "enum": ["mysql", "mariadb"],
            "description": "Server flavour (default: detected)",
        },
        "zero_dates": {
            "type": "string",
            "enum": ["null", "error"],
            "description": "Zero/invalid dates: null (counted in a warning, default) or error",
        },
        "state_every": {
            "type": ["integer", "string"],
            "description": "Rows between STATE messages (default 10000; export_batch_rows also read)",
        },
        "batch_rows": {
            "type": ["integer", "string"],
            "description": "Rows fetched from the server-side cursor at a time (default 5000)",
        },
        "start_date": {
            "type": "string",
            "description": "INCREMENTAL on a date column: start here when there is no bookmark",
        },
        "connect_timeout": {
            "type": ["integer", "string"],
            "description": "Seconds to wait for a connection (default 30)",
        },
    },
}


def about() -> dict[str, Any]:
    return {
        "name": NAME,
        "version": "0.1.0",
        "description": "MySQL and MariaDB tables as Singer streams: FULL_TABLE, INCREMENTAL, LOG_BASED; exact values",
        "capabilities": ["catalog", "discover", "state", "about", "log-based"],
        "settings": SETTINGS,
    }


def validate(config: dict[str, Any]) -> None:
    raise_config_errors(SETTINGS, config)
    configure_logging(NAME)


def discover(config: dict[str, Any]) -> dict[str, Any]:
    from .connection import connect, translated
    from .discovery import discover as run_discover

    conn = connect(config)
    try:
        with translated(config, "discovering"):
            return run_discover(conn, config)
    finally:
        conn.close()


def sync(config: dict[str, Any], catalog: Catalog, state: dict[str, Any]) -> None:
    from .sync import sync as run_sync

    out = sys.stdout.buffer
    run_sync(config, catalog, state, out)
    out.flush()


command = tap_command(
    NAME,
    help="MySQL/MariaDB tables as Singer streams (FULL_TABLE, INCREMENTAL, LOG_BASED). "
    "A drop-in for singer-io's and PipelineWise's tap-mysql: same config, catalog and state.",
    about=about,
    validate=validate,
    discover=discover,
    sync=sync,
    config_hint="a JSON file with host, port, user, password, ...",
)


def main() -> None:
    command.main(prog_name=NAME, standalone_mode=True)
