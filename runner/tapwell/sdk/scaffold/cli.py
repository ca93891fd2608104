"""`tapwell new tap|target NAME [--dir PATH]`."""

from __future__ import annotations

import sys

import click

from tapwell.sdk.cli_util import run_main
from tapwell.sdk.scaffold.render import scaffold


@click.group(help="Start a new Singer tap or target in a repo of its own, ready to test and run.")
def new() -> None:
    pass


def _make(kind: str, name: str, parent: str) -> None:
    def body() -> None:
        dest = scaffold(kind, name, parent)
        click.echo(f"tapwell: made {kind} {name} in {dest}", err=True)
        click.echo(
            f"  cd {dest} && make test     # .venv, install, the tests (with the conformance check)",
            err=True,
        )

    sys.exit(run_main("tapwell new", body))


_parent_dir = click.option(
    "--dir",
    "parent",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to make the repo in.",
)


@new.command(
    "tap",
    help="Scaffold tap NAME (tap-SOMETHING): pyproject with a console script, a stream "
    "module on tapwell's light tap API, a config schema, a conformance test, a README "
    "and a Makefile. The repo is made in PATH/NAME.",
)
@click.argument("name")
@_parent_dir
def tap(name: str, parent: str) -> None:
    _make("tap", name, parent)


@new.command(
    "target",
    help="Scaffold target NAME (target-SOMETHING): pyproject with a console script, a "
    "Loader (an example writing to SQLite) on tapwell's target loop, a config schema, "
    "a conformance test, a README and a Makefile. The repo is made in PATH/NAME.",
)
@click.argument("name")
@_parent_dir
def target(name: str, parent: str) -> None:
    _make("target", name, parent)
