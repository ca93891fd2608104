"""`tapwell`: the runner's command line, a thin click layer over tapwell.run."""

from __future__ import annotations

import sys

import click

from tapwell.cli_util import run_main
from tapwell.project import load_project
from tapwell.run import describe_failure, run_integration


@click.group(help="Run Singer taps into targets, keep their state, and record every run.")
@click.option("--project", "project_path", type=click.Path(), default=None,
              help="tapwell.yml or its folder (default: $TAPWELL_PROJECT or the working folder).")
@click.pass_context
def main(ctx: click.Context, project_path: str | None) -> None:
    ctx.obj = {"project": project_path}


@main.command(help="Run integration NAME once: tap | target, resuming from its saved state.")
@click.argument("name")
@click.option("--full-refresh", is_flag=True, help="Ignore the saved state and sync everything again.")
@click.pass_context
def run(ctx: click.Context, name: str, full_refresh: bool) -> None:
    def body() -> None:
        project = load_project(ctx.obj["project"])
        integration = project.integration(name)
        result = run_integration(project, integration, full_refresh=full_refresh,
                                 log=lambda line: click.echo(line, err=True))
        if not result.ok:
            raise describe_failure(integration, result)
        click.echo(f"tapwell: {name} succeeded; {result.states_saved} state checkpoint(s) saved", err=True)

    sys.exit(run_main("tapwell", body))
