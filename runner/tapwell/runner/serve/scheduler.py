"""When `tapwell serve` starts runs: at each integration's cron times (croniter, in its
`timezone:`), and when every integration named in its `after:` has succeeded since its own last
run. A run due while the integration still runs is recorded `skipped`, never queued twice;
`catchup: true` runs once at start for a time missed while serve was down. Each scheduled time is
claimed through the store, so several serve processes sharing a PostgreSQL store start it once.

The clock is the caller's: `tick(now)` is the whole public surface (serve calls it every second
with the real time; a test may call it with any time). tapwell.yml is re-read when it changes;
an invalid new file is reported and the last good one stays in force.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tapwell.runner.cron import cron_of
from tapwell.runner.history import RunRecord, utcnow
from tapwell.runner.project import Project, load_project
from tapwell.runner.serve.config import after_of, serve_settings
from tapwell.runner.serve.manager import Busy, Job, RunManager
from tapwell.runner.statestore import StateBackend
from tapwell.singer.errors import TapwellError

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def cron_times(expression: str, timezone: str, after: dt.datetime) -> Iterator[dt.datetime]:
    """The times of `expression` (read in `timezone`) strictly after `after`, in UTC, in order,
    from one croniter (building one costs several of its steps)."""
    from croniter import croniter

    times = croniter(expression, after.astimezone(zoneinfo.ZoneInfo(timezone)))
    while True:
        nxt: dt.datetime = times.get_next(dt.datetime)
        yield nxt.astimezone(dt.UTC)


def cron_next(expression: str, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first time of `expression` (read in `timezone`) strictly after `after`, in UTC."""
    return next(cron_times(expression, timezone, after))


def cron_prev(expression: str, timezone: str, before: dt.datetime) -> dt.datetime:
    """The last time of `expression` at or before `before`, in UTC."""
    from croniter import croniter

    local = before.astimezone(zoneinfo.ZoneInfo(timezone))
    prev: dt.datetime = croniter(expression, local + dt.timedelta(seconds=1)).get_prev(dt.datetime)
    return prev.astimezone(dt.UTC)


UPCOMING_MAX = 500  # scheduled times per integration that upcoming() lists at most


class CronSeries:
    """One integration's cron times from a first one on, computed once and kept: the schedule
    page asks for the same day or week of times on every load, and a croniter step is slow
    (0.1 to 0.8 ms measured on a loaded 2-core machine). Not thread-safe (the scheduler holds a
    lock around it)."""

    def __init__(self, expression: str, timezone: str, first: dt.datetime) -> None:
        self.cron = (expression, timezone)
        self.times = [first]
        self._more = cron_times(expression, timezone, first)

    def covers(self, cron: tuple[str, str], first: dt.datetime) -> bool:
        """Whether `first` is one of the times computed so far of this same schedule."""
        i = bisect.bisect_left(self.times, first)
        return cron == self.cron and i < len(self.times) and self.times[i] == first

    def since(self, first: dt.datetime) -> Iterator[dt.datetime]:
        """The times from `first` (one of `covers`) on, computing more as they are read."""
        i = bisect.bisect_left(self.times, first)
        del self.times[:i]  # the times before `first` are past: never asked for again
        i = 0
        while True:
            if i == len(self.times):
                self.times.append(next(self._more))
            yield self.times[i]
            i += 1


class Scheduler:
    def __init__(
        self,
        project_file: Path,
        project: Project,
        store: StateBackend,
        manager: RunManager,
        *,
        now: dt.datetime | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.file = project_file
        self.project = project
        self.store = store
        self.manager = manager
        self.log = log or (lambda line: None)
        self.error: str | None = None  # the last reload's problem; None when the file is good
        self.started = now or utcnow()
        self.mtime = self._mtime()
        self.next_due: dict[str, dt.datetime] = {}
        self.last_start: dict[str, dt.datetime] = {}
        self.last_success: dict[str, dt.datetime] = {}
        self._series: dict[str, CronSeries] = {}  # upcoming()'s cache, by integration
        self._series_lock = threading.Lock()
        self._load_history()
        self._plan(self.started, catchup=True)

    # ------------------------------------------------------------------ the public clock

    def tick(self, now: dt.datetime) -> list[Job]:
        """Start what is due at `now`: reload tapwell.yml if it changed, then the cron times
        passed, then the `after:` chains whose integrations all succeeded. Returns the runs queued."""
        self._maybe_reload(now)
        started: list[Job] = []
        for name, due in sorted(self.next_due.items()):
            if now >= due:
                self.next_due[name] = cron_next(*self._cron(name), now)
                started += self._fire(name, due, "schedule")
        started += self._fire_after(now)
        return started

    def next_runs(self) -> dict[str, dt.datetime | None]:
        """The next scheduled time of every integration (None: no schedule)."""
        return {name: self.next_due.get(name) for name in self.project.names}

    def upcoming(self, start: dt.datetime, end: dt.datetime) -> list[tuple[str, dt.datetime]]:
        """Every scheduled (integration, time) from `start` to `end`, in time order (at most
        UPCOMING_MAX of each integration: `* * * * *` over a day would be 1,440)."""
        out: list[tuple[str, dt.datetime]] = []
        with self._series_lock:
            for name, first in list(self.next_due.items()):
                for count, when in enumerate(self._series_of(name, first).since(first)):
                    if when > end or count == UPCOMING_MAX:
                        break
                    if when >= start:
                        out.append((name, when))
            for gone in self._series.keys() - self.next_due.keys():
                del self._series[gone]
        return sorted(out, key=lambda item: (item[1], item[0]))

    def _series_of(self, name: str, first: dt.datetime) -> CronSeries:
        """The kept series of `name`'s times through `first`, or a new one from `first` (a
        changed schedule, or the page not read since the times kept)."""
        cron = self._cron(name)
        series = self._series.get(name)
        if series is None or not series.covers(cron, first):
            series = self._series[name] = CronSeries(*cron, first)
        return series

    def finished(self, job: Job, record: RunRecord | None) -> None:
        """The manager's callback: a success may complete another integration's `after:`."""
        if record is not None and record.outcome == "succeeded":
            self.last_success[job.integration] = record.ended_at or utcnow()

    def refresh(self) -> None:
        """Re-read the last starts and successes from the store (runs started by cron or a shell)."""
        self._load_history()

    # ------------------------------------------------------------------ inside

    def _raw(self, name: str) -> dict[str, Any]:
        return dict((self.project.raw.get("integrations") or {}).get(name) or {})

    def _cron(self, name: str) -> tuple[str, str]:
        cron = cron_of(self._raw(name))
        assert cron is not None, f"{name} has no schedule"
        return cron

    def _plan(self, now: dt.datetime, catchup: bool) -> None:
        """Next times for every scheduled integration; with `catchup`, those with `catchup: true`
        whose last scheduled time passed without a run since are due at once."""
        planned: dict[str, dt.datetime] = {}
        for name in self.project.names:
            raw = self._raw(name)
            cron = cron_of(raw)
            if cron is None:
                continue
            expression, timezone = cron
            planned[name] = cron_next(expression, timezone, now)
            if catchup and raw.get("catchup"):
                missed = cron_prev(expression, timezone, now)
                if self._last_start(name) < missed:
                    self.log(f"{name}: missed its run of {missed:%Y-%m-%d %H:%M} UTC (catchup)")
                    planned[name] = missed
        self.next_due = planned

    def _last_start(self, name: str) -> dt.datetime:
        """When `name` last started, asking the store for it when the newest runs read at start
        did not include one (other integrations ran 1,000 times since): catchup must not run
        again a time that did run."""
        if name not in self.last_start:
            newest = self.store.runs(name, 1, brief=True)
            if newest:
                self.last_start[name] = newest[0].started_at
        return self.last_start.get(name, _EPOCH)

    def _fire(self, name: str, due: dt.datetime, trigger: str) -> list[Job]:
        if not self.store.claim(name, due):
            return []  # another serve sharing the store took this time
        self.last_start[name] = max(self.last_start.get(name, _EPOCH), due)
        try:
            job = self.manager.submit(name, trigger)
        except Busy as busy:
            self.manager.record_skipped(
                name,
                trigger,
                f"due at {due:%Y-%m-%d %H:%M:%S} UTC while run {busy.run_id} was still going: skipped",
            )
            return []
        except RuntimeError:
            return []  # shutting down
        return [job]

    def _fire_after(self, now: dt.datetime) -> list[Job]:
        started: list[Job] = []
        for name, needs in sorted(after_of(self.project.raw).items()):
            if not needs or self.manager.busy(name):
                continue
            since = self.last_start.get(name, self.started)
            if all(self.last_success.get(other, _EPOCH) > since for other in needs):
                latest = max(self.last_success[other] for other in needs)
                started += self._fire(name, latest, "after")
                self.last_start[name] = max(self.last_start.get(name, _EPOCH), now)
        return started

    def _load_history(self) -> None:
        for run in reversed(
            self.store.runs(None, 1000, brief=True)
        ):  # oldest first: the newest wins
            self.last_start[run.integration] = max(
                self.last_start.get(run.integration, _EPOCH), run.started_at
            )
            if run.outcome == "succeeded" and run.ended_at is not None:
                self.last_success[run.integration] = max(
                    self.last_success.get(run.integration, _EPOCH), run.ended_at
                )

    def _mtime(self) -> float:
        try:
            return self.file.stat().st_mtime
        except OSError:
            return 0.0

    def _maybe_reload(self, now: dt.datetime) -> None:
        mtime = self._mtime()
        if mtime == self.mtime:
            return
        self.mtime = mtime
        try:
            project = load_project(self.file)
        except TapwellError as exc:
            self.error = str(exc)
            self.log(f"{self.file} changed but is invalid; the last good one stays in force: {exc}")
            return
        self.project, self.error = project, None
        self.manager.resize(serve_settings(project.raw).max_parallel_runs)
        self._plan(now, catchup=False)
        self.log(f"{self.file} reloaded: {len(project.names)} integration(s)")
