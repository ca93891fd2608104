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
import time
from collections.abc import Callable
from typing import IO, Any

from tapwell.runner.attempt import (
    AttemptResult,
    Metrics,
    Sink,
    _kill,
    _pump,
    _watch,
    catalog_flag,
    prepared_catalog,
    resolve_command,
    start_sources,
    target_config,
    write_private,
)
from tapwell.runner.fanout_copy import Copier, Output, StateOrder
from tapwell.runner.guard import dies_with_runner, guarded_env, run_dir
from tapwell.runner.lock import RunLock
from tapwell.runner.project import Integration, Project, Target
from tapwell.runner.statestore import StateBackend, state_problem
from tapwell.sdk.pipes import widen_pipe
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import loads


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
    *,
    state: dict[str, Any] | None,
    run_id: str | None,
    sink: Sink,
    progress: Sink | None = None,
    stall_timeout: float | None = None,
    progress_every: float = 10.0,
    lock: RunLock | None = None,
    on_spawn: Callable[[str, int], None] | None = None,
) -> AttemptResult:
    """tap [| mappers] into every target of `targets:` at once. Never raises for a connector's
    failure. `result.last_state` is the integration's resume state (the oldest committed);
    with `integration.alone` (one target run alone) only that target's state is saved.
    `on_spawn(role, pid)` hears of each process started (tap, mapper:NAME, target:NAME)."""
    catalog = prepared_catalog(project, integration)
    targets = integration.targets
    last_activity = [time.monotonic()]

    def touch() -> None:
        last_activity[0] = time.monotonic()

    spawn: dict[str, Any] = {"cwd": project.root, "start_new_session": True}
    if lock is not None:
        spawn.update(env=guarded_env(lock.token), pass_fds=lock.inherit_fds())
    order = StateOrder(state, [t.connector.name for t in targets])
    metrics = FanoutMetrics(order)
    result = AttemptResult(0, 0)
    tmp = run_dir()
    try:
        tap_argv = resolve_command(integration.tap)
        argvs = [resolve_command(t.connector) for t in targets]
        tap_cmd = [*tap_argv, "--config", write_private(tmp, "tap.json", integration.tap.config)]
        if catalog is not None:
            flag = catalog_flag(project, integration.tap, tap_argv)
            tap_cmd += [flag, write_private(tmp, "catalog.json", catalog)]
        if state:
            tap_cmd += ["--state", write_private(tmp, "state.json", state)]
        sources = start_sources(integration, tap_cmd, tmp, spawn)
        procs, outputs = _start_targets(integration, argvs, tmp, spawn)
        if on_spawn is not None:
            on_spawn("tap", sources.procs[0][1].pid)
            for name, proc in sources.procs[1:]:
                on_spawn(f"mapper:{name}", proc.pid)
            for out in outputs:
                assert out.proc is not None
                on_spawn(f"target:{out.name}", out.proc.pid)
        metrics.outputs = outputs
        widen_pipe(sources.stdout)
        copier = Copier(sources.stdout.fileno(), outputs, order, sink)
        if stall_timeout is not None:
            copier.drop_after = max(stall_timeout / 2, 1.0)
        threads = [threading.Thread(target=copier.run, daemon=True, name="fanout-copy")]
        for name, proc in sources.procs:
            role = "tap" if proc is sources.procs[0][1] else "mapper"
            threads.append(
                threading.Thread(
                    target=_pump,
                    args=(proc.stderr, role, f"[{name}]", sink, metrics, touch),
                    daemon=True,
                )
            )
        readers = []
        for target, proc in zip(targets, procs, strict=True):
            name = target.connector.name
            threads.append(
                threading.Thread(
                    target=_pump,
                    args=(proc.stderr, name, f"[{name}]", sink, metrics, touch),
                    daemon=True,
                )
            )
            reader = threading.Thread(
                target=_read_target_states,
                args=(proc.stdout, integration, target, store, run_id, order, result, sink, touch),
                daemon=True,
            )
            readers.append(reader)
        for t in [*threads, *readers]:
            t.start()
        done = threading.Event()
        watchdog = threading.Thread(
            target=_watch,
            daemon=True,
            args=(
                done,
                [*(p for _, p in sources.procs), *procs],
                last_activity,
                stall_timeout,
                result,
                sink,
                progress,
                metrics,
                integration.name,
                progress_every,
            ),
        )
        watchdog.start()
        try:
            threads[0].join()  # the copy ends at the source's end, or when a required target broke
            if copier.failed_required is not None:
                sources.kill()
            codes = [p.wait() for p in procs]
            for r in readers:
                r.join()
        except BaseException:
            sources.kill()
            for p in procs:
                _kill(p)
            raise
        finally:
            codes = [p.wait() for p in procs]
            failed = [t for t, c in zip(targets, codes, strict=True) if c != 0 and t.required]
            if failed:
                sources.kill()
            result.tap_code, result.source_name = sources.codes()
            sources.stdout.close()
            done.set()
            watchdog.join()
            for t in threads[1:]:
                t.join(timeout=5)
        _summarize(result, integration, targets, codes, outputs, order, metrics, copier, sink)
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
        proc = subprocess.Popen(
            dies_with_runner(cmd),
            stdin=read_end,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **spawn,
        )
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
    touch: Any,
) -> None:
    name = target.connector.name
    key = target.state_key or integration.name
    figures = result.targets.setdefault(name, {"required": target.required, "states_saved": 0})
    for raw in stdout:
        touch()
        if not raw.strip():
            continue
        try:
            value = loads(raw)
        except ValueError:
            sink(f"[tapwell] ignored a line of {name} that is not JSON: {raw[:80]!r}")
            continue
        if isinstance(value, dict) and value.get("type") == "STATE" and "value" in value:
            value = value["value"]
        problem = state_problem(value)
        if problem or not value:
            sink(
                f"[tapwell] ignored a state line of {name} ({problem or 'an empty state'}): {raw[:80]!r}"
            )
            continue
        try:
            store.put(key, value, run_id=run_id)
        except ConfigError as exc:
            sink(f"[tapwell] state of {name} not saved: {exc}")
            continue
        figures["states_saved"] += 1
        result.target_states[key] = value
        if not order.commit(name, value):
            sink(
                f"[tapwell] {name} committed a state the tap never wrote: kept for it, not for the integration"
            )
            continue
        if integration.alone is None:
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
    """Exit codes, rows, lag and backpressure per target into the result, and a line each."""
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
