"""One attempt of an integration: tap | target through an OS pipe, state in and out.

Records never pass through this process: the tap's stdout is the target's stdin. The runner
reads the target's stdout, where each line is a state the target has committed, and saves the
last of the lines each read of that pipe gives as soon as it has them (a burst of states the
target printed while the runner was saving the one before costs one save, one fsync pair, not
one each); it never waits for more, so a crash at any point leaves the last state it read saved
or the one before that burst, and the saved state is never ahead of what the target committed. Both stderr
streams go to the run log with a `[name]` prefix; their METRIC lines feed the progress line.
A watchdog kills both processes when nothing moves for `stall_timeout` seconds. The connectors
die with the runner and hold its lock until they are gone (tapwell.runner.guard).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from tapwell.runner import fast_lane
from tapwell.runner.guard import run_dir
from tapwell.runner.metrics import Metrics
from tapwell.runner.probe import PROBE_TIMEOUT, cached_probe
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
from tapwell.runner.project import Connector, Integration, Project, Target
from tapwell.runner.selection import apply_selection, check_something_selected
from tapwell.runner.statestore import StateBackend
from tapwell.sdk.pipes import widen_pipe
from tapwell.singer.catalog import load_catalog
from tapwell.singer.config import redact
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import dumps

SAVED_STATE_ENV = "TAPWELL_SAVED_STATE"  # where a tap finds the state the runner last saved

# what the rest of the runner imports from here (validate, recover, serve.live)
__all__ = ["AttemptResult", "Metrics", "Sink", "resolve_command", "run_attempt", "write_private"]


@dataclass
class AttemptResult:
    tap_code: int
    target_code: int
    states_saved: int = 0
    last_state: dict[str, Any] | None = None
    stalled: bool = False
    rows: dict[str, int] = field(default_factory=dict)  # loaded, as the target reports it
    sent: dict[str, int] = field(default_factory=dict)  # as the tap reports it
    source_name: str | None = None  # the mapper that failed, when tap_code is a mapper's
    # the runner stopped the tap (or that mapper) after a target failed: tap_code is no cause
    source_stopped: bool = False
    target_name: str | None = None  # the required target that failed (fan-out)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # fan-out: per target
    # fan-out: the last state each target committed, by its state key (NAME@TARGET)
    target_states: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.tap_code == 0 and self.target_code == 0 and not self.stalled


def prepared_catalog(project: Project, integration: Integration) -> dict[str, Any] | None:
    """catalogs/NAME.json with tapwell.yml's selection and stream overrides applied; a
    ConfigError when they leave no stream to sync (selection.check_something_selected)."""
    path = project.catalog_path(integration.name)
    if not path.exists():
        if integration.select or integration.stream_overrides:
            raise ConfigError(
                f"{path} does not exist: run `tapwell discover {integration.name}` first"
            )
        return None
    catalog = apply_selection(
        load_catalog(path).to_dict(), integration.select, integration.stream_overrides
    )
    check_something_selected(catalog, integration.select, str(path), integration.name)
    return catalog


def target_config(integration: Integration, target: Target | None = None) -> dict[str, Any]:
    """A target's config as given (default: the integration's first), except that our
    state-keeping targets get a `state_id` when none is set: the integration's name, or of a
    fan-out target NAME@TARGET, so the state row in the destination is this one's alone and can
    be recovered (tapwell.runner.recover), even with two of them writing to one database."""
    from tapwell.runner.project import is_ours

    target = target or integration.targets[0]
    config = target.connector.config
    if is_ours(target.connector) and not config.get("state_id"):
        return {**config, "state_id": target.state_key or integration.name}
    return config


def catalog_flag(
    project: Project, tap: Connector, argv: list[str], say: Callable[[str], None] | None = None
) -> str:
    """`--catalog` or `--properties` (older singer-io taps know only the latter): as tapwell.yml
    says (`tap: {catalog_flag: ...}`), else as the capabilities in the tap's `--about` say
    (`catalog` or `properties`, as Meltano reads them; the fast lane has asked it already), else
    read from the tap's `--help` once and cached in .tapwell/catalog_flags.json, keyed by the
    command and its version (tapwell.runner.probe). When it cannot be asked (a tap that runs a
    sync on `--help` until the probe's timeout), `say` hears one line with the setting that
    spares every next run that wait."""
    if tap.catalog_flag in ("--catalog", "--properties"):
        return tap.catalog_flag
    capabilities = fast_lane.about(project.root, argv).get("capabilities")
    for capability in ("catalog", "properties"):
        if isinstance(capabilities, list) and capability in capabilities:
            return f"--{capability}"
    flags = ("--catalog", "--properties")
    found = cached_probe(
        project.root, "catalog_flags.json", argv, "--help", _flag_in_help, lambda v: v in flags
    )
    if found in flags:
        return str(found)
    if say is not None:  # could not ask: the next run asks again
        say(
            f"[tapwell] {tap.name} --help gave no answer within {PROBE_TIMEOUT}s (nor does its "
            "--about list catalog or properties): passing --catalog; set catalog_flag: --catalog "
            "(or --properties) on the tap in tapwell.yml to skip asking"
        )
    return "--catalog"


def _flag_in_help(done: subprocess.CompletedProcess[bytes]) -> str:
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    return "--properties" if "--properties" in text and "--catalog" not in text else "--catalog"


def tap_command(
    project: Project,
    integration: Integration,
    tap_argv: list[str],
    config: dict[str, Any],
    state: dict[str, Any] | None,
    tmp: str,
    say: Callable[[str], None] | None = None,
    catalog: dict[str, Any] | None = None,
) -> list[str]:
    """The tap's command line: its config, the prepared catalog (with the flag it knows; given,
    or prepared here) and the state to start from, each a private file in `tmp`."""
    cmd = [*tap_argv, "--config", write_private(tmp, "tap.json", config)]
    if catalog is None:
        catalog = prepared_catalog(project, integration)
    if catalog is not None:
        flag = catalog_flag(project, integration.tap, tap_argv, say)
        cmd += [flag, write_private(tmp, "catalog.json", catalog)]
    if state:
        cmd += ["--state", write_private(tmp, "state.json", state)]
    return cmd


def run_attempt(
    project: Project,
    integration: Integration,
    store: StateBackend,
    state: dict[str, Any] | None,
    settings: AttemptSettings,
) -> AttemptResult:
    """Run tap | target once, from `state`, as `settings` say (AttemptSettings). Never raises
    for a connector's failure: the exit codes say it."""
    sink, run_id = settings.sink, settings.run_id
    tap_argv = resolve_command(integration.tap, project.root, integration.name)
    target_argv = resolve_command(integration.target, project.root, integration.name)
    metrics = Metrics()
    spawn = spawn_settings(project, settings.lock)
    tmp = run_dir()
    spool = None
    # The state as last saved, rewritten after each save: a CDC tap confirms to its server only
    # what this file covers (tap-postgres reads it; see its README, "Acknowledgement").
    saved_state = os.path.join(tmp, "saved-state.json")
    spawn["env"] = {**(spawn.get("env") or os.environ), SAVED_STATE_ENV: saved_state}
    try:
        tap_conf, target_conf, spool = fast_lane.prepare(
            integration.name,
            integration.raw,
            project.state_dir,
            project.root,
            tap_argv,
            target_argv,
            integration.tap.config,
            target_config(integration),
        )
        if spool is not None:
            fmt = tap_conf["batch_config"]["encoding"]["format"]
            (settings.record or sink)(f"[tapwell] fast lane: {fmt} BATCH files through {spool}")
        tap_cmd = tap_command(
            project, integration, tap_argv, tap_conf, state, tmp, sink, settings.catalog
        )
        target_cmd = [
            *target_argv,
            "--config",
            write_private(tmp, "target.json", target_conf),
        ]

        sources = start_sources(integration, tap_cmd, tmp, spawn)
        target = popen(target_cmd, sources.stdout, spawn)
        sources.announce(settings.on_spawn)
        if settings.on_spawn is not None:
            settings.on_spawn("target", target.pid)
        assert target.stdout is not None
        widen_pipe(sources.stdout)  # see tapwell.sdk.pipes
        sources.stdout.close()  # the target holds the read end now; the tap gets SIGPIPE if it dies
        result = AttemptResult(0, 0)
        threads = Supervisor(integration.name, settings, metrics, result)
        sources.log_stderr(threads)
        threads.log_stderr(target, "target", integration.target.name)
        threads.watch([*(p for _, p in sources.procs), target])
        try:
            _read_states(
                target.stdout,
                integration.name,
                store,
                run_id,
                result,
                sink,
                threads,
                saved_state,
                quiet=None if state else settings.record,  # no state to lose: {} is no news
                committed=(metrics.rows, settings.on_commit) if settings.on_commit else None,
            )
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM from a CronJob deadline) or a backend failure: the
            # connectors run in their own sessions, so nobody else would stop them.
            sources.kill()
            kill(target)
            raise
        finally:
            result.target_code = target.wait()
            if result.target_code != 0:
                # a dead target cannot take more input; do not let the tap wait on a full pipe
                sources.kill()
            result.tap_code, result.source_name, result.source_stopped = sources.codes()
            threads.stop()
        result.sent = metrics.sent()
        # rows the target committed: none when it saved no state and failed
        result.rows = metrics.rows() if result.states_saved or result.ok else {}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        fast_lane.remove(spool)
    return result


def _read_states(
    stdout: IO[bytes],
    name: str,
    store: StateBackend,
    run_id: str | None,
    result: AttemptResult,
    sink: Sink,
    threads: Supervisor,
    saved_state: str | None = None,
    quiet: Sink | None = None,
    committed: tuple[Callable[[], dict[str, int]], Callable[[dict[str, int]], None]] | None = None,
) -> None:
    """Save each burst's last state; `committed`: (the target's row counts now, told them after
    a save), so an interrupted run keeps the rows its last saved state confirmed."""
    for lines in line_bursts(stdout):
        threads.touch()
        # counted as the state arrives: a METRIC line read later may be of rows loaded after it
        rows = committed[0]() if committed else None
        alone = None if result.last_state else quiet  # an empty state after a good one is news
        values = [v for raw in lines if (v := committed_state(raw, sink, quiet=alone)) is not None]
        if not values:
            continue
        value = values[-1]  # the target committed every state before it too
        try:
            store.put(name, value, run_id=run_id)
        except ConfigError as exc:
            sink(f"[tapwell] state not saved: {exc}")
            continue
        result.last_state = value
        result.states_saved += len(values)
        if saved_state:
            _publish_saved(saved_state, value)
        if committed and rows is not None:
            committed[1](rows)


def line_bursts(stdout: IO[bytes], size: int = 1 << 16) -> Iterator[list[bytes]]:
    """The lines of `stdout` in the groups they arrived in: every whole line one read of the pipe
    gave (read1 blocks only while nothing has come), the last line of all maybe without its
    newline."""
    read = getattr(stdout, "read1", None) or stdout.read
    carry = b""
    while chunk := read(size):
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            yield data[:cut].splitlines(keepends=True)
    if carry:
        yield [carry]


def _publish_saved(path: str, value: Any) -> None:
    """Replace `path` with the state just saved, atomically (a reader never sees half a file)."""
    part = path + ".part"
    try:
        with open(part, "wb") as f:
            f.write(dumps(value))
        os.replace(part, path)
    except OSError:
        pass  # the folder is gone: the run is ending


def redacting_sink(
    secrets: list[str], lines: list[str], log: Sink | None, lock: threading.Lock | None = None
) -> Sink:
    """A sink that appends each line, secrets masked, to `lines` (the run log) and hands it to
    `log`. Sinks into the same `lines` share a `lock`, so their lines keep their order."""
    lock = lock or threading.Lock()

    def sink(line: str) -> None:
        line = redact(line, secrets)
        with lock:
            lines.append(line)
            if log is not None:
                log(line)

    return sink
