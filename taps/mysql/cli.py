"""tap-mysql's command line: the Singer tap CLI (`--config`, `--discover`, `--catalog` /
`--properties`, `--state`, `--about`)."""

from __future__ import annotations

import sys
from typing import Any

from tapwell.sdk.progress import configure_logging
from tapwell.sdk.tap_cli import tap_command
from tapwell.singer.catalog import Catalog

from .config import SETTINGS, MySQLConfig

NAME = "tap-mysql"


def about() -> dict[str, Any]:
    return {
        "name": NAME,
        "version": "0.1.0",
        "description": "MySQL and MariaDB tables as Singer streams: FULL_TABLE, INCREMENTAL, LOG_BASED; exact values",
        "capabilities": ["catalog", "discover", "state", "about", "log-based"],
        "settings": SETTINGS.json_schema(),
    }


def validate(config: MySQLConfig) -> None:
    configure_logging(NAME)


def discover(config: MySQLConfig) -> dict[str, Any]:
    from .connection import connect, translated
    from .discovery import discover as run_discover

    conn = connect(config)
    try:
        with translated(config, "discovering"):
            return run_discover(conn, config)
    finally:
        conn.close()


def sync(config: MySQLConfig, catalog: Catalog, state: dict[str, Any]) -> None:
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
    settings=SETTINGS,
)


def main() -> None:
    command.main(prog_name=NAME, standalone_mode=True)
