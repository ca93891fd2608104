"""One attempt of an integration: tap | target through an OS pipe, state in and out.

Records never pass through this process: the tap's stdout is the target's stdin. The runner
reads the target's stdout, where each line is a state the target has committed, and saves each
one as it arrives, so a crash at any point leaves the last committed state saved. Both stderr
streams go to the run log with a `[name]` prefix; their METRIC lines feed the progress line.
A watchdog kills both processes when nothing moves for `stall_timeout` seconds. The connectors
die with the runner and hold its lock until they are gone (tapwell.runner.guard).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from tapwell.runner import fast_lane
from tapwell.runner.guard import dies_with_runner, guarded_env, run_dir
from tapwell.runner.lock import RunLock
from tapwell.runner.metrics import Metrics
from tapwell.runner.project import Connector, Integration, Project, Target
from tapwell.runner.selection import apply_selection
from tapwell.runner.statestore import StateBackend, state_problem
from tapwell.sdk.pipes import widen_pipe
from tapwell.singer.catalog import load_catalog
from tapwell.singer.config import redact
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import dumps, loads

SAVED_STATE_ENV = "TAPWELL_SAVED_STATE"  # where a tap finds the state the runner last saved

Sink = Callable[[str], None]


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
    target_name: str | None = None  # the required target that failed (fan-out)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # fan-out: per target
    # fan-out: the last state each target committed, by its state key (NAME@TARGET)
    target_states: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.tap_code == 0 and self.target_code == 0 and not self.stalled


def resolve_command(connector: Connector | list[str]) -> list[str]:
    """A connector's argv. A venv made by `tapwell install` is searched first, then the running
    interpreter's folder (so `tapwell run` from a virtualenv finds its taps without activating
    it), then PATH."""
    command = connector if isinstance(connector, list) else connector.command
    venv = None if isinstance(connector, list) else connector.venv
    exe = command[0]
    if os.sep in exe:
        return command
    if venv is not None:
        local = venv / "bin" / exe
        if not local.exists():
            raise ConfigError(f"{exe!r} is not installed in {venv}: run `tapwell install` for it")
        return [str(local), *command[1:]]
    local = Path(sys.executable).parent / exe
    if local.exists():
        return [str(local), *command[1:]]
    if shutil.which(exe) is None:
        raise ConfigError(
            f"cannot find {exe!r}: install it (pip install tapwell[...], or `tapwell install`) or give its full command"
        )
    return command


def write_private(folder: str, name: str, value: Any) -> str:
    """A JSON file only this user can read (configs hold secrets)."""
    path = os.path.join(folder, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(dumps(value))
    return path


def prepared_catalog(project: Project, integration: Integration) -> dict[str, Any] | None:
    """catalogs/NAME.json with tapwell.yml's selection and stream overrides applied."""
    path = project.catalog_path(integration.name)
    if not path.exists():
        if integration.select or integration.stream_overrides:
            raise ConfigError(
                f"{path} does not exist: run `tapwell discover {integration.name}` first"
            )
        return None
    return apply_selection(
        load_catalog(path).to_dict(), integration.select, integration.stream_overrides
    )


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


def catalog_flag(project: Project, tap: Connector, argv: list[str]) -> str:
    """`--catalog` or `--properties` (older singer-io taps know only the latter): as tapwell.yml
    says (`tap: {catalog_flag: ...}`), else read from the tap's `--help` once and cached in
    .tapwell/catalog_flags.json, keyed by the command and its files' modification times."""
    if tap.catalog_flag in ("--catalog", "--properties"):
        return tap.catalog_flag
    stamp = [argv, [os.stat(a).st_mtime_ns for a in argv if os.path.isfile(a)]]
    key = orjson.dumps(stamp).decode()
    cache_path = project.root / ".tapwell" / "catalog_flags.json"
    try:
        cache = orjson.loads(cache_path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        cache = {}
    if not isinstance(cache, dict):
        cache = {}
    if cache.get(key) in ("--catalog", "--properties"):
        return str(cache[key])
    try:
        done = subprocess.run(
            [*argv, "--help"],
            capture_output=True,
            timeout=30,
            cwd=project.root,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "--catalog"  # not cached: the next run asks again
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    flag = "--properties" if "--properties" in text and "--catalog" not in text else "--catalog"
    cache[key] = flag
    with contextlib.suppress(OSError):
        from tapwell.runner.statestore import atomic_write

        atomic_write(cache_path, orjson.dumps(cache, option=orjson.OPT_INDENT_2), 0o644)
    return flag


def _pump(
    stream: IO[bytes],
    role: str,
    prefix: str,
    sink: Sink,
    metrics: Metrics,
    touch: Callable[[], None],
) -> None:
    for raw in stream:
        touch()
        line = raw.decode("utf-8", "replace").rstrip()
        metrics.feed(role, line)
        sink(f"{prefix} {line}")


def _io_bytes(pid: int) -> int:
    """Bytes the process has written (Linux /proc); lets a tap streaming silently into the pipe
    count as alive. 0 where /proc is not readable."""
    try:
        with open(f"/proc/{pid}/io", "rb") as f:
            for line in f:
                if line.startswith(b"wchar:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Sources:
    """The tap and the mappers after it, each reading the one before; `stdout` is the last one's
    output (what the target or the fan-out reads)."""

    procs: list[tuple[str, subprocess.Popen[bytes]]]
    stdout: IO[bytes]

    def codes(self) -> tuple[int, str | None]:
        """The tap's exit code, or a failed mapper's with its name: a mapper that dies takes
        the processes before it down with a broken pipe, so the last failed mapper is the
        cause (a tap that fails ends its mappers' input, and they exit 0)."""
        (_, tap), *mappers = self.procs
        code = tap.wait()
        failed = [(proc.wait(), name) for name, proc in mappers]
        for mcode, name in reversed(failed):
            if mcode != 0:
                return mcode, name
        return code, None

    def kill(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                _kill(proc)


def start_sources(
    integration: Integration, tap_cmd: list[str], tmp: str, spawn: dict[str, Any]
) -> Sources:
    """Start the tap, then each mapper reading the previous process's stdout through an OS pipe
    (the runner holds no end of it: records never pass through here)."""
    tap = subprocess.Popen(
        dies_with_runner(tap_cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **spawn,
    )
    procs = [(integration.tap.name, tap)]
    out = tap.stdout
    assert out is not None
    for i, mapper in enumerate(integration.mappers):
        cmd = [
            *resolve_command(mapper),
            "--config",
            write_private(tmp, f"mapper{i}.json", mapper.config),
        ]
        widen_pipe(out)
        proc = subprocess.Popen(
            dies_with_runner(cmd),
            stdin=out,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **spawn,
        )
        out.close()
        assert proc.stdout is not None
        procs.append((mapper.name, proc))
        out = proc.stdout
    return Sources(procs, out)


def run_attempt(
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
    """Run tap | target once. Never raises for a connector's failure: the exit codes say it.
    With `lock` (the integration's, held by the caller) the connectors inherit it and carry
    its guard token, so no later run can start beside them (tapwell.runner.guard).
    `on_spawn(role, pid)` hears of each connector started (the run's stage sampler)."""
    catalog = prepared_catalog(project, integration)
    tap_argv = resolve_command(integration.tap)
    target_argv = resolve_command(integration.target)
    metrics = Metrics()
    last_activity = [time.monotonic()]

    def touch() -> None:
        last_activity[0] = time.monotonic()

    spawn: dict[str, Any] = {"cwd": project.root, "start_new_session": True}
    if lock is not None:
        spawn.update(env=guarded_env(lock.token), pass_fds=lock.inherit_fds())
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
            sink(f"[tapwell] fast lane: {fmt} BATCH files through {spool}")
        tap_cmd = [*tap_argv, "--config", write_private(tmp, "tap.json", tap_conf)]
        if catalog is not None:
            flag = catalog_flag(project, integration.tap, tap_argv)
            tap_cmd += [flag, write_private(tmp, "catalog.json", catalog)]
        if state:
            tap_cmd += ["--state", write_private(tmp, "state.json", state)]
        target_cmd = [
            *target_argv,
            "--config",
            write_private(tmp, "target.json", target_conf),
        ]

        sources = start_sources(integration, tap_cmd, tmp, spawn)
        tap = sources.procs[0][1]
        target = subprocess.Popen(
            dies_with_runner(target_cmd),
            stdin=sources.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **spawn,
        )
        if on_spawn is not None:
            on_spawn("tap", tap.pid)
            for name, proc in sources.procs[1:]:
                on_spawn(f"mapper:{name}", proc.pid)
            on_spawn("target", target.pid)
        assert tap.stderr is not None
        assert target.stdout is not None and target.stderr is not None
        widen_pipe(sources.stdout)  # see tapwell.sdk.pipes
        sources.stdout.close()  # the target holds the read end now; the tap gets SIGPIPE if it dies
        pumps = [
            threading.Thread(
                target=_pump,
                args=(tap.stderr, "tap", f"[{integration.tap.name}]", sink, metrics, touch),
                daemon=True,
            ),
            *(
                threading.Thread(
                    target=_pump,
                    args=(proc.stderr, "mapper", f"[{name}]", sink, metrics, touch),
                    daemon=True,
                )
                for name, proc in sources.procs[1:]
            ),
            threading.Thread(
                target=_pump,
                args=(
                    target.stderr,
                    "target",
                    f"[{integration.target.name}]",
                    sink,
                    metrics,
                    touch,
                ),
                daemon=True,
            ),
        ]
        for t in pumps:
            t.start()
        result = AttemptResult(0, 0)
        done = threading.Event()
        watchdog = threading.Thread(
            target=_watch,
            daemon=True,
            args=(
                done,
                [*(p for _, p in sources.procs), target],
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
            _read_states(
                target.stdout, integration.name, store, run_id, result, sink, touch, saved_state
            )
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM from a CronJob deadline) or a backend failure: the
            # connectors run in their own sessions, so nobody else would stop them.
            sources.kill()
            _kill(target)
            raise
        finally:
            result.target_code = target.wait()
            if result.target_code != 0:
                # a dead target cannot take more input; do not let the tap wait on a full pipe
                sources.kill()
            result.tap_code, result.source_name = sources.codes()
            done.set()
            watchdog.join()
            for t in pumps:
                t.join(timeout=5)
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
    touch: Callable[[], None],
    saved_state: str | None = None,
) -> None:
    for raw in stdout:
        touch()
        if not raw.strip():
            continue
        try:
            value = loads(raw)  # exact: a bookmark may hold a 30-digit decimal
        except ValueError:
            sink(f"[tapwell] ignored a target output line that is not JSON: {raw[:80]!r}")
            continue
        if isinstance(value, dict) and value.get("type") == "STATE" and "value" in value:
            value = value["value"]  # some targets print the whole message
        problem = state_problem(value)
        if problem or not value:
            # a null, empty or malformed state never replaces the saved one
            sink(
                f"[tapwell] ignored a target state line ({problem or 'an empty state'}): {raw[:80]!r}"
            )
            continue
        try:
            store.put(name, value, run_id=run_id)
        except ConfigError as exc:
            sink(f"[tapwell] state not saved: {exc}")
            continue
        result.last_state = value
        result.states_saved += 1
        if saved_state:
            _publish_saved(saved_state, value)


def _publish_saved(path: str, value: Any) -> None:
    """Replace `path` with the state just saved, atomically (a reader never sees half a file)."""
    part = path + ".part"
    try:
        with open(part, "wb") as f:
            f.write(dumps(value))
        os.replace(part, path)
    except OSError:
        pass  # the folder is gone: the run is ending


def _watch(
    done: threading.Event,
    procs: list[subprocess.Popen[bytes]],
    last_activity: list[float],
    stall_timeout: float | None,
    result: AttemptResult,
    sink: Sink,
    progress: Sink | None,
    metrics: Metrics,
    name: str,
    progress_every: float,
) -> None:
    written = [0] * len(procs)
    next_progress = time.monotonic() + progress_every
    while not done.wait(0.25):
        now = time.monotonic()
        for i, proc in enumerate(procs):
            n = _io_bytes(proc.pid)
            if n != written[i]:
                written[i] = n
                last_activity[0] = now
        if progress is not None and now >= next_progress:
            next_progress = now + progress_every
            for line in metrics.lines(name):
                progress(line)
        if stall_timeout is not None and now - last_activity[0] > stall_timeout:
            result.stalled = True
            sink(f"[tapwell] no output for {stall_timeout:g}s: killing the tap and the target")
            for proc in procs:
                _kill(proc)
            return


def redacting_sink(secrets: list[str], lines: list[str], log: Sink | None) -> Sink:
    lock = threading.Lock()

    def sink(line: str) -> None:
        line = redact(line, secrets)
        with lock:
            lines.append(line)
            if log is not None:
                log(line)

    return sink
