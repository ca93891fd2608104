"""The JSON shapes of runs and integrations, shared by serve's API, `tapwell runs --json` and
the web page (issue 14), so every view of a run says the same thing. Pure functions over the
history store; no web framework here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tapwell.runner.cron import timezone_of
from tapwell.runner.history import FINISHED, RunRecord, utcnow
from tapwell.runner.masking import integration_secrets
from tapwell.runner.project import Project
from tapwell.runner.runs_view import root_cause_first
from tapwell.runner.statestore import StateBackend
from tapwell.singer.config import redact
from tapwell.singer.errors import TapwellError
from tapwell.singer.wire import dumps, loads


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_summary(run: RunRecord) -> dict[str, Any]:
    """One run as the runs list shows it: status, trigger, times, rows, the error root cause first."""
    end = run.ended_at or (None if run.outcome in FINISHED else utcnow())
    return {
        "id": run.id,
        "integration": run.integration,
        "status": run.outcome,
        "trigger": run.trigger,
        "relaunch_of": run.relaunch_of,
        "full_refresh": run.full_refresh,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.ended_at),
        "duration_seconds": round((end - run.started_at).total_seconds(), 3) if end else None,
        "attempts": run.attempts,
        "rows": run.rows,
        "rows_total": sum(run.rows.values()),
        "error": root_cause_first(run.error),
        # fan-out targets the run left behind the tap: {"states", "seconds", ...} per name
        "behind": run.behind,
    }


def run_detail(run: RunRecord) -> dict[str, Any]:
    """A run with everything: every attempt's rows, the whole error, the per-stage figures."""
    return {
        **run_summary(run),
        "error_full": run.error,
        "attempt_rows": run.attempt_rows,
        "earlier_rows": run.earlier_rows,
        "stages": run.stages or {"summary": {}, "samples": []},
        # fan-out: per target its exit code, rows, lag and the copy's wait; "_copy" the copy's
        "targets": run.targets,
        "host": run.host,
        "pid": run.pid,
    }


def connector_names(project: Project, name: str) -> tuple[str, list[str]]:
    """The tap's name and the target names of an integration, read without any secret."""
    raw = (project.raw.get("integrations") or {})[name] or {}
    tap = project.connector_spec(name, "tap").name
    if raw.get("targets"):  # fan-out (several targets)
        targets = [
            t if isinstance(t, str) else str(t.get("name") or (t.get("command") or ["?"])[0])
            for t in raw["targets"]
        ]
        return tap, targets
    return tap, [project.connector_spec(name, "target").name]


def state_age_seconds(store: StateBackend, name: str, now: dt.datetime) -> float | None:
    """Seconds since the state was last recorded (once per run attempt and per manual change)."""
    history = store.state_history(name, 1)
    if not history or history[0][2] is None:
        return None
    return round((now - history[0][0]).total_seconds(), 3)


def masked_state(project: Project, store: StateBackend, name: str) -> Any:
    """The saved state with every secret of the integration's configs masked; a broken state
    is reported as {"error": ...} rather than failing the page."""
    try:
        value = store.get(name)
    except TapwellError as exc:
        return {"error": str(exc)}
    if value is None:
        return None
    try:
        integration = project.integration(name)
        secrets = integration_secrets(project, integration)
    except TapwellError:
        secrets = []  # a ${VAR} this process lacks: no value of it can be in the state either
    return loads(redact(dumps(value).decode(), secrets)) if secrets else value


def integration_view(
    project: Project,
    store: StateBackend,
    name: str,
    *,
    next_run: dt.datetime | None,
    running: str | None,
    last: RunRecord | None,
) -> dict[str, Any]:
    """One integration as the integrations list shows it."""
    raw = (project.raw.get("integrations") or {})[name] or {}
    tap, targets = connector_names(project, name)
    now = utcnow()
    return {
        "name": name,
        "tap": tap,
        "target": targets[0] if len(targets) == 1 else None,
        "targets": targets,
        "schedule": raw.get("schedule"),
        "timezone": timezone_of(raw),
        "after": list(raw.get("after") or []),
        "catchup": bool(raw.get("catchup", False)),
        "next_run_at": _iso(next_run),
        "running_run_id": running,
        "last_run": None
        if last is None
        else {
            "id": last.id,
            "status": last.outcome,
            "started_at": _iso(last.started_at),
            "finished_at": _iso(last.ended_at),
            "rows": sum(last.rows.values()),
            "error": root_cause_first(last.error),
        },
        "state_age_seconds": state_age_seconds(store, name, now),
    }
