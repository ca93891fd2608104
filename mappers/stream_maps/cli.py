"""mapper-stream-maps's command line: a Singer mapper, SCHEMA/RECORD/STATE in on stdin and out on
stdout, configured with singer-sdk's `stream_maps` and `stream_map_config` (so a Meltano config
works unchanged)."""

from __future__ import annotations

import sys
from typing import Any

import click
from tapwell.sdk.about import print_about
from tapwell.sdk.cli_util import run_main
from tapwell.sdk.cli_version import version_option
from tapwell.singer.config import load_config, secret_values

from .config import SETTINGS

NAME = "mapper-stream-maps"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tapwell")
    except PackageNotFoundError:
        return "0+unknown"


def _about() -> dict[str, Any]:
    return {
        "name": NAME,
        "description": "Hash, drop, rename and filter Singer streams on the way (singer-sdk stream maps)",
        "version": _version(),
        "capabilities": ["stream-maps"],
        "settings": SETTINGS.json_schema(),
    }


@click.command(
    name=NAME,
    help="A Singer mapper: reads a tap's messages on stdin, writes them mapped by singer-sdk's "
    "`stream_maps` on stdout. Streams without a map pass through byte for byte.",
)
@click.option(
    "--config", "configs", multiple=True, metavar="FILE", help="JSON config (repeatable)."
)
@click.option("--about", is_flag=True, help="Print what this mapper is and its settings, and exit.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "markdown"]),
    default="json",
    help="--about's format.",
)
@version_option(NAME, _version)
def main(configs: tuple[str, ...], about: bool, fmt: str) -> None:
    hidden: list[str] = []

    def body() -> None:
        if about:
            print_about(_about(), fmt)
            return
        from .maps import read_config
        from .stream import run

        config = load_config(configs)
        hidden.extend(secret_values(config))
        key = (config.get("stream_map_config") or {}).get("hash_key")
        if isinstance(key, str) and key:
            hidden.append(key)
        maps = read_config(config)
        SETTINGS.parse(config)  # the types of the two settings, every problem at once
        for line in SETTINGS.warnings(config):
            sys.stderr.write(f"{NAME}: warning: {line}\n")
        run(maps, sys.stdin.buffer, sys.stdout.buffer)

    sys.exit(run_main(NAME, body, lambda: hidden))
