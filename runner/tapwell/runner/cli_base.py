"""What every `tapwell` subcommand module shares: the error line, the exit code from a body
(tapwell.sdk.cli_util.run_main), the project of the context and a store opened for a name."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from tapwell.runner.project import Project, load_project
from tapwell.runner.statestore import StateBackend, open_backend
from tapwell.sdk.cli_util import run_main
from tapwell.singer.errors import ConfigError


def err(line: str) -> None:
    click.echo(line, err=True)


def project_of(ctx: click.Context) -> Project:
    """The project that `--project` (or $TAPWELL_PROJECT, or the working folder) names."""
    return load_project(ctx.obj["project"])


def name_argument() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The NAME argument of a command working on one integration (`run`, `discover`, `state
    show`...): without it, one line lists the project's integrations and shows the command with
    the first (exit 2), where click said a bare "Missing argument 'NAME'"."""
    return click.argument("name", metavar="NAME", required=False, callback=_named)


def _named(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if value is not None:
        return value
    words, at = [], ctx
    while at.parent is not None:  # `state show`: the command's words under `tapwell`
        words.append(at.info_name or "")
        at = at.parent
    command = " ".join(reversed(words))
    after = ctx.command.params[ctx.command.params.index(param) + 1 :]
    more = [p.human_readable_name for p in after if isinstance(p, click.Argument)]  # FILE

    def missing() -> None:
        project = project_of(ctx)
        names, where = project.names, project.root / "tapwell.yml"
        raise ConfigError(
            f"tapwell {command} needs the NAME of an integration of {where}: "
            f"{', '.join(names)} (e.g. tapwell {' '.join([command, names[0], *more])})"
        )

    exit_with(missing)


def exit_with(body: Callable[[], Any]) -> NoReturn:
    """Run `body` and exit with its code: an expected failure is one line (run_main); a reader
    that closed the pipe early (`tapwell runs | head`) is no failure to report."""
    sys.exit(run_main("tapwell", body, pipe_line=False))


def with_store(
    ctx: click.Context, name: str | None, use: Callable[[Project, StateBackend], Any]
) -> None:
    """Run `use(project, store)` with the state backend of integration `name` open."""

    def body() -> None:
        project = project_of(ctx)
        if name is not None:
            project.check_name(name)  # an unknown name fails with the list of known ones
        store = open_backend(project, name)
        try:
            use(project, store)
        finally:
            store.close()

    exit_with(body)
