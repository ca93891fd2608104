"""`tapwell run NAME`: one run of an integration, made of attempts.

Takes the integration's lock (one run at a time), marks runs of it that lost their runner as
`lost`, records the run (with the runner's pid and host) in the history, pings the dead-man
switch, runs tap | target (tapwell.runner.attempt), retries what is retriable with exponential
backoff, each attempt resuming from the last state the target committed, then notifies.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from signal import SIGKILL
from typing import TYPE_CHECKING, Any

from tapwell.runner import fast_lane
from tapwell.runner.attempt import AttemptResult, redacting_sink, resolve_command, run_attempt
from tapwell.runner.guard import pid_alive, this_host
from tapwell.runner.history import RunRecord, lagging, new_run_id, utcnow
from tapwell.runner.lock import RunLock
from tapwell.runner.masking import integration_secrets
from tapwell.runner.notify import Notifier, message
from tapwell.runner.processes import AttemptSettings
from tapwell.runner.project import Integration, Project
from tapwell.runner.retry import (
    CONFIG_EXIT,
    DATAERR_EXIT,
    NOT_RUNNABLE_EXITS,
    TEMPFAIL_EXIT,
    classify,
    repeated,
    run_exit_code,
    stall_timeout,
    waits,
)
from tapwell.runner.serve.live import LiveRun
from tapwell.runner.statestore import StateBackend, open_backend
from tapwell.singer.config import redact
from tapwell.singer.errors import ConfigError, TapwellError

if TYPE_CHECKING:  # imported where an attempt failed: a run that succeeds needs none of it
    from tapwell.runner.failure import Failure

__all__ = [
    "RunFailed",
    "RunOrigin",
    "RunResult",
    "describe_failure",
    "resolve_command",
    "run_integration",
]


@dataclass
class RunOrigin:
    """Who asked for the run: `tapwell serve` hands out the run id before the run starts, and
    says what triggered it (tapwell.runner.history.TRIGGERS) and which run it relaunches."""

    run_id: str | None = None
    trigger: str = "cli"
    relaunch_of: str | None = None


@dataclass
class RunResult:
    run_id: str = ""
    tap_code: int = 0
    target_code: int = 0
    states_saved: int = 0
    last_state: dict[str, Any] | None = None
    attempts: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # the last attempt's (see _absorb)
    attempt_rows: list[dict[str, int]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # the last attempt's, as the tap reports
    error: str | None = None  # the whole cause, as the run's record keeps it
    failure: Failure | None = None  # the last failed attempt's (tapwell.runner.failure)
    verdict: str = ""  # why no attempt followed the last failure ("gave up after 3 attempts")
    terminal_config: bool = False
    stalled: bool = False
    interrupted: bool = False  # Ctrl-C or SIGTERM: `error` says which
    log: list[str] = field(default_factory=list)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # fan-out: per target
    saved_in: str = ""  # where the integration's state is kept (StateBackend.where)

    @property
    def ok(self) -> bool:
        return (
            self.error is None and self.tap_code == 0 and self.target_code == 0 and not self.stalled
        )

    @property
    def exit_code(self) -> int:
        """What `tapwell run` exits with: 0, or the class of the last attempt's failure
        (tapwell.runner.retry.run_exit_code: 1, 2, 65 or 75)."""
        if self.ok:
            return 0
        code = self.failure.code if self.failure is not None else None
        return run_exit_code(code, self.stalled, self.terminal_config)


class RunFailed(TapwellError):
    """A run that failed: one line (describe_failure), and the exit code of its failure's class
    (RunResult.exit_code)."""

    def __init__(self, text: str, exit_code: int) -> None:
        super().__init__(text)
        self.exit_code = exit_code
        self.retriable = exit_code == TEMPFAIL_EXIT


def run_integration(
    project: Project,
    integration: Integration,
    *,
    full_refresh: bool = False,
    log: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
    progress_every: float = 10.0,
    store: StateBackend | None = None,
    sleep: Callable[[float], None] = time.sleep,
    origin: RunOrigin | None = None,
    catalog: dict[str, Any] | None = None,
) -> RunResult:
    """Run NAME to success or until its retry policy gives up. Raises LockHeld when another
    run holds the integration's lock, and ConfigError before anything starts when the project
    is wrong; every failure after the start is in the result (and in the run history).
    `catalog`: the prepared catalog (tapwell.runner.attempt.prepared_catalog) when the caller
    made it already; else each attempt prepares it."""
    own_store = store is None
    store = store or open_backend(project, integration.name)
    try:
        with store.lock(integration.name) as lock:
            mark_lost_runs(store, integration.name)
            return _run_locked(
                project,
                integration,
                store,
                lock,
                full_refresh,
                log,
                progress,
                progress_every,
                sleep,
                origin or RunOrigin(),
                catalog,
            )
    finally:
        if own_store:
            store.close()


def _run_locked(
    project: Project,
    integration: Integration,
    store: StateBackend,
    lock: RunLock | None,
    full_refresh: bool,
    log: Callable[[str], None] | None,
    progress: Callable[[str], None] | None,
    progress_every: float,
    sleep: Callable[[float], None],
    origin: RunOrigin,
    catalog: dict[str, Any] | None,
) -> RunResult:
    secrets = integration_secrets(project, integration)
    started = utcnow()
    result = RunResult(run_id=origin.run_id or new_run_id(started))
    # a fan-out target run alone (`--target T`) saves T's own state, not the integration's
    saved_key = f"{integration.name}@{integration.alone}" if integration.alone else integration.name
    result.saved_in = store.where(saved_key)
    record = RunRecord(
        result.run_id,
        integration.name,
        started,
        pid=os.getpid(),
        host=this_host(),
        trigger=origin.trigger,
        relaunch_of=origin.relaunch_of,
        full_refresh=full_refresh,
    )
    live = LiveRun(store, record, _stage_prefixes(integration))  # the log, followed live
    order = threading.Lock()
    sink = redacting_sink(secrets, result.log, _tee(live.log, log), order)
    # the run log alone: what the caller says in its own last line (describe_failure), figures
    unseen: list[str] = []  # its lines, which the terminal has not shown
    record_only = redacting_sink(secrets, result.log, _tee(live.log, unseen.append), order)
    store.save_run(record)
    _ask_ahead(project, integration)
    # why the destination's state could not be read (unreachable, say): said after the first
    # attempt unless its target failed, whose own line then says it (once, not three times)
    unread: list[str] = []
    try:
        state = (
            _broken_state_note(store, integration.name, sink)
            if full_refresh
            else _start_state(project, integration, store, (sink, unread.append), result.run_id)
        )
    except TapwellError as exc:  # e.g. a broken state file: refused, and recorded as such
        result.error = redact(str(exc), secrets)
        sink(f"[tapwell] error: {result.error}")
        live.close()
        record.ended_at, record.outcome, record.error = utcnow(), "failed", result.error
        record.log = "\n".join(result.log)
        store.save_run(record)
        raise
    notifier = Notifier(integration.notify, sink, secrets)
    notifier.started()
    policy = integration.retry
    delays = waits(policy)
    last_failure: tuple[str, int] | None = None
    record_only(  # the terminal hears of the run once, at its end (cli.run's line)
        f"[tapwell] run {result.run_id}: {integration.name} ({_pipeline(integration)}), "
        + (
            "full refresh"
            if full_refresh
            else "resuming from saved state"
            if state
            else "no saved state"
        )
        + f"; an attempt silent for {stall_timeout(policy):g}s is stopped and retried"
    )
    try:
        while True:
            result.attempts += 1
            log_start = len(result.log)
            if result.attempts > 1 and result.states_saved:
                state = _catch_up(
                    project, integration, store, (sink, record_only), result.run_id, state
                )
            settings = AttemptSettings(
                result.run_id,
                sink,
                progress=progress,
                stall_timeout=stall_timeout(policy),
                progress_every=progress_every,
                lock=lock,
                on_spawn=live.watch,
                record=record_only,
                catalog=catalog,
            )
            attempt = _attempt_of(integration)(project, integration, store, state, settings)
            _absorb(result, attempt)
            if unread and (attempt.ok or classify(attempt, policy).culprit != "target"):
                record_only(unread[0])
            unread.clear()
            for key, value in attempt.target_states.items():  # each target's, in its history
                store.put(key, value, run_id=result.run_id, record=True, force=True)
            if integration.alone is not None:
                _after_alone(store, integration, attempt, result.run_id)
            if attempt.last_state is not None:
                store.put(
                    integration.name,
                    attempt.last_state,
                    run_id=result.run_id,
                    record=True,
                    force=True,
                )
                state = attempt.last_state
            if attempt.ok:
                result.error = None
                break
            verdict = classify(attempt, policy)
            result.terminal_config = verdict.terminal_config
            failure = _failure(integration, attempt, verdict.culprit, result.log, log_start, unseen)
            result.failure, result.error = failure, failure.text
            n = result.attempts
            # the culprit, its exit code and its line (the other side's fate varies)
            this = (f"{verdict.culprit} {failure.code} {failure.cause}", attempt.states_saved)
            if (
                verdict.retriable
                and verdict.culprit == "target"
                and failure.code != TEMPFAIL_EXIT
                and repeated(last_failure, this)
            ):
                result.verdict = f"the same error in {n} attempts in a row, nothing committed"
                result.error += f" (the same error in {n} attempts in a row)"
                record_only(
                    f"[tapwell] attempt {n} failed: {failure.brief}; "
                    "the same error as the attempt before, with nothing committed: not retried"
                )
                break
            last_failure = this
            if not verdict.retriable or n >= policy.attempts:
                if verdict.retriable:
                    tries = f"{n} attempt" + ("s" if n > 1 else "")
                    result.error += f" (gave up after {tries})"
                    result.verdict = f"gave up after {tries}"
                else:
                    result.verdict = _not_retried(failure.code)
                # the terminal hears it from the caller's last line (describe_failure)
                record_only(f"[tapwell] attempt {n} failed: {failure.brief}; {result.verdict}")
                break
            delay = next(delays)
            sent = ", ".join(f"{st} {k:,}" for st, k in sorted(attempt.sent.items()))
            sink(
                f"[tapwell] attempt {n} failed: {failure.brief}; retrying in {delay:g}s "
                f"from the last saved state ({result.states_saved} checkpoint(s) so far"
                + (f"; the tap sent {sent}" if sent else "")
                + ")"
            )
            sleep(delay)
    except ConfigError as exc:  # e.g. the catalog or a connector vanished between attempts
        result.error, result.terminal_config = redact(str(exc), secrets), True
        result.failure, result.verdict = None, ""
        record_only(f"[tapwell] error: {result.error}")  # the terminal's is the caller's line
    except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM turned into it by the CLI
        result.interrupted = True
        result.error = f"interrupted by {exc.args[0] if exc.args else 'Ctrl-C (SIGINT)'}"
        _finish(store, record, result, integration, notifier, (sink, record_only), live)
        raise
    _finish(store, record, result, integration, notifier, (sink, record_only), live)
    _prune(store, project.state_config_for(integration.name).get("keep_runs_days"), log)
    return result


def _ask_ahead(project: Project, integration: Integration) -> None:
    """Ask together the `--about`s this run will read one after the other (the target's for state
    recovery, then the tap's and the target's for the fast lane), so that a first run waits for
    one connector's start-up, not two. Cached answers cost nothing; what cannot be asked here is
    asked (and said) where it is needed. A fan-out reads no --about."""
    try:
        if integration.fanout or not fast_lane.negotiates(
            integration.raw, integration.name, integration.tap.config
        ):
            return
        argvs = [
            resolve_command(integration.target, project.root),
            resolve_command(integration.tap, project.root),
        ]
    except ConfigError:
        return
    fast_lane.abouts(project.root, argvs)


def _attempt_of(integration: Integration) -> Callable[..., AttemptResult]:
    """How one attempt runs: tap | target, or a fan-out (whose module loads only for one)."""
    if integration.fanout:
        from tapwell.runner.fanout import run_fanout_attempt

        return run_fanout_attempt
    return run_attempt


def _prune(store: StateBackend, days: Any, log: Callable[[str], None] | None) -> None:
    """With `state.keep_runs_days`, remove older finished runs (the stores do it at most once an
    hour). A failure to prune is a note, never the run's failure."""
    if not days:
        return
    try:
        removed = store.prune_runs(utcnow() - dt.timedelta(days=float(days)))
    except (OSError, TapwellError) as exc:
        removed, note = 0, f"[tapwell] note: the run history was not pruned ({exc})"
    else:
        note = (
            f"[tapwell] removed {removed:,} run(s) older than {float(days):g} days from the history"
        )
    if log and (removed or "not pruned" in note):
        log(note)


def _stage_prefixes(integration: Integration) -> dict[str, str]:
    """The log prefix of each stage ("[tap-csv]" -> "tap"), to read their METRIC lines."""
    return {f"[{integration.tap.name}]": "tap", f"[{integration.target.name}]": "target"}


def _tee(first: Callable[[str], None], then: Callable[[str], None] | None) -> Callable[[str], None]:
    def both(line: str) -> None:
        first(line)
        if then is not None:
            then(line)

    return both


def mark_lost_runs(store: StateBackend, integration: str) -> list[RunRecord]:
    """Runs recorded as `running` whose runner is gone become `lost`. Called with the
    integration's lock held, so every other `running` run of this integration has lost its
    runner (killed, or its machine died); of other integrations, those whose runner was a
    process of this host that no longer exists."""
    lost = []
    host = this_host()
    for brief in store.runs(None, 200, brief=True):  # the whole record only of those to change
        if brief.outcome != "running" or (brief.pid == os.getpid() and brief.host == host):
            continue
        mine = brief.integration == integration
        if not mine and not (
            brief.host == host and brief.pid is not None and not pid_alive(brief.pid)
        ):
            continue
        run = store.run(brief.id) or brief
        run.outcome = "lost"
        who = f"pid {run.pid} on {run.host}" if run.pid else "an older tapwell"
        run.error = f"the runner ({who}) stopped without recording an end: killed or lost"
        store.save_run(run)
        lost.append(run)
    return lost


def _finish(
    store: StateBackend,
    record: RunRecord,
    result: RunResult,
    integration: Integration,
    notifier: Notifier,
    sinks: tuple[Callable[[str], None], Callable[[str], None]],
    live: LiveRun,
) -> None:
    """Close the run record and notify, whatever the outcome. `sinks`: the run log and the
    terminal, and the run log alone (a failed run's last line is the caller's, describe_failure)."""
    sink, record_only = sinks
    record.ended_at = utcnow()
    record.outcome = "succeeded" if result.ok else "interrupted" if result.interrupted else "failed"
    record.attempts, record.rows, record.error = result.attempts, result.rows, result.error
    record.attempt_rows = result.attempt_rows
    record.targets = result.targets
    behind = _behind(result.targets)
    if behind:
        sink(f"[tapwell] {behind}")
    earlier = sum(sum(r.values()) for r in result.attempt_rows[:-1])
    # a run that ended on its own is told by the caller's last line (cli.run, describe_failure)
    (sink if record.outcome == "interrupted" else record_only)(
        f"[tapwell] run {result.run_id} {record.outcome} after {result.attempts} attempt(s); rows: "
        + (", ".join(f"{s} {n:,}" for s, n in sorted(result.rows.items())) or _unreported(result))
        + (f" (and {earlier:,} in the earlier failed attempt(s))" if earlier else "")
    )
    live.close()  # its last lines and the stage figures, before the record's last save
    record.log = "\n".join(result.log)
    store.save_run(record)
    notifier.finished(
        message(
            integration.name,
            record.outcome,
            result.run_id,
            result.attempts,
            result.rows,
            result.error,
            lagging(result.targets),
            behind,
        )
    )


def _absorb(result: RunResult, attempt: AttemptResult) -> None:
    result.tap_code, result.target_code, result.stalled = (
        attempt.tap_code,
        attempt.target_code,
        attempt.stalled,
    )
    result.states_saved += attempt.states_saved
    if attempt.last_state is not None:
        result.last_state = attempt.last_state
    # Rows per attempt are kept apart: an attempt after a failure replays everything after the
    # last committed state, so adding them up counts replayed rows twice. The run's `rows` are
    # the last attempt's (the successful one's, for a run that succeeded).
    result.attempt_rows.append(dict(attempt.rows))
    result.rows = dict(attempt.rows)
    result.sent = dict(attempt.sent)
    result.targets = attempt.targets


def _unreported(result: RunResult) -> str:
    """The rows part of a run's last line when no target reported a count (a target without
    METRIC lines, as target-jsonl): after a success, what the tap sent, named as the tap's."""
    if not (result.ok and result.sent):
        return "none reported"
    sent = ", ".join(f"{s} {n:,}" for s, n in sorted(result.sent.items()))
    return f"none reported by the target (the tap sent {sent})"


def _pipeline(integration: Integration) -> str:
    """tap | mapper | target, or tap | {t1, t2 (not required)} for a fan-out."""
    parts = [integration.tap.name, *(m.name for m in integration.mappers)]
    if integration.fanout:
        names = [
            t.connector.name + ("" if t.required else " (not required)")
            for t in integration.targets
        ]
        parts.append("{" + ", ".join(names) + "}")
    else:
        parts.append(integration.target.name)
    return " | ".join(parts)


def _behind(targets: dict[str, dict[str, Any]]) -> str:
    """A sentence naming the targets the run left behind the tap, and their lag: those that
    failed without failing the run, and any other that ended short of the tap's last STATE."""
    late = lagging(targets)

    def one(name: str, lag: dict[str, Any]) -> str:
        code = f"exit {lag['exit_code']}, " if lag["exit_code"] not in (0, None) else ""
        return f"{name} ({code}{lag['states']} STATE message(s), {lag['seconds']:g}s behind)"

    failed = [n for n, g in late.items() if not g["required"] and g["exit_code"] not in (0, None)]
    parts = []
    if failed:
        parts.append(
            "not required target(s) failed and are behind: "
            + "; ".join(one(n, late[n]) for n in failed)
        )
    # a required target that failed is the run's failure, said once (tapwell.runner.failure)
    rest = [
        one(n, g)
        for n, g in late.items()
        if n not in failed and not (g["required"] and g["exit_code"] not in (0, None))
    ]
    if rest:
        parts.append("target(s) that ended behind the tap: " + "; ".join(rest))
    return "; ".join(parts)


def _after_alone(
    store: StateBackend, integration: Integration, attempt: AttemptResult, run_id: str
) -> None:
    """After one target of a fan-out ran alone to the end: when every other target's saved
    state is the same, that is the oldest state again, and the integration resumes from it."""
    if not attempt.ok:
        return
    others = [t.state_key for t in integration.siblings if t.connector.name != integration.alone]
    states = [store.get(k) for k in others if k]
    if states and all(st is not None and st == states[0] for st in states):
        assert states[0] is not None
        store.put(integration.name, states[0], run_id=run_id, record=True, force=True)


def _failure(
    integration: Integration,
    attempt: AttemptResult,
    culprit: str,
    log: list[str],
    start: int,
    unseen: list[str],
) -> Failure:
    """The failed attempt told by its culprit alone (tapwell.runner.failure); `log` is the run's
    log so far, of which this attempt's lines start at `start`; `unseen` are its lines that
    never reached the terminal."""
    from tapwell.runner.failure import Failure, describe

    if culprit == "stall":
        return Failure("", -SIGKILL, stalled_for=stall_timeout(integration.retry))
    if culprit == "tap":
        role = "mapper" if attempt.source_name else "tap"
        name, code = attempt.source_name or integration.tap.name, attempt.tap_code
    else:
        role, code = "target", attempt.target_code
        name = attempt.target_name or integration.target.name
    hidden = set(unseen)
    return describe(role, name, code, log[start:], [ln for ln in log if ln not in hidden])


def _not_retried(code: int) -> str:
    """Why a failure with this exit code ends the run at once (tapwell.runner.retry)."""
    if code == CONFIG_EXIT:
        return "a configuration or authentication error: not retried"
    if code == DATAERR_EXIT:
        return "bad input: not retried"
    if code in NOT_RUNNABLE_EXITS:
        return "a command not found or not executable: not retried"
    return "not retried (retry.retry_unknown_errors is false)"


def _start_state(
    project: Project,
    integration: Integration,
    store: StateBackend,
    sinks: tuple[Callable[[str], None], Callable[[str], None]],
    run_id: str,
) -> dict[str, Any] | None:
    """The state to start from: the saved one, or the one the target committed in the
    destination (tapwell.runner.recover) when that is safe and better:

    - no saved state, and the newest change of it was not `tapwell state clear` (a clear means
      "sync everything", and the destination must not undo it): recover;
    - a saved state, the target one of ours, the previous run did not succeed (it may have died
      between the target's commit and the runner saving the printed state), and nobody changed
      the state by hand since: the destination's state wins when it differs, because it is by
      construction the one that matches the rows there.
    After a successful run the runner holds every state the target printed, so the destination
    is not consulted (a difference then means someone else wrote it; `tapwell state recover
    --force` adopts it on purpose)."""
    sink, record_only = sinks  # a destination that cannot be read: a note for the run log
    from tapwell.runner.recover import recovery_source

    name = integration.name
    if integration.fanout:
        # each target's state is its own; the integration's is the oldest of them (fanout.py).
        # The destinations are not read: a state a target committed and did not print is
        # replayed from the older one, and merged.
        if integration.alone is not None:
            key = integration.targets[0].state_key
            return (store.get(key) if key else None) or store.get(name)
        return store.get(name)
    saved = store.get(name)
    source = recovery_source(project, integration)
    if source is None:
        return saved
    newest = store.state_history(name, 1)
    manual = bool(newest) and newest[0][1] is None
    if saved is None:
        if manual and newest[0][2] is None:
            sink(
                "[tapwell] no saved state (cleared by hand): not recovering it from the destination"
            )
            return None
    else:
        if not source.automatic or manual:
            return saved
        previous = next((r for r in store.runs(name, 5) if r.id != run_id), None)
        if previous is None or previous.outcome == "succeeded":
            return saved
    found = _destination_state(project, integration, record_only)
    if not found or found == saved:
        return saved
    store.put(name, found, run_id=run_id, record=True, force=True)
    sink(
        "[tapwell] "
        + ("no saved state" if saved is None else "the previous run did not finish")
        + f": resuming from the state the target committed in the destination ({source.where})"
    )
    return found


def _broken_state_note(
    store: StateBackend, name: str, sink: Callable[[str], None]
) -> dict[str, Any] | None:
    """A full refresh starts from no state (None); a broken saved state is replaced by its
    states, and that is said rather than done silently."""
    try:
        store.get(name)
    except ConfigError as exc:
        sink(f"[tapwell] {exc}: this full refresh replaces it")
    return None


def _catch_up(
    project: Project,
    integration: Integration,
    store: StateBackend,
    sinks: tuple[Callable[[str], None], Callable[[str], None]],
    run_id: str,
    state: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """Before a retry: a target of ours may have committed a batch and died before printing its
    state; the destination's state then is ahead of ours, and starting from it replays nothing.
    Only once this run's target has committed a state: before that the destination may still
    hold a state this run means to leave behind (after `state set`, or a full refresh)."""
    sink, record_only = sinks  # a destination that cannot be read: a note for the run log
    from tapwell.runner.recover import recovery_source

    if integration.fanout:
        key = integration.targets[0].state_key if integration.alone else None
        return (store.get(key) if key else None) or state
    source = recovery_source(project, integration)
    if source is None or not source.automatic:
        return state
    found = _destination_state(project, integration, record_only)
    if not found or found == state:
        return state
    store.put(integration.name, found, run_id=run_id, record=True, force=True)
    sink(
        f"[tapwell] the destination holds a later committed state ({source.where}): retrying from it"
    )
    return found


def _destination_state(
    project: Project, integration: Integration, sink: Callable[[str], None]
) -> dict[str, Any] | None:
    """The state the target committed in the destination (tapwell.runner.recover); None when there is
    none or it cannot be read, which is said on `sink` and never fails the run."""
    from tapwell.runner.recover import recover_state

    try:
        return recover_state(project, integration)
    except ConfigError as exc:
        sink(f"[tapwell] could not read the state kept in the destination: {exc}")
        return None


def describe_failure(integration: Integration, result: RunResult) -> RunFailed:
    """The exception whose one line ends `tapwell run`'s terminal output for a failed run: the
    stage that failed and its exit code, the connector's own line unless the terminal has shown
    it already, why no attempt followed, and the rows committed before it. It exits with the
    class of the failure (RunResult.exit_code)."""
    failure = result.failure
    said = failure.brief if failure is not None else result.error or "see the run log"
    if result.verdict:
        said += f"; {result.verdict}"
    rows = ", ".join(f"{s} {n:,}" for s, n in sorted(result.rows.items()))
    if rows and failure is not None:
        said += f"; rows committed: {rows}"
    text = (
        f"integration {integration.name!r} failed: {said} "
        f"(run {result.run_id}; `tapwell logs {result.run_id}`)"
    )
    return RunFailed(text, result.exit_code)
