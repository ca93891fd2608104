"""The long-running `tapwell serve` process: the history store, the run manager, the scheduler
(ticked once a second by a thread of its own) and the HTTP app around them.

On start, runs that the store says are queued or running on this machine but whose process is
gone are marked `lost`. On SIGTERM (uvicorn's signal handling, then the app's lifespan), no new
runs start, running ones get `serve.shutdown_grace_seconds` to finish, then are interrupted.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tapwell.runner.history import RunRecord, utcnow
from tapwell.runner.project import Project, load_project
from tapwell.runner.serve.config import serve_settings
from tapwell.runner.serve.manager import Job, RunManager, mark_orphans
from tapwell.runner.serve.scheduler import Scheduler
from tapwell.runner.statestore import StateBackend, open_backend


def _stderr(line: str) -> None:
    sys.stderr.write(f"tapwell serve: {line}\n")
    sys.stderr.flush()


class Service:
    def __init__(
        self,
        project_file: Path,
        *,
        token: str | None = None,
        tick_seconds: float = 1.0,
        poll_seconds: float = 0.25,
        log: Callable[[str], None] = _stderr,
    ) -> None:
        project: Project = load_project(project_file)
        self.file = project.root / "tapwell.yml" if project_file.is_dir() else project_file
        self.token = token
        self.tick_seconds = tick_seconds
        self.poll_seconds = poll_seconds
        self.log = log
        self.settings = serve_settings(project.raw)
        self.store: StateBackend = open_backend(project)
        self.manager = RunManager(
            project.root, self.store, self.settings.max_parallel_runs, self._finished, log
        )
        self.lost = mark_orphans(self.store)
        for run in self.lost:
            log(f"run {run.id} of {run.integration} was left running by a stopped serve: lost")
        self.scheduler = Scheduler(self.file, project, self.store, self.manager, log=log)
        self.stopping = False
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def _finished(self, job: Job, record: RunRecord | None) -> None:
        self.scheduler.finished(job, record)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="tapwell-scheduler")
        self._thread.start()

    def _loop(self) -> None:
        last_refresh = time.monotonic()
        while not self._halt.is_set():
            try:
                self.scheduler.tick(utcnow())
                if time.monotonic() - last_refresh > 30:
                    last_refresh = time.monotonic()
                    self.scheduler.refresh()  # runs started by cron or a shell
            except Exception as exc:  # noqa: BLE001  a store hiccup must not stop the scheduler
                self.log(f"scheduler: {type(exc).__name__}: {exc} (retrying in a second)")
            self._halt.wait(self.tick_seconds)

    def stop(self) -> None:
        """Stop scheduling, let runs finish within the grace time, interrupt the rest."""
        self.stopping = True
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        grace = serve_settings(self.scheduler.project.raw).shutdown_grace_seconds  # as edited
        running = len(self.manager.running)
        if running:
            self.log(f"stopping: {running} run(s) going, waiting up to {grace:g}s for them")
        self.manager.shutdown(grace)
        with contextlib.suppress(Exception):
            self.store.close()

    @asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        self.start()
        try:
            yield
        finally:
            self.stopping = True
            await run_in_threadpool(self.stop)
