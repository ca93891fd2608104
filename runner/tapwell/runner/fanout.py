"""Fan-out: one tap (and its mappers) into several targets, through one attempt (the copy itself
is tapwell.runner.fanout_copy).

The runner reads the last source's stdout in 1 MiB chunks and hands each chunk to every target's
writer thread, which writes it to that target's stdin: bytes, never records. Each writer has a
queue of at most BUFFER_CHUNKS chunks; when a target's queue is full the reading waits, so the
slowest target sets the pace and the runner holds at most BUFFER_CHUNKS MiB (bounded memory),
while a target pausing to commit a batch does not stop the others at once. The seconds the copy
waited on each target are in the run record, so the slow one is visible. os.splice cannot help
here: it moves data to one pipe, and the runner must see every STATE line the tap writes (a
bytes.find over the chunk; only lines holding `"STATE"` are parsed).

State: the tap's STATE values are numbered in the order the tap wrote them. Each target's
committed STATE (its stdout) is saved under NAME@TARGET and placed in that order; the
integration's own state (what the next run starts from) is the oldest any target committed, so
every target resumes from its own committed state, and the ones further ahead receive the overlap
again and merge it on their key properties. A target that fails and is not `required` is dropped
from the copy; the run goes on and records how far it is behind, in STATE messages and seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import IO, Any

from tapwell.runner.attempt import (
    AttemptResult,
    Metrics,
    line_bursts,
    tap_command,
    target_config,
)
from tapwell.runner.fanout_copy import Copier, Output, StateOrder
from tapwell.runner.guard import run_dir
from tapwell.runner.processes import (
    AttemptSettings,
    Sink,
    Supervisor,
    committed_state,
    kill,
    popen,
    resolve_command,
    spawn_settings,
    start_sources,
    write_private,
)
from tapwell.runner.project import Integration, Project, Target
from tapwell.runner.statestore import StateBackend
from tapwell.sdk.pipes import widen_pipe
from tapwell.singer.errors import ConfigError


class FanoutMetrics(Metrics):
    """The progress lines, and one per target: how far behind the tap it is and how long the
    copy has waited on it (the slow one shows)."""

    def __init__(self, order: StateOrder) -> None:
        super().__init__()
        self.order = order
        self.outputs: list[Output] = []

    def lines(self, name: str) -> list[str]:
        out = super().lines(name)
        for o in self.outputs:
            lag = self.order.lag(o.name)
            out.append(
                f"tapwell: {name}: target {o.name} {lag['states']} STATE message(s) "
                f"({lag['seconds']:g}s) behind the tap, the copy waited {o.waited:.1f}s on it"
                + ("" if o.alive else " (stopped)")
            )
        return out


def run_fanout_attempt(
    project: Project,
    integration: Integration,
    store: StateBackend,
    state: dict[str, Any] | None,
    settings: AttemptSettings,
) -> AttemptResult:
    """tap [| mappers] into every target of `targets:` at once. Never raises for a connector's
    failure. `result.last_state` is the integration's resume state (the oldest committed);
    with `integration.alone` (one target run alone) only that target's state is saved.
    `settings.on_spawn` hears of each process started (tap, mapper:NAME, target:NAME)."""
    sink, run_id = settings.sink, settings.run_id
    targets = integration.targets
    spawn = spawn_settings(project, settings.lock)
    order = StateOrder(state, [t.connector.name for t in targets])
    metrics = FanoutMetrics(order)
    result = AttemptResult(0, 0)
    tmp = run_dir()
    try:
        tap_argv = resolve_command(integration.tap, project.root, integration.name)
        argvs = [resolve_command(t.connector, project.root, integration.name) for t in targets]
        tap_cmd = tap_command(
            project,
            integration,
            tap_argv,
            integration.tap.config,
            state,
            tmp,
            sink,
            settings.catalog,
        )
        sources = start_sources(integration, tap_cmd, tmp, spawn)
        procs, outputs = _start_targets(integration, argvs, tmp, spawn)
        sources.announce(settings.on_spawn)
        for out in outputs:
            assert out.proc is not None
            if settings.on_spawn is not None:
                settings.on_spawn(f"target:{out.name}", out.proc.pid)
        metrics.outputs = outputs
        widen_pipe(sources.stdout)
        copier = Copier(sources.stdout.fileno(), outputs, order, sink, record=settings.record)
        if settings.stall_timeout is not None:
            copier.drop_after = max(settings.stall_timeout / 2, 1.0)
        copy = threading.Thread(target=copier.run, daemon=True, name="fanout-copy")
        threads = Supervisor(integration.name, settings, metrics, result)
        sources.log_stderr(threads)
        readers = []
        for target, proc in zip(targets, procs, strict=True):
            threads.log_stderr(proc, target.connector.name, target.connector.name)
            reader = threading.Thread(
                target=_read_target_states,
                args=(proc.stdout, integration, target, store, run_id, order, result, sink),
                # no state to lose: {} is no news (as tapwell.runner.attempt says it)
                kwargs={"touch": threads.touch, "quiet": None if state else settings.record},
                daemon=True,
            )
            readers.append(reader)
        for t in [copy, *readers]:
            t.start()
        threads.watch([*(p for _, p in sources.procs), *procs])
        try:
            copy.join()  # the copy ends at the source's end, or when a required target broke
            if copier.failed_required is not None:
                sources.kill()
            codes = [p.wait() for p in procs]
            for r in readers:
                r.join()
        except BaseException:
            sources.kill()
            for p in procs:
                kill(p)
            raise
        finally:
            codes = [p.wait() for p in procs]
            failed = [t for t, c in zip(targets, codes, strict=True) if c != 0 and t.required]
            if failed:
                sources.kill()
            result.tap_code, result.source_name, result.source_stopped = sources.codes()
            sources.stdout.close()
            threads.stop()
        figures = settings.record or sink  # the run log's: the terminal hears the failure once
        _summarize(result, integration, targets, codes, outputs, order, metrics, copier, figures)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _start_targets(
    integration: Integration, argvs: list[list[str]], tmp: str, spawn: dict[str, Any]
) -> tuple[list[subprocess.Popen[bytes]], list[Output]]:
    """Every target, each reading its own pipe, whose write end the copy holds."""
    procs: list[subprocess.Popen[bytes]] = []
    outputs: list[Output] = []
    for i, (target, argv) in enumerate(zip(integration.targets, argvs, strict=True)):
        config = target_config(integration, target)
        cmd = [*argv, "--config", write_private(tmp, f"target{i}.json", config)]
        read_end, write_end = os.pipe()
        widen_pipe(write_end)
        proc = popen(cmd, read_end, spawn)
        os.close(read_end)
        if not target.required:
            os.set_blocking(write_end, False)  # waited on with select, see Copier.drop_after
        procs.append(proc)
        outputs.append(Output(target.connector.name, write_end, target.required, proc))
    return procs, outputs


def _read_target_states(
    stdout: IO[bytes],
    integration: Integration,
    target: Target,
    store: StateBackend,
    run_id: str | None,
    order: StateOrder,
    result: AttemptResult,
    sink: Sink,
    *,
    touch: Callable[[], None],
    quiet: Sink | None = None,
) -> None:
    """Save each state `target` commits under its own key, and the integration's (the oldest
    committed) when it moves. `quiet`: where an empty state is said while the target has no
    state it could replace (tapwell.runner.processes.committed_state)."""
    name = target.connector.name
    key = target.state_key or integration.name
    figures = result.targets.setdefault(name, {"required": target.required, "states_saved": 0})
    for lines in line_bursts(stdout):  # a burst of states: the last saved, each placed
        touch()
        alone = None if key in result.target_states else quiet  # after a good one it is news
        values = [v for raw in lines if (v := committed_state(raw, sink, name, alone)) is not None]
        if not values:
            continue
        try:
            store.put(key, values[-1], run_id=run_id)
        except ConfigError as exc:
            sink(f"[tapwell] state of {name} not saved: {exc}")
            continue
        figures["states_saved"] += len(values)
        if integration.alone is not None:  # its state is the run's (run.success_line)
            result.states_saved += len(values)
        result.target_states[key] = values[-1]
        placed = [order.commit(name, value) for value in values]
        if not all(placed):
            sink(
                f"[tapwell] {name} committed a state the tap never wrote: kept for it, not for the integration"
            )
        if any(placed) and integration.alone is None:
            _save_oldest(store, integration.name, order, result, run_id, sink)


_SAVE_LOCK = threading.Lock()


def _save_oldest(
    store: StateBackend,
    name: str,
    order: StateOrder,
    result: AttemptResult,
    run_id: str | None,
    sink: Sink,
) -> None:
    with _SAVE_LOCK:
        oldest = order.oldest()
        if not oldest or oldest == result.last_state:
            return
        try:
            store.put(name, oldest, run_id=run_id)
        except ConfigError as exc:
            sink(f"[tapwell] state not saved: {exc}")
            return
        result.last_state = oldest
        result.states_saved += 1


def _summarize(
    result: AttemptResult,
    integration: Integration,
    targets: list[Target],
    codes: list[int],
    outputs: list[Output],
    order: StateOrder,
    metrics: Metrics,
    copier: Copier,
    sink: Sink,
) -> None:
    """Exit codes, rows, lag and backpressure per target into the result, and a line each into
    `sink` (the run log: a target's failure reaches the terminal in the run's own lines)."""
    for target, code, out in zip(targets, codes, outputs, strict=True):
        name = target.connector.name
        figures = result.targets.setdefault(name, {"required": target.required, "states_saved": 0})
        rows = metrics.rows_of(name)
        figures.update(
            exit_code=code,
            rows=rows if figures["states_saved"] or code == 0 else {},
            waited_seconds=round(out.waited, 3),
            bytes=out.written,
            behind=order.lag(name),
            most_behind_states=order.max_behind.get(name, 0),
        )
        if code != 0 and target.required and result.target_code == 0:
            result.target_code, result.target_name = code, name
        lag = figures["behind"]
        line = (
            f"[tapwell] target {name}: exit {code}, {sum(rows.values()):,} rows, "
            f"kept the copy waiting {out.waited:.1f}s"
        )
        if code != 0 and not target.required:
            line += (
                f"; not required: the run goes on without it, {lag['states']} STATE message(s) "
                f"({lag['seconds']:g}s) behind; it resumes from its own state next run"
            )
        sink(line)
    primary = next((t.connector.name for t in targets if t.required), targets[0].connector.name)
    result.rows = result.targets[primary]["rows"]
    result.sent = metrics.sent()
    if integration.alone is not None:
        result.last_state = None  # only the target's own key is saved (tapwell.runner.run)
    runner_cpu = copier.cpu
    sink(
        f"[tapwell] fan-out copied {copier.copied / 1e6:,.1f} MB to {len(outputs)} targets "
        f"using {runner_cpu:.2f}s of the runner's CPU"
    )
    result.targets["_copy"] = {"bytes": copier.copied, "cpu_seconds": round(runner_cpu, 3)}
