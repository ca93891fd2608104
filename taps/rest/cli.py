"""tap-rest's command line: the kit's Singer tap CLI (`--config`, `--discover`, `--catalog`,
`--state`, `--about`, tapwell.sdk.tap_cli) plus `--probe STREAM`.

Its config is its own object (`RestConfig`), so it names the secrets to mask: exactly its secret
settings (token, password, api key value, client secret, refresh token), where the generic rule
would mask every value under `auth`, words like `header` and `query` included. Discovery and the
sync share one HTTP client (one OAuth2 token, one count of requests).
"""

from __future__ import annotations

import logging
import os
import sys
from functools import cached_property
from typing import Any

import click
from tapwell.sdk.progress import Progress, configure_logging
from tapwell.sdk.tap_cli import tap_command
from tapwell.singer.catalog import Catalog
from tapwell.singer.wire import MessageWriter

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


class Session:
    """The parsed config, and the logger and HTTP client made from it on first use."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.cfg: RestConfig = parse_config(raw)

    @cached_property
    def log(self) -> logging.Logger:
        return configure_logging(NAME)

    @cached_property
    def client(self) -> Client:
        return Client(self.cfg, self.log)


def _discover(session: Session) -> dict[str, Any]:
    return discover(session.cfg, session.client, session.log)


def _sync(session: Session, catalog: Catalog, state: dict[str, Any]) -> None:
    client, log = session.client, session.log
    # Buffered even under PYTHONUNBUFFERED=1 (set in many images), which would make every
    # record a write(2); the writer flushes at every STATE.
    with os.fdopen(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False) as out:
        Sync(session.cfg, client, catalog, state, MessageWriter(out), log, Progress(NAME)).run()
    log.info("done: %d request(s)", client.requests_sent)


def _probe(session: Session, stream: str) -> None:
    probe(session.cfg, session.client, stream, session.log, sys.stdout)


PROBE = click.Option(
    ["--probe", "probe_stream"],
    metavar="STREAM",
    help="Make a stream's first two requests and show requests, records, next page "
    "and inferred schema.",
)

command = tap_command(
    NAME,
    help=DESCRIPTION,
    about=about,
    discover=_discover,
    sync=_sync,
    config_hint="a JSON file with the API's settings",
    parse=Session,
    secrets=lambda session: session.cfg.secrets(),
    actions=[(PROBE, _probe)],
    option_help={
        "discover": "Print the catalog (declared schemas, or inferred from the first records).",
        "about": "Print what this tap is and its settings.",
    },
)


def main() -> None:
    command.main(prog_name=NAME)
