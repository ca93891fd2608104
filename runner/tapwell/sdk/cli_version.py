"""`--version` for every tapwell executable: `NAME VERSION` on stdout, exit 0 (as click's own
version option prints it), with the version read only when asked (a tap's comes from --about)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def version_option(name: str, version: Callable[[], object]) -> Callable[[F], F]:
    """A click `--version` flag that prints `name version()` and exits before anything else."""

    def show(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value and not ctx.resilient_parsing:
            click.echo(f"{name} {version()}")
            ctx.exit()

    return click.option(
        "--version",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=show,
        help="Print the version and exit.",
    )
