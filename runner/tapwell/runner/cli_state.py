"""`tapwell state ...`: show, set, clear, recover, history and migrate of saved bookmark state.

Of an integration with `targets: [...]`, each target's committed state is kept apart (under
NAME@TARGET) and NAME's own state is where a run of all the targets starts: the oldest any of
them committed (tapwell.runner.fanout). `--target T` shows, sets, clears or lists T's own.
"""

from __future__ import annotations

from typing import Any

import click
import orjson

from tapwell.runner.cli_base import err, exit_with, name_argument, project_of, with_store
from tapwell.runner.project import Project
from tapwell.runner.statestore import StateBackend, check_state
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import dumps, loads

_TARGET = click.option(
    "--target",
    "target",
    default=None,
    metavar="TARGET",
    help="Of an integration with targets: [...], this target's own state (NAME@TARGET).",
)


def target_key(project: Project, name: str, target: str) -> str:
    """The state key of target `target` of integration `name`; one line naming the targets
    when it has none of that name, or when it has a single `target:`."""
    keys = project.target_state_keys(name)
    if not keys:
        raise ConfigError(
            f"integration {name!r} has a single target (target:); --target is for an "
            "integration with targets: [...]: leave it out"
        )
    if target not in keys:
        raise ConfigError(
            f"integration {name!r} has no target {target!r} in targets: "
            f"(its targets: {', '.join(keys)})"
        )
    return keys[target]


def _who(name: str, target: str | None) -> str:
    return f"{name} target {target}" if target else name


@click.group(
    help="Show, set, clear or recover the saved bookmark state of an integration, list its "
    "history of earlier states, or migrate every integration's state to the other backend. "
    "Of an integration with targets: [...], --target TARGET works on that target's own state."
)
def state() -> None:
    pass


@state.command(
    "show",
    help="Print NAME's saved state as JSON; of an integration with targets: [...], an object "
    "keyed by target name holding each target's own committed state (--target: that one's).",
)
@name_argument()
@_TARGET
@click.pass_context
def state_show(ctx: click.Context, name: str, target: str | None) -> None:
    def use(project: Project, store: StateBackend) -> None:
        keys = project.target_state_keys(name)
        value: Any
        if target is not None:
            value = store.get(target_key(project, name, target))
        elif keys:
            value = {t: store.get(key) for t, key in keys.items()}
            if all(v is None for v in value.values()):
                value = None
        else:
            value = store.get(name)
        if value is None:
            what = f"integration {name!r}" + (f" target {target!r}" if target else "")
            raise ConfigError(f"{what} has no saved state")
        click.echo(dumps(value, orjson.OPT_INDENT_2).decode())

    with_store(ctx, name, use)


@state.command(
    "set",
    help="Replace NAME's state with the JSON object in FILE ('-': stdin). "
    "An empty object over a saved state, or any state over a broken one, needs --force. "
    "--target TARGET sets that target's own state: `tapwell run NAME --target TARGET` resumes "
    "it from there; a run of all the targets still starts from NAME's own state.",
)
@name_argument()
@click.argument("file", type=click.File("rb"))
@_TARGET
@click.option(
    "--force",
    is_flag=True,
    help="Save even an empty state over a non-empty one, or over a broken state file.",
)
@click.pass_context
def state_set(ctx: click.Context, name: str, file: Any, target: str | None, force: bool) -> None:
    def use(project: Project, store: StateBackend) -> None:
        key = target_key(project, name, target) if target else name
        try:
            value = loads(file.read())
        except ValueError as exc:
            raise ConfigError(
                f"{file.name} is not valid JSON ({exc}); the saved state is unchanged"
            ) from None
        try:
            current = store.get(key)
        except ConfigError:
            if not force:  # the message names the file and says to add --force
                raise
            current = None  # a broken saved state is what --force is for
        check_state(value, current, force)
        store.put(key, value, record=True, force=True)
        if target is None:
            err(f"tapwell: state of {name} saved")
            return
        others = [store.get(k) for k in project.target_state_keys(name).values() if k != key]
        if all(v == value for v in others):  # every target at one state: the run starts there
            store.put(name, value, record=True, force=True)
            err(
                f"tapwell: state of {name} target {target} saved (and of {name}: every target has it)"
            )
            return
        err(
            f"tapwell: state of {name} target {target} saved; `tapwell run {name} --target "
            f"{target}` resumes it from there (a run of all the targets starts from {name}'s "
            f"own state: `tapwell state set {name}` moves that one)"
        )

    with_store(ctx, name, use)


@state.command(
    "clear",
    help="Forget NAME's state so the next run starts from scratch (needs --force). --target "
    "TARGET forgets that target's own state and NAME's (the oldest of its targets' is now none): "
    "the next run sends everything to every target, and the others merge it.",
)
@name_argument()
@_TARGET
@click.option("--force", is_flag=True, help="Really clear it.")
@click.pass_context
def state_clear(ctx: click.Context, name: str, target: str | None, force: bool) -> None:
    def use(project: Project, store: StateBackend) -> None:
        keys = project.target_state_keys(name)
        cleared = [target_key(project, name, target)] if target else list(keys.values())
        if not force and (store.get(cleared[0]) if target else store.get(name)):
            raise ConfigError(
                f"clearing the state of {_who(name, target)} makes its next run sync "
                "everything; add --force"
            )
        for key in cleared:
            store.clear(key)
        store.clear(name)
        err(
            f"tapwell: state of {_who(name, target)} cleared"
            + (
                f", and {name}'s own: the next run sends everything to every target"
                if target
                else ""
            )
        )

    with_store(ctx, name, use)


@state.command(
    "history",
    help="List NAME's earlier states, newest first (one per run and per change); --target: "
    "that target's own.",
)
@name_argument()
@_TARGET
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def state_history(ctx: click.Context, name: str, target: str | None, limit: int) -> None:
    def use(project: Project, store: StateBackend) -> None:
        key = target_key(project, name, target) if target else name
        for saved_at, run_id, value in store.state_history(key, limit):
            body = "(cleared)" if value is None else dumps(value).decode()
            click.echo(f"{saved_at:%Y-%m-%d %H:%M:%S}  {run_id or 'manual':<22} {body}")

    with_store(ctx, name, use)


@state.command(
    "recover",
    help="Read the state NAME's target committed in the destination and save it as NAME's state "
    "(target-postgres and target-duckdb: from the target's config; others: state.recover "
    "{dsn, query} in tapwell.yml). Over a different saved state needs --force. Of an "
    "integration with targets: [...], name the target with --target: its own state is read.",
)
@name_argument()
@_TARGET
@click.option("--force", is_flag=True, help="Replace a different saved state.")
@click.pass_context
def state_recover(ctx: click.Context, name: str, target: str | None, force: bool) -> None:
    def use(project: Project, store: StateBackend) -> None:
        from tapwell.runner.recover import recover_state, recovery_source

        keys = project.target_state_keys(name)
        if keys and target is None:
            raise ConfigError(
                f"integration {name!r} has targets: [...], each with its own state: name one "
                f"with --target (its targets: {', '.join(keys)})"
            )
        key = target_key(project, name, target) if target else name
        integration = project.integration(name)
        if target is not None:
            integration = integration.only(target)
        value = recover_state(project, integration)
        source = recovery_source(project, integration)
        where = source.where if source else "the destination"
        if value is None:
            raise ConfigError(f"{where} holds no state for {_who(name, target)}")
        saved = store.get(key)
        if saved and saved != value and not force:
            raise ConfigError(
                f"{_who(name, target)} has a different saved state; add --force to replace it "
                f"with the one in {where}"
            )
        store.put(key, value, record=True, force=True)
        click.echo(dumps(value, orjson.OPT_INDENT_2).decode())
        err(f"tapwell: state of {_who(name, target)} recovered from {where}")

    with_store(ctx, name, use)


@state.command(
    "migrate",
    help="Copy every integration's state, state history and runs from the other backend to "
    "--to (file: the state folder; postgres: --dsn, TAPWELL_STATE_DSN or state.dsn). A "
    "destination that already holds any of them needs --force.",
)
@click.option("--to", "to", type=click.Choice(["postgres", "file"]), required=True)
@click.option(
    "--dsn", default=None, help="PostgreSQL DSN or URL (default: TAPWELL_STATE_DSN, state.dsn)."
)
@click.option("--schema", default=None, help="PostgreSQL schema (default: state.schema, tapwell).")
@click.option(
    "--force", is_flag=True, help="Copy over state or runs the destination already holds."
)
@click.pass_context
def state_migrate(
    ctx: click.Context, to: str, dsn: str | None, schema: str | None, force: bool
) -> None:
    def body() -> None:
        from tapwell.runner.migrate import migrate

        migrate(project_of(ctx), to, dsn=dsn, schema=schema, force=force, log=err)

    exit_with(body)  # a DSN password is masked by parsing (tapwell.singer.config.redact)
