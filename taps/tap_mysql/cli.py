"""tap-mysql's command line: the Singer tap CLI (`--config`, `--discover`, `--catalog` /
`--properties`, `--state`, `--about`)."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson
from tapwell.catalog import Catalog, load_catalog
from tapwell.cli_util import run_main
from tapwell.config import load_config, secret_values
from tapwell.errors import ConfigError
from tapwell.progress import configure_logging

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


def _validate(config: dict[str, Any]) -> None:
    import jsonschema

    errors = sorted(jsonschema.Draft7Validator(SETTINGS).iter_errors(config), key=str)
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ConfigError(f"config key {where}: {e.message}")


def load_state(path: str | None) -> dict[str, Any]:
    """A state file (or a whole STATE message), every number exact."""
    from tapwell.wire import loads

    if not path:
        return {}
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConfigError(f"state file {path} does not exist") from None
    if not raw.strip():
        return {}
    try:
        data = loads(raw)
    except ValueError as exc:
        raise ConfigError(f"state file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"state file {path} must hold a JSON object")
    if data.get("type") == "STATE" and isinstance(data.get("value"), dict):
        return data["value"]
    return data


def about() -> dict[str, Any]:
    return {
        "name": NAME,
        "description": "MySQL and MariaDB tables as Singer streams: FULL_TABLE, INCREMENTAL, LOG_BASED; exact values",
        "capabilities": ["catalog", "discover", "state", "about", "log-based"],
        "settings": SETTINGS,
    }


@click.command(
    name=NAME,
    help="MySQL/MariaDB tables as Singer streams (FULL_TABLE, INCREMENTAL, LOG_BASED). "
    "A drop-in for singer-io's and PipelineWise's tap-mysql: same config, catalog and state.",
)
@click.option(
    "--config",
    "configs",
    multiple=True,
    type=click.Path(),
    help="JSON config file (repeatable; later files win).",
)
@click.option(
    "--discover",
    is_flag=True,
    help="Print the catalog of every table and view the user can read, and exit.",
)
@click.option(
    "--catalog", type=click.Path(), help="Catalog selecting streams and replication methods."
)
@click.option("--properties", type=click.Path(), help="Older name for --catalog.")
@click.option(
    "--state", "state_path", type=click.Path(), help="State file with bookmarks to resume from."
)
@click.option(
    "--about", "show_about", is_flag=True, help="Print what this tap is and its settings, and exit."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "markdown"]),
    default="json",
    help="Format of --about.",
)
def command(
    configs: tuple[str, ...],
    discover: bool,
    catalog: str | None,
    properties: str | None,
    state_path: str | None,
    show_about: bool,
    fmt: str,
) -> None:
    holder: dict[str, Any] = {}

    def body() -> None:
        if show_about:
            from tapwell.tap import _print_about

            info = about() | {"version": "0.1.0"}
            _print_about(info, fmt)
            return
        if not configs:
            raise ConfigError(
                "--config is required (a JSON file with host, port, user, password, ...)"
            )
        config = load_config(configs)
        holder["config"] = config
        _validate(config)
        configure_logging(NAME)
        from tap_mysql.connection import connect, translated
        from tap_mysql.discovery import discover as run_discover
        from tap_mysql.records import _default

        if discover:
            conn = connect(config)
            with translated(config, "discovering"):
                catalog_dict = run_discover(conn, config)
            conn.close()
            text = orjson.dumps(catalog_dict, default=_default, option=orjson.OPT_INDENT_2)
            sys.stdout.buffer.write(text + b"\n")
            return
        from tap_mysql.sync import sync

        cat_path = catalog or properties
        if cat_path:
            cat = load_catalog(cat_path)
        else:
            from tapwell.catalog import select_all

            conn = connect(config)
            cat = Catalog(select_all(run_discover(conn, config)))
            conn.close()
        out = sys.stdout.buffer
        sync(config, cat, load_state(state_path), out)
        out.flush()

    sys.exit(run_main(NAME, body, lambda: secret_values(holder.get("config", {}))))


def main() -> None:
    command.main(prog_name=NAME, standalone_mode=True)
