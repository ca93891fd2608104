"""`tapwell state migrate --to postgres|file`: copy every integration's state, state history and
run history from one state backend to the other, so moving to the PostgreSQL backend (as the
Kubernetes CronJobs do) or back loses nothing.

Only the stores' public API is used (get/put/clear, state_history, runs/save_run, lock), so the
copy is what the stores would have written themselves: history is replayed oldest first with its
run ids (each copied entry's `saved_at` is the time of the copy: the API sets it), runs are saved
whole (their own times and logs), and the current state is set last (it may be a checkpoint
after the newest history entry). Each integration's lock is held on the source while it is
copied, so a run cannot change it halfway. A destination that already holds state, history or
runs of any of the integrations is refused unless `force`: its entries are then kept and the
copied ones added (the current state and runs with the same id are replaced).

An integration with `targets: [...]` also has a state per target (NAME@TARGET, fanout.py): each
is copied the same way, with its history, under the integration's lock; a secondary that is
behind stays behind, and catches up from its own state.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from tapwell.runner.history import RunRecord
from tapwell.runner.project import Project, interpolate
from tapwell.runner.statestore import FileStateStore, StateBackend
from tapwell.singer.errors import ConfigError

ALL = 10**9  # "every entry" for the stores' limit arguments
BACKENDS = ("file", "postgres")
NEXT = {"postgres": ", dsn: ${TAPWELL_STATE_DSN}", "file": ", path: state"}


@dataclass
class Copied:
    integration: str
    state: bool
    history: int
    runs: int
    targets: dict[str, tuple[bool, int]]  # target -> (its own state copied, history entries)

    def describe(self) -> str:
        line = (
            f"tapwell: {self.integration}: {_state_and_history(self.state, self.history)}, "
            f"{self.runs} run(s) copied"
        )
        if self.targets:
            line += "; the own states of its targets " + ", ".join(
                f"{t} ({_state_and_history(*copied)})" for t, copied in self.targets.items()
            )
        return line


def _state_and_history(state: bool, history: int) -> str:
    return (
        f"{'state' if state else 'no state'}, "
        f"{history} history entr{'y' if history == 1 else 'ies'}"
    )


def postgres_settings(project: Project, dsn: str | None, schema: str | None) -> tuple[str, str]:
    """The PostgreSQL backend to copy to or from: --dsn, else TAPWELL_STATE_DSN, else tapwell.yml's
    `state.dsn`; --schema, else `state.schema`, else tapwell."""
    raw = project.raw.get("state") or {}
    found = (
        dsn
        or os.environ.get("TAPWELL_STATE_DSN")
        or interpolate(raw.get("dsn"), "state.dsn", project.env_file)
    )
    if not found:
        raise ConfigError(
            "state migrate: no PostgreSQL backend named: pass --dsn, set TAPWELL_STATE_DSN, "
            "or write state.dsn in tapwell.yml"
        )
    return str(found), str(
        schema or interpolate(raw.get("schema"), "state.schema", project.env_file) or "tapwell"
    )


def open_pair(
    project: Project, to: str, dsn: str | None, schema: str | None
) -> tuple[StateBackend, StateBackend, str, str]:
    """(source, destination, source description, destination description) for `--to TO`."""
    from tapwell.runner.statestore_pg import PostgresStateStore

    if to not in BACKENDS:
        raise ConfigError(f"state migrate: --to must be one of {', '.join(BACKENDS)}")
    url, pg_schema = postgres_settings(project, dsn, schema)
    files: StateBackend = FileStateStore(project.state_dir)
    pg: StateBackend = PostgresStateStore(url, pg_schema)
    file_where = f"the file backend ({project.state_dir})"
    pg_where = f"the postgres backend (schema {pg_schema})"
    if to == "postgres":
        return files, pg, file_where, pg_where
    return pg, files, pg_where, file_where


def integrations(project: Project, source: StateBackend) -> list[str]:
    """tapwell.yml's integrations, and any other the source has run history of."""
    names = set(project.names) | {r.integration for r in source.runs(None, ALL)}
    return sorted(names)


def target_keys(project: Project, name: str) -> dict[str, str]:
    """Of an integration with `targets:` in tapwell.yml, each target's state key."""
    return project.target_state_keys(name) if name in project.names else {}


def holds_something(store: StateBackend, name: str, keys: list[str]) -> bool:
    return any(
        store.get(k) is not None or bool(store.state_history(k, 1)) for k in [name, *keys]
    ) or bool(store.runs(name, 1))


def copy_state(source: StateBackend, dest: StateBackend, key: str) -> tuple[bool, int]:
    """Copy one state key's history (oldest first) and current value: (a current state, how
    many history entries)."""
    history = source.state_history(key, ALL)[::-1]  # oldest first
    for _saved_at, run_id, value in history:
        if value is None:
            dest.clear(key, run_id=run_id)
        else:
            dest.put(key, value, run_id=run_id, record=True, force=True)
    current = source.get(key)
    if current is not None:
        dest.put(key, current, force=True)
    elif dest.get(key) is not None:
        dest.clear(key)  # the source has none now: neither may the destination
    return current is not None, len(history)


def copy_integration(
    source: StateBackend, dest: StateBackend, name: str, targets: dict[str, str] | None = None
) -> Copied:
    """Copy one integration (and its targets' own states), holding its lock on the source."""
    with source.lock(name):
        copied = {t: copy_state(source, dest, key) for t, key in (targets or {}).items()}
        state, history = copy_state(source, dest, name)
        runs: list[RunRecord] = source.runs(name, ALL)[::-1]
        for run in runs:
            dest.save_run(run)
            if not dest.read_log(
                run.id
            ):  # the timestamped log (copied once: --force again adds none)
                lines = source.read_log(run.id)
                if lines:
                    dest.append_log(run.id, lines)
    return Copied(name, state, history, len(runs), copied)


def migrate(
    project: Project,
    to: str,
    *,
    dsn: str | None = None,
    schema: str | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> list[Copied]:
    """Copy every integration from the other backend to `to` (see the module's docstring)."""
    source, dest, source_where, dest_where = open_pair(project, to, dsn, schema)
    try:
        names = integrations(project, source)
        keys = {n: target_keys(project, n) for n in names}
        taken = [n for n in names if holds_something(dest, n, list(keys[n].values()))]
        if taken and not force:
            raise ConfigError(
                f"state migrate: {dest_where} already holds state or runs of {', '.join(taken)}; "
                "add --force to copy over them (their current state is replaced, their history kept)"
            )
        copied = []
        for name in names:
            item = copy_integration(source, dest, name, keys[name])
            copied.append(item)
            log(item.describe())
        log(
            f"tapwell: copied {len(copied)} integration(s) from {source_where} to {dest_where}; "
            f"now set `state: {{backend: {to}{NEXT[to]}}}` in tapwell.yml (the source is left as it was)"
        )
        return copied
    finally:
        source.close()
        dest.close()
