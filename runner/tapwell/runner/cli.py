"""`tapwell`: the runner's command line, a thin click layer over the runner's modules.

Exit codes (also in runner/README.md): `tapwell run` exits with the class of its failure
(RUN_EXIT_CODES, tapwell.runner.retry.run_exit_code); `validate` 1 on a breaking change; 2 a
configuration or authentication error; 3 another run holds the integration's lock; 75 the source
(or the postgres state backend) cannot be reached now; 130 interrupted.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import click

from tapwell import __version__
from tapwell.runner.attempt import prepared_catalog
from tapwell.runner.cli_base import err as _err
from tapwell.runner.cli_base import exit_with as _exit
from tapwell.runner.cli_base import name_argument
from tapwell.runner.cli_base import project_of as _project
from tapwell.runner.cli_base import with_store as _with_store
from tapwell.runner.history import OUTCOMES, TRIGGERS, is_run_id
from tapwell.runner.project import Integration, Project
from tapwell.runner.quick_exit import freeze_at_exit
from tapwell.runner.run import RunOrigin, describe_failure, run_integration
from tapwell.runner.statestore import StateBackend
from tapwell.sdk.cli_version import version_option
from tapwell.singer.errors import ConfigError


def _interrupt(signum: int, frame: object) -> None:
    # the run's error says what stopped it: "interrupted by SIGTERM" (tapwell.runner.run)
    raise KeyboardInterrupt("SIGTERM")  # kill, a CronJob deadline, serve's cancel (it says so)


def _warn_growth(project: Project, name: str, catalog: dict[str, Any] | None) -> None:
    """Warn about each selected keyless FULL_TABLE stream whose table will grow every run
    (our targets only: what a third-party target does with it is its own business)."""
    from tapwell.runner.stream_settings import growth_warnings

    ours, defaults = project.target_defaults(name)
    if ours and catalog is not None:
        overrides = project.integration(name).stream_overrides
        for line in growth_warnings(catalog, overrides, defaults, name):
            _err(f"tapwell: {line}")


def _catalog_or_none(project: Project, integration: Integration) -> dict[str, Any] | None:
    """The catalog the run will use; None when it cannot be made (the run itself then fails
    with that error, and records it)."""
    try:
        return prepared_catalog(project, integration)
    except ConfigError:
        return None


class _Commands(click.Group):
    """The group of `tapwell`'s commands. The larger ones defined elsewhere (check, new, serve,
    state) are imported only when named or listed: `tapwell run` pays no start-up for them."""

    ELSEWHERE = {
        "check": ("tapwell.sdk.check.cli", "check"),
        "new": ("tapwell.sdk.scaffold.cli", "new"),
        "serve": ("tapwell.runner.serve.cli", "serve"),
        "state": ("tapwell.runner.cli_state", "state"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.ELSEWHERE})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.ELSEWHERE and cmd_name not in self.commands:
            import importlib

            module, attr = self.ELSEWHERE[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=_Commands,
    help="Run Singer taps into targets, keep their state, and record every run.\n\n"
    "Exit codes: 0 success; 1 failed (a run: after its retries; validate: a breaking change); "
    "2 configuration/authentication error; 3 another run holds the integration's lock; "
    "65 a run stopped on malformed input; 75 temporary (the source, or a run's last attempt, "
    "failed for a passing reason: try again later); 130 interrupted. `tapwell run --help` "
    "has the table.",
)
@version_option("tapwell", lambda: __version__)
@click.option(
    "--project",
    "project_path",
    type=click.Path(readable=False),
    default=None,
    help="tapwell.yml or its folder (default: $TAPWELL_PROJECT or the working folder).",
)
@click.pass_context
def main(ctx: click.Context, project_path: str | None) -> None:
    ctx.obj = {"project": project_path}
    freeze_at_exit()


# `tapwell run`'s exit codes: what cron, a CronJob or a wrapper script does next (\b: kept as is)
RUN_EXIT_CODES = """\b
Exit codes (the class of the failure of the stage that ended the run):
  0    succeeded
  1    failed: exit 1 or another code, a signal, a crash (after its retries)
  2    configuration or authentication: tapwell.yml, a connector's config,
       credentials, a missing catalog, a command that cannot run (or a
       connector's exit 126/127) (never retried): fix it
  3    another run of NAME holds its lock: nothing ran
  65   malformed input: a connector refused the data (not retried): fix the data
  75   temporary: the last attempt exited 75 or stalled and the retries are used
       up, or the postgres state backend is unreachable: try again later
  130  interrupted (Ctrl-C, SIGTERM)"""


@main.command(
    help="Run integration NAME once: tap | target, resuming from its saved state, "
    "retrying per its retry policy. A second start while one runs exits 3 at once. "
    "A failing target with `required: false` does not fail the run (exit 0; a line names "
    "it and its lag).\n\n" + RUN_EXIT_CODES
)
@name_argument()
@click.option(
    "--full-refresh", is_flag=True, help="Ignore the saved state and sync everything again."
)
@click.option(
    "--quiet",
    is_flag=True,
    help="Do not print the progress lines (warnings and errors are still printed; METRIC lines "
    "and tracebacks are in the run log only: `tapwell logs`).",
)
@click.option(
    "--progress-every",
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How often to print the progress line (records and records/s per stream, from METRIC lines).",
)
@click.option(
    "--target",
    "target_name",
    default=None,
    metavar="TARGET",
    help="Of an integration with targets: [...], run this one alone, from its own saved state "
    "(to catch a secondary up without loading the others again).",
)
# set by `tapwell serve`, which hands out the run id before the run starts
@click.option("--run-id", default=None, hidden=True)
@click.option("--trigger", type=click.Choice(TRIGGERS), default="cli", hidden=True)
@click.option("--relaunch-of", default=None, hidden=True)
@click.pass_context
def run(
    ctx: click.Context,
    name: str,
    full_refresh: bool,
    quiet: bool,
    progress_every: float,
    target_name: str | None,
    run_id: str | None,
    trigger: str,
    relaunch_of: str | None,
) -> None:
    for given in (run_id, relaunch_of):
        if given is not None and not is_run_id(given):
            raise click.BadParameter(f"{given!r} is not a run id (see `tapwell runs`)")

    def body() -> None:
        # A CronJob deadline or `kill` sends SIGTERM: stop the connectors and record the run.
        signal.signal(signal.SIGTERM, _interrupt)
        project = _project(ctx)
        integration = project.integration(name).resolve()
        if target_name is not None:
            integration = integration.only(target_name)
        catalog = _catalog_or_none(project, integration)  # prepared once, for both
        _warn_growth(project, name, catalog)
        from tapwell.runner.terminal import TerminalFilter, success_line

        started = time.monotonic()
        result = run_integration(
            project,
            integration,
            full_refresh=full_refresh,
            log=TerminalFilter(_err),  # every line stays in the run log (`tapwell logs`)
            progress=None if quiet else _err,
            progress_every=progress_every,
            origin=RunOrigin(run_id, trigger, relaunch_of),
            catalog=catalog,
        )
        seconds = time.monotonic() - started
        if trigger == "cli":  # serve exports its own runs on /metrics
            from tapwell.runner.serve.push import push_after_run

            push_after_run(project, name, result.run_id, _err)
        if not result.ok:
            raise describe_failure(integration, result)
        _err(success_line(name, result, seconds))

    _exit(body)


# --------------------------------------------------------------------------- history


@main.command(
    help="List recent runs (of NAME, or of every integration) as a table, newest first; the "
    "ERROR column starts with the root cause (`tapwell logs RUN_ID` has all of it). Given a "
    "RUN_ID instead of a NAME: that run in full, with its per-stage figures."
)
@click.argument("name", required=False)
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Runs at most."
)
@click.option(
    "--status", type=click.Choice(OUTCOMES), default=None, help="Only runs with this status."
)
@click.option(
    "--before", default=None, metavar="RUN_ID", help="Only runs older than RUN_ID (the next page)."
)
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"runs": [...]} as `tapwell serve`\'s API does.'
)
@click.pass_context
def runs(
    ctx: click.Context,
    name: str | None,
    limit: int,
    status: str | None,
    before: str | None,
    as_json: bool,
) -> None:
    if before is not None and not is_run_id(before):
        raise click.BadParameter(
            f"{before!r} is not a run id (see `tapwell runs`)", param_hint="'--before'"
        )

    def body() -> None:
        from tapwell.runner.serve.report import show_run, show_runs

        project = _project(ctx)
        if name is not None and name not in project.names and is_run_id(name):
            click.echo(show_run(project, name, as_json))
        else:
            click.echo(show_runs(project, name, limit, status, before, as_json))

    _exit(body)


@main.command(
    help="Print the log of run RUN_ID (from `tapwell runs`), a UTC timestamp on every line; "
    "--follow prints new lines as the run writes them until it ends."
)
@click.argument("run_id")
@click.option(
    "--integration", "name", default=None, help="Integration whose state backend holds the run."
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing lines until the run ends.")
@click.pass_context
def logs(ctx: click.Context, run_id: str, name: str | None, follow: bool) -> None:
    def use(project: Project, store: StateBackend) -> None:
        from tapwell.runner.serve.report import follow_log

        record = store.run(run_id) if is_run_id(run_id) else None
        if record is None:
            raise ConfigError(f"no run {run_id!r} in the state backend (see `tapwell runs`)")
        for line in follow_log(store, record, follow):
            click.echo(line)

    _with_store(ctx, name, use)


# --------------------------------------------------------------------------- catalogs


@main.command(
    help="Run the tap's discovery and write catalogs/NAME.json with tapwell.yml's selection applied."
)
@name_argument()
@click.pass_context
def discover(ctx: click.Context, name: str) -> None:
    def body() -> None:
        from tapwell.runner.selection import check_something_selected
        from tapwell.runner.validate import discover as do_discover
        from tapwell.singer.catalog import Catalog

        project = _project(ctx)
        integration = project.integration(name)
        written = do_discover(project, integration, _err)
        catalog = Catalog(written)
        selected = [s.tap_stream_id for s in catalog.selected()]
        path = project.catalog_path(name)
        _err(
            f"tapwell: wrote {path}: {len(list(catalog))} stream(s), "
            f"selected: {', '.join(selected) or 'none'}"
        )
        _warn_growth(project, name, written)
        try:
            check_something_selected(written, integration.select, str(path), name)
        except ConfigError as exc:  # the catalog is written: its metadata may be edited next
            _err(f"tapwell: note: `tapwell run {name}` refuses it: {exc}")

    _exit(body)


@main.command(
    help="Discover again and diff against catalogs/NAME.json: columns added, removed, "
    "type changed, key changed. Exit 1 on a breaking change, 2 on a configuration or "
    "credentials error, 75 when the source cannot be reached."
)
@name_argument()
@click.pass_context
def validate(ctx: click.Context, name: str) -> None:
    def body() -> None:
        from tapwell.runner.validate import BreakingChange
        from tapwell.runner.validate import validate as do_validate

        project = _project(ctx)
        changes = do_validate(project, project.integration(name), _err)
        for change in changes:
            click.echo(str(change))
        breaking = [c for c in changes if c.breaking]
        if breaking:
            raise BreakingChange(
                f"{name}: {len(breaking)} breaking change(s) against {project.catalog_path(name)}; "
                f"adapt the target, then `tapwell discover {name}` and commit the catalog"
            )
        _err(
            f"tapwell: {name} matches its catalog"
            + (f" ({len(changes)} compatible change(s))" if changes else "")
        )

    _exit(body)


# --------------------------------------------------------------------------- deployment


@main.group(help="Generate schedules: crontab lines or Kubernetes CronJob manifests.")
def schedule() -> None:
    pass


@schedule.command(
    "crontab",
    help="Print a crontab line for every integration with a schedule, under a CRON_TZ= line "
    "for its timezone in tapwell.yml (UTC when it names none, as tapwell serve reads it).",
)
@click.pass_context
def schedule_crontab(ctx: click.Context) -> None:
    def body() -> None:
        from tapwell.runner.schedule import crontab

        click.echo(crontab(_project(ctx)), nl=False)

    _exit(body)


@schedule.command(
    "kubernetes",
    help="Write one CronJob manifest per scheduled integration (concurrencyPolicy "
    "Forbid, spec.timeZone from its timezone (default UTC), secrets from a Secret, the postgres "
    "state backend) into OUT (default deploy/).",
)
@click.option("--out", "out_dir", type=click.Path(), default=None, help="Folder for the manifests.")
@click.pass_context
def schedule_kubernetes(ctx: click.Context, out_dir: str | None) -> None:
    def body() -> None:
        from pathlib import Path

        from tapwell.runner.schedule import write_kubernetes

        project = _project(ctx)
        for path in write_kubernetes(
            project, Path(out_dir) if out_dir else project.root / "deploy"
        ):
            _err(f"tapwell: wrote {path}")

    _exit(body)


@main.command(
    help="Install third-party connectors (those with pip_url) of NAME... (default: all) "
    "each into its own virtualenv under .tapwell/venvs."
)
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Reinstall even when already installed.")
@click.pass_context
def install(ctx: click.Context, names: tuple[str, ...], force: bool) -> None:
    def body() -> None:
        from tapwell.runner.install import install as do_install

        n = do_install(_project(ctx), list(names), force=force, log=_err)
        _err(f"tapwell: {n} connector(s) installed" + ("" if n else " (all up to date)"))

    _exit(body)
