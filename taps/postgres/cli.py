"""tap-postgres's command line: the Singer tap CLI (`--config`, `--discover`, `--catalog` /
`--properties`, `--state`, `--about`), plus `--doctor`, the LOG_BASED preflight."""

from __future__ import annotations

import sys
from typing import Any

from tapwell.sdk.progress import configure_logging
from tapwell.sdk.tap_cli import tap_command
from tapwell.singer.catalog import Catalog

from .config import SETTINGS, PgConfig

NAME = "tap-postgres"


def about() -> dict[str, Any]:
    return {
        "name": NAME,
        "version": "0.1.0",
        "description": "PostgreSQL tables as Singer streams: FULL_TABLE, INCREMENTAL, "
        "LOG_BASED (pgoutput); exact values",
        "capabilities": ["catalog", "discover", "state", "about", "log-based", "batch"],
        "batch_formats": ["csv", "jsonl"],  # csv: PostgreSQL's COPY csv dialect (sync_files.py)
        "settings": SETTINGS.json_schema(),
    }


def validate(config: PgConfig) -> None:
    configure_logging(NAME)


def discover(cfg: PgConfig) -> dict[str, Any]:
    from .connection import connect
    from .discovery import discover as run_discover

    conn = connect(cfg)
    try:
        return run_discover(conn, cfg)
    finally:
        conn.close()


def sync(cfg: PgConfig, catalog: Catalog, state: dict[str, Any]) -> None:
    from .connection import translated
    from .sync import sync as run_sync

    out = sys.stdout.buffer
    with translated(cfg, "syncing"):  # any driver error not mapped nearer: one line, its exit code
        run_sync(cfg, catalog, state, out)
    out.flush()


command = tap_command(
    NAME,
    help="PostgreSQL tables as Singer streams (FULL_TABLE, INCREMENTAL, LOG_BASED over pgoutput). "
    "Reads PipelineWise's and MeltanoLabs' tap-postgres config, catalog and state. "
    "`tap-postgres --config c.json --doctor [--catalog cat.json]` checks the server for LOG_BASED.",
    about=about,
    validate=validate,
    discover=discover,
    sync=sync,
    config_hint="a JSON file with host, port, user, password, dbname, ...",
    settings=SETTINGS,
)


def main() -> None:
    if "--doctor" in sys.argv[1:]:
        from .doctor import doctor_main

        sys.exit(doctor_main(NAME, [a for a in sys.argv[1:] if a != "--doctor"]))
    command.main(prog_name=NAME, standalone_mode=True)
