"""What serve's JSON API and its web page both show, built once: the integrations list, one
integration, a page of runs, the schedule ahead. The API serialises these dicts; the page renders
them (issue 14: the page adds no second way to reach the data). Names and query parameters are
checked here against the project, so both front ends refuse the same input with the same words."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tapwell.runner.history import OUTCOMES, RunRecord, is_run_id, utcnow
from tapwell.runner.serve.config import after_of
from tapwell.runner.serve.manager import running_outside
from tapwell.runner.serve.scheduler import UPCOMING_MAX
from tapwell.runner.serve.views import integration_view, masked_state, run_summary

if TYPE_CHECKING:
    from tapwell.runner.serve.service import Service

MAX_LIMIT = 500


class ApiError(Exception):
    """A request refused with an HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_name(service: Service, name: str) -> str:
    """`name` when the project has such an integration, else a 404."""
    if name not in service.scheduler.project.names:
        raise ApiError(404, f"no integration {name!r} in the project")
    return name


def check_run_id(run_id: str) -> str:
    """`run_id` when it has a run id's shape, else a 404 (before any store reads it)."""
    if not is_run_id(run_id):
        raise ApiError(404, f"{run_id!r} is not a run id")
    return run_id


def _integration(service: Service, name: str, last: RunRecord | None) -> dict[str, Any]:
    return integration_view(
        service.scheduler.project,
        service.store,
        name,
        next_run=service.scheduler.next_runs().get(name),
        running=service.manager.busy(name) or (running_outside(last) if last else None),
        last=last,
    )


SHOWN_AMONG = 5  # an integration is shown by its newest run that ran, among its newest five


def shown_run(runs: list[RunRecord]) -> RunRecord | None:
    """The run an integration is shown by (newest first in `runs`): its newest that ran, so a
    time skipped while a run went does not hide that run's outcome (a failure stays red), else
    its newest."""
    return next((r for r in runs if r.outcome != "skipped"), runs[0] if runs else None)


def latest_runs(service: Service, names: list[str]) -> dict[str, RunRecord]:
    """Each integration's shown run (shown_run; the store reads only the newest few runs of each,
    not the whole history)."""
    newest = {name: runs[0] for name, runs in service.store.latest(names, 1).items() if runs}
    skipped = [name for name, run in newest.items() if run.outcome == "skipped"]
    if skipped:  # rare: only those are read further back
        for name, runs in service.store.latest(skipped, SHOWN_AMONG).items():
            newest[name] = shown_run(runs) or newest[name]
    return newest


def integrations_data(service: Service) -> dict[str, Any]:
    """`GET /api/integrations`: every integration with its schedule and last run."""
    names = service.scheduler.project.names
    latest = latest_runs(service, names)
    return {
        "integrations": [_integration(service, n, latest.get(n)) for n in names],
        "project_error": service.scheduler.error,
    }


def integration_data(service: Service, name: str) -> dict[str, Any]:
    """`GET /api/integrations/{name}`: one integration, its masked state, its recent runs."""
    recent = service.store.runs(name, 10, brief=True)
    view = _integration(service, name, shown_run(recent))
    view["state"] = masked_state(service.scheduler.project, service.store, name)
    view["recent_runs"] = [run_summary(r) for r in recent]
    return view


def runs_query(
    service: Service, query: Mapping[str, str]
) -> tuple[str | None, str | None, int, str | None]:
    """(integration, status, limit, before) of `GET /api/runs`, each checked."""
    unknown = set(query) - {"integration", "status", "limit", "before"}
    if unknown:
        raise ApiError(400, f"unknown query parameter(s) {sorted(unknown)}")
    name = query.get("integration") or None
    if name is not None:
        check_name(service, name)
    status = query.get("status") or None
    if status is not None and status not in OUTCOMES:
        raise ApiError(400, f"status must be one of {', '.join(OUTCOMES)}")
    try:
        limit = int(query.get("limit") or 50)
    except ValueError:
        raise ApiError(400, "limit must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}")
    before = query.get("before") or None
    if before is not None and not is_run_id(before):
        raise ApiError(400, "before must be a run id (the last one of the previous page)")
    return name, status, limit, before


def runs_data(service: Service, query: Mapping[str, str]) -> dict[str, Any]:
    """`GET /api/runs`: one page of runs, newest first, and the `before` of the next page."""
    name, status, limit, before = runs_query(service, query)
    found = service.store.runs(name, limit + 1, status=status, before=before, brief=True)
    page = found[:limit]
    return {
        "runs": [run_summary(r) for r in page],
        "next_before": page[-1].id if len(found) > limit else None,
    }


def schedule_data(service: Service, hours_text: str | None) -> dict[str, Any]:
    """`GET /api/schedule`: the scheduled runs of the next `hours` (default 24, at most 168)
    and the `after:` chains (what runs when another succeeds). `runs` lists at most
    `most_per_integration` times of each integration; `more_than_listed` names those it cut."""
    try:
        hours = float(hours_text or 24)
    except ValueError:
        raise ApiError(400, "hours must be a number") from None
    if not 0 < hours <= 168:
        raise ApiError(400, "hours must be more than 0 and at most 168")
    scheduler = service.scheduler
    now = utcnow()
    times = scheduler.upcoming(now, now + dt.timedelta(hours=hours))
    listed = collections.Counter(name for name, _ in times)
    return {
        "from": now.isoformat(),
        "until": (now + dt.timedelta(hours=hours)).isoformat(),
        "runs": [{"integration": n, "at": t.isoformat()} for n, t in times],
        "most_per_integration": UPCOMING_MAX,
        "more_than_listed": sorted(n for n, k in listed.items() if k >= UPCOMING_MAX),
        "after": {n: needs for n, needs in after_of(scheduler.project.raw).items() if needs},
    }
