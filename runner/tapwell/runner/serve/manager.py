"""The runs `tapwell serve` starts: each is `tapwell run NAME` as a child process (the code path,
lock, state, retries and history of a cron run), at most `max_parallel_runs` at once, the rest
queued in order. The run id is handed out when the run is asked for (a `queued` record), and the
child records everything else under it. A child that never got going (another run held the
lock: exit 3; a config error: exit 2) leaves its record to serve, which closes it as `skipped`
or `failed` with the child's own error line."""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tapwell.runner.guard import dies_with_runner, pid_alive, this_host
from tapwell.runner.history import FINISHED, RunRecord, new_run_id, utcnow
from tapwell.runner.statestore import StateBackend

LOCK_HELD_EXIT = 3  # tapwell run: another run of the integration holds its lock


class Busy(Exception):
    """The integration has a run queued or running (the API answers 409)."""

    def __init__(self, integration: str, run_id: str) -> None:
        super().__init__(f"integration {integration!r} is already queued or running (run {run_id})")
        self.run_id = run_id


@dataclass
class Job:
    run_id: str
    integration: str
    trigger: str
    full_refresh: bool = False
    relaunch_of: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    stderr_tail: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=20)
    )
    cancelled: bool = False
    stopped_by: str = ""  # who cancelled it, for its record's error ("cancelled through the API")


def tapwell_exe() -> list[str]:
    """The `tapwell` of this interpreter (serve and its runs are the same installation)."""
    local = Path(sys.executable).parent / "tapwell"
    return [str(local)] if local.exists() else [sys.executable, "-m", "tapwell"]


class RunManager:
    def __init__(
        self,
        project_root: Path,
        store: StateBackend,
        max_parallel: int,
        on_finish: Callable[[Job, RunRecord | None], None] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.root = project_root
        self.store = store
        self.max_parallel = max_parallel
        self.on_finish = on_finish
        self.log = log or (lambda line: None)
        self.queue: collections.deque[Job] = collections.deque()
        self.running: dict[str, Job] = {}  # by integration
        self.lock = threading.RLock()
        self.accepting = True
        # Every child is started by this one thread: `setpriv --pdeathsig` kills a child when
        # the *thread* that started it ends, and request or waiter threads come and go.
        self.to_spawn: queue.Queue[Job] = queue.Queue()
        threading.Thread(target=self._spawner, daemon=True, name="tapwell-spawner").start()

    # ------------------------------------------------------------------ asking for runs

    def busy(self, integration: str) -> str | None:
        """The run id of the integration's queued or running run, else None."""
        with self.lock:
            if integration in self.running:
                return self.running[integration].run_id
            return next((j.run_id for j in self.queue if j.integration == integration), None)

    def busy_anywhere(self, integration: str) -> str | None:
        """`busy`, or the id of a run of the integration going on outside this serve on this
        machine (cron, a shell, another serve), as its newest record says."""
        own = self.busy(integration)
        if own is not None:
            return own
        newest = self.store.runs(integration, 1, brief=True)
        return running_outside(newest[0]) if newest else None

    def submit(
        self,
        integration: str,
        trigger: str,
        *,
        full_refresh: bool = False,
        relaunch_of: str | None = None,
    ) -> Job:
        """Queue a run (recorded as `queued` at once) and start it when a slot is free. Raises
        Busy when the integration already has one; for a user's run (manual, relaunch) also when
        one started outside serve goes on on this machine (the API's 409, where the run's own
        lock would record it `skipped`; a scheduled run is left to that lock and recorded so).
        RuntimeError while serve shuts down."""
        with self.lock:
            if not self.accepting:
                raise RuntimeError("tapwell serve is shutting down: no new runs")
            by_user = trigger in ("manual", "relaunch")
            current = self.busy_anywhere(integration) if by_user else self.busy(integration)
            if current is not None:
                raise Busy(integration, current)
            now = utcnow()
            job = Job(new_run_id(now), integration, trigger, full_refresh, relaunch_of)
            self.store.save_run(
                RunRecord(
                    job.run_id,
                    integration,
                    now,
                    outcome="queued",
                    pid=os.getpid(),
                    host=this_host(),
                    trigger=trigger,
                    relaunch_of=relaunch_of,
                    full_refresh=full_refresh,
                )
            )
            self.queue.append(job)
            self._pump()
            return job

    def record_skipped(self, integration: str, trigger: str, why: str) -> RunRecord:
        """A run that was due but not started (its integration still running): on record."""
        now = utcnow()
        return self.store.save_run(
            RunRecord(
                new_run_id(now),
                integration,
                now,
                ended_at=now,
                outcome="skipped",
                error=why,
                trigger=trigger,
                pid=os.getpid(),
                host=this_host(),
            )
        )

    def cancel(self, run_id: str, by: str = "cancelled through the API") -> str:
        """Stop a run: a queued one never starts (`interrupted`); a running one gets SIGTERM and
        records itself `interrupted`, its state staying at the last commit. Its error says `by`
        whom ("interrupted: cancelled through the API"). Returns what was done."""
        with self.lock:
            for job in list(self.queue):
                if job.run_id == run_id:
                    self.queue.remove(job)
                    self._close(job, "interrupted", f"{by} before it started")
                    return "cancelled"
            for job in self.running.values():
                if job.run_id == run_id:
                    job.cancelled, job.stopped_by = True, by  # not started: the spawner drops it
                    if job.proc is not None:
                        with contextlib.suppress(ProcessLookupError):
                            job.proc.send_signal(signal.SIGTERM)
                    return "cancelling"
        record = self.store.run(run_id)  # a run started elsewhere on this machine (cron, a shell)
        if (
            record is not None
            and record.outcome == "running"
            and record.host == this_host()
            and record.pid
            and pid_alive(record.pid)
        ):
            os.kill(record.pid, signal.SIGTERM)
            return "cancelling"
        raise LookupError(f"run {run_id} is not queued or running")

    def resize(self, max_parallel: int) -> None:
        """A new `serve.max_parallel_runs` (tapwell.yml edited): queued runs start at once when
        it grew; when it shrank, running ones finish and no new one starts until below it."""
        with self.lock:
            self.max_parallel = max_parallel
            self._pump()

    # ------------------------------------------------------------------ running them

    def _pump(self) -> None:
        with self.lock:
            while self.accepting and self.queue and len(self.running) < self.max_parallel:
                job = self.queue.popleft()
                self.running[job.integration] = job
                self._start(job)

    def _start(self, job: Job) -> None:
        self.to_spawn.put(job)

    def _spawner(self) -> None:
        while True:
            self._spawn(self.to_spawn.get())

    def _spawn(self, job: Job) -> None:
        if job.cancelled:
            self._close(job, "interrupted", f"{job.stopped_by or 'cancelled'} before it started")
            with self.lock:
                self.running.pop(job.integration, None)
                self._pump()
            return
        argv = [
            *tapwell_exe(),
            "--project",
            str(self.root),
            "run",
            job.integration,
            "--quiet",
            "--run-id",
            job.run_id,
            "--trigger",
            job.trigger,
        ]
        if job.full_refresh:
            argv.append("--full-refresh")
        if job.relaunch_of:
            argv += ["--relaunch-of", job.relaunch_of]
        try:
            # the run dies with serve (kill -9 included): its record then says `running` with
            # a dead pid, and the next start of serve marks it `lost`
            job.proc = subprocess.Popen(
                dies_with_runner(argv),
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            self._close(job, "failed", f"tapwell serve could not start `tapwell run`: {exc}")
            with self.lock:
                self.running.pop(job.integration, None)
                self._pump()
            return
        if job.cancelled:  # cancelled while it was being started
            job.proc.send_signal(signal.SIGTERM)
        threading.Thread(target=self._wait, args=(job,), daemon=True).start()

    def _wait(self, job: Job) -> None:
        assert job.proc is not None and job.proc.stderr is not None
        for raw in job.proc.stderr:
            job.stderr_tail.append(raw.decode("utf-8", "replace").rstrip())
        code = job.proc.wait()
        record = self.store.run(job.run_id)
        if record is None or record.outcome == "queued":
            # the child never got to record a start
            last = next((ln for ln in reversed(job.stderr_tail) if ln.strip()), "")
            if code == LOCK_HELD_EXIT:
                record = self._close(job, "skipped", last or "another run holds the lock")
            else:
                record = self._close(job, "failed", last or f"`tapwell run` exited {code}")
        elif record.outcome == "running":  # killed without a chance to record its end
            record.outcome, record.ended_at = "lost", utcnow()
            record.error = f"`tapwell run` ended with {code} without recording an end"
            self.store.save_run(record)
        elif record.outcome == "interrupted" and job.stopped_by:  # the run only saw a SIGTERM
            record.error = f"interrupted: {job.stopped_by}"
            self.store.save_run(record)
        stopped = record.outcome == "interrupted" and record.error  # "interrupted: cancelled ..."
        self.log(f"run {job.run_id} of {job.integration}: {stopped or record.outcome}")
        with self.lock:
            self.running.pop(job.integration, None)
            self._pump()
        if self.on_finish is not None:
            self.on_finish(job, record)

    def _close(self, job: Job, outcome: str, error: str) -> RunRecord:
        record = self.store.run(job.run_id) or RunRecord(job.run_id, job.integration, utcnow())
        record.outcome, record.error, record.ended_at = outcome, error, utcnow()
        return self.store.save_run(record)

    # ------------------------------------------------------------------ shutting down

    def shutdown(self, grace: float) -> None:
        """No new runs; queued ones are closed as `skipped`; running ones get `grace` seconds
        to finish, then SIGTERM (they record `interrupted`), then SIGKILL 30 s later."""
        with self.lock:
            self.accepting = False
            while self.queue:
                self._close(
                    self.queue.popleft(), "skipped", "tapwell serve stopped before it started"
                )
        if not self._wait_idle(grace):
            for job in self._running_jobs():
                job.cancelled = True
                job.stopped_by = (
                    f"tapwell serve stopped (SIGTERM or Ctrl-C) and the run outlived its "
                    f"serve.shutdown_grace_seconds ({grace:g}s)"
                )
                with contextlib.suppress(ProcessLookupError):
                    job.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            if not self._wait_idle(30):
                for job in self._running_jobs():
                    with contextlib.suppress(ProcessLookupError):
                        job.proc.kill()  # type: ignore[union-attr]
                self._wait_idle(5)

    def _running_jobs(self) -> list[Job]:
        with self.lock:
            return [j for j in self.running.values() if j.proc is not None]

    def _wait_idle(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if not self.running:
                    return True
            time.sleep(0.1)
        with self.lock:
            return not self.running


def running_outside(record: RunRecord) -> str | None:
    """The id of `record` when it is a run still going on this machine: recorded `running`
    here, its process alive and a `tapwell ... run NAME` (not a later process given the pid of
    a run killed without recording its end)."""
    if record.outcome != "running" or record.host != this_host() or not record.pid:
        return None
    try:
        argv = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if b"run" in argv and record.integration.encode() in argv and pid_alive(record.pid):
        return record.id
    return None


def mark_orphans(store: StateBackend) -> list[RunRecord]:
    """At serve's start: runs the store says are queued or running on this machine whose
    process is gone become `lost` (the state is safe: it is saved only after a commit)."""
    lost = []
    host = this_host()
    for run in store.runs(None, 500):
        if run.outcome in FINISHED or run.host != host or (run.pid and pid_alive(run.pid)):
            continue
        if run.outcome not in ("queued", "running"):
            continue
        run.outcome, run.ended_at = "lost", utcnow()
        run.error = f"its process (pid {run.pid} on {run.host}) was gone when tapwell serve started"
        store.save_run(run)
        lost.append(run)
    return lost
