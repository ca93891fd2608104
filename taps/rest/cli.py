"""tap-rest's command line: the Singer tap CLI (`--config`, `--discover`, `--catalog`,
`--state`, `--about`) plus `--probe STREAM`.

It builds its own click command from the sdk's parts rather than `tap_command`, for two reasons:
the `--probe` option, and the secrets to mask: tap-rest masks exactly its secret settings
(token, password, api key value, client secret, refresh token), where the generic rule would mask
every value under `auth`, words like `header` and `query` included.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from tapwell.sdk.cli_util import run_main
from tapwell.sdk.cli_version import version_option
from tapwell.sdk.pipes import widen_pipe
from tapwell.sdk.progress import Progress, configure_logging
from tapwell.sdk.tap_cli import load_state, print_about
from tapwell.singer.catalog import Catalog, load_catalog, select_all
from tapwell.singer.config import load_config
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import MessageWriter, dumps

from .client import Client
from .config import RestConfig, parse_config, settings_schema
from .discovery import discover
from .probe import probe
from .sync import Sync

NAME = "tap-rest"
VERSION = "0.1.0"
DESCRIPTION = (
    "JSON HTTP APIs as Singer streams from a config file: pagination with stop rules and loop "
    "detection, auth (bearer, basic, API key, OAuth2), Retry-After and rate limits, "
    "incremental bookmarks, parent/child streams, exact numbers."
)


def about() -> dict[str, Any]:
    return {
        "name": NAME,
        "version": VERSION,
        "description": DESCRIPTION,
        "capabilities": ["catalog", "discover", "state", "about"],
        "settings": settings_schema(),
    }


@click.command(name=NAME, help=DESCRIPTION)
@version_option(NAME, lambda: VERSION)
@click.option(
    "--config",
    "configs",
    multiple=True,
    type=click.Path(),
    help="JSON config file (repeatable; later files win).",
)
@click.option(
    "--discover",
    "do_discover",
    is_flag=True,
    help="Print the catalog (declared schemas, or inferred from the first records).",
)
@click.option(
    "--catalog", type=click.Path(), help="Catalog selecting streams and replication methods."
)
@click.option("--properties", type=click.Path(), help="Older name for --catalog.")
@click.option(
    "--state", "state_path", type=click.Path(), help="State file with bookmarks to resume from."
)
@click.option(
    "--about", "show_about", is_flag=True, help="Print what this tap is and its settings."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "markdown"]),
    default="json",
    help="Format of --about.",
)
@click.option(
    "--probe",
    "probe_stream",
    metavar="STREAM",
    help="Make a stream's first two requests and show requests, records, next page "
    "and inferred schema.",
)
def command(
    configs: tuple[str, ...],
    do_discover: bool,
    catalog: str | None,
    properties: str | None,
    state_path: str | None,
    show_about: bool,
    fmt: str,
    probe_stream: str | None,
) -> None:
    holder: dict[str, RestConfig] = {}

    def body() -> None:
        if show_about:
            print_about(about(), fmt)
            return
        if not configs:
            raise ConfigError(
                "--config is required (a JSON file; `tap-rest --about` lists the settings)"
            )
        cfg = holder["cfg"] = parse_config(load_config(configs))
        log = configure_logging(NAME)
        client = Client(cfg, log)
        if probe_stream:
            probe(cfg, client, probe_stream, log, sys.stdout)
            return
        if do_discover:
            from orjson import OPT_INDENT_2

            sys.stdout.buffer.write(dumps(discover(cfg, client, log), OPT_INDENT_2) + b"\n")
            return
        state = load_state(state_path, NAME)
        path = catalog or properties
        cat = load_catalog(path) if path else Catalog(select_all(discover(cfg, client, log)))
        widen_pipe(sys.stdout)
        # Buffered even under PYTHONUNBUFFERED=1 (set in many images), which would make every
        # record a write(2); the writer flushes at every STATE.
        with os.fdopen(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False) as out:
            Sync(cfg, client, cat, state, MessageWriter(out), log, Progress(NAME)).run()
        log.info("done: %d request(s)", client.requests_sent)

    sys.exit(run_main(NAME, body, lambda: holder["cfg"].secrets() if "cfg" in holder else []))


def main() -> None:
    command.main(prog_name=NAME)
