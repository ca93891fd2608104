"""The processes of one attempt and the threads around them, shared by tap | target
(tapwell.runner.attempt) and the fan-out (tapwell.runner.fanout): starting the tap and its
mappers, each connector's stderr into the run log, the watchdog that kills a silent attempt, and
reading the states a target prints once it has committed them."""

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
from typing import IO, TYPE_CHECKING, Any

from tapwell.runner.guard import dies_with_runner, guarded_env
from tapwell.runner.lock import RunLock
from tapwell.runner.metrics import Metrics
from tapwell.runner.project import Connector, Integration, Project
from tapwell.runner.statestore import state_problem
from tapwell.sdk.pipes import widen_pipe
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import dumps, loads

if TYPE_CHECKING:
    from tapwell.runner.attempt import AttemptResult

Sink = Callable[[str], None]


@dataclass
class AttemptSettings:
    """How an attempt runs, whatever its shape (tap | target, or a fan-out): the run it belongs
    to, where its log lines and progress lines go, when a silent attempt is stopped, the
    integration's lock (held by the caller: the connectors inherit it, tapwell.runner.guard),
    `on_spawn(role, pid)`, told of each process started (the run's stage sampler), `record`,
    where lines for the run log alone go (default: `sink`), and `catalog`, the prepared catalog
    when the caller has it already (tapwell.runner.attempt.prepared_catalog; else each attempt
    prepares it: for 500 streams that took as long as the rest of the run's start)."""

    run_id: str | None
    sink: Sink
    progress: Sink | None = None
    stall_timeout: float | None = None
    progress_every: float = 10.0
    lock: RunLock | None = None
    on_spawn: Callable[[str, int], None] | None = None
    record: Sink | None = None  # the run log alone (figures the terminal need not show)
    catalog: dict[str, Any] | None = None
    # told, after each state the runner saved, the rows per stream the target had counted
    # then: what an interrupted run keeps as its rows (only what a STATE line confirmed)
    on_commit: Callable[[dict[str, int]], None] | None = None


# our executables and the extra of tapwell each needs (pyproject.toml's optional-dependencies)
_EXTRAS = {
    "tap-csv": "csv",
    "tap-mysql": "mysql",
    "tap-postgres": "postgres",
    "tap-rest": "rest",
    "target-jsonl": "jsonl",
    "target-duckdb": "duckdb",
    "target-postgres": "postgres",
    "mapper-stream-maps": "mapper",
}


def resolve_command(
    connector: Connector | list[str],
    root: str | os.PathLike[str] | None = None,
    integration: str | None = None,
) -> list[str]:
    """A connector's argv. A venv made by `tapwell install` is searched first, then the running
    interpreter's folder (so `tapwell run` from a virtualenv finds its taps without activating
    it), then PATH. A command given with a folder (`command: /opt/tap-x/bin/tap-x`, relative to
    the project's folder `root`) must exist and be executable, and so must the interpreter of
    its `#!` line: else a ConfigError (exit 2, never retried) that names it and the fix (the
    `tapwell install` of its `integration`, when given)."""
    command = connector if isinstance(connector, list) else connector.command
    venv = None if isinstance(connector, list) else connector.venv
    name = command[0] if isinstance(connector, list) else connector.name
    exe = command[0]
    if os.sep in exe:
        check_runnable(name, exe, root)
        return command
    if venv is not None:
        local = venv / "bin" / exe
        if not local.exists():
            fix = f"tapwell install {integration}" if integration else "tapwell install"
            raise ConfigError(f"{exe!r} is not installed in {venv}: run `{fix}`")
        check_runnable(name, str(local), root)
        return [str(local), *command[1:]]
    local = Path(sys.executable).parent / exe
    if os.access(local, os.X_OK):
        return [str(local), *command[1:]]
    if shutil.which(exe) is None:
        raise ConfigError(
            f"cannot find {exe!r}: install it ({_install_hint(exe)}) or give its full command"
        )
    return command


def _install_hint(exe: str) -> str:
    extra = _EXTRAS.get(os.path.basename(exe))
    if extra is not None:
        return f"pip install 'tapwell[{extra}]'"
    return "pip install tapwell[...], or `tapwell install`"


def check_runnable(name: str, exe: str, root: str | os.PathLike[str] | None = None) -> None:
    """ConfigError unless `exe` (relative to `root`) is a file this user may execute whose `#!`
    interpreter, if it has one, exists: what exec would refuse (exit 127 or 126 through
    setpriv, FileNotFoundError or PermissionError without it), said before anything starts."""
    path = os.path.join(root, exe) if root is not None else exe
    fix = f"install it ({_install_hint(exe)}) or correct its `command:` in tapwell.yml"
    if not os.path.exists(path):
        raise ConfigError(f"{name}: command {exe} does not exist: {fix}")
    if os.path.isdir(path):
        raise ConfigError(f"{name}: command {exe} is a folder, not a program: {fix}")
    if not os.access(path, os.X_OK):
        raise ConfigError(
            f"{name}: command {exe} is not executable: `chmod +x {exe}`, or correct its "
            "`command:` in tapwell.yml"
        )
    interpreter = _shebang(path)
    if interpreter is not None and not os.access(interpreter, os.X_OK):
        raise ConfigError(
            f"{name}: command {exe} starts with #!{interpreter}, which "
            + ("does not exist" if not os.path.exists(interpreter) else "is not executable")
            + " (a virtualenv moved or removed?): reinstall it, or correct its `command:` in "
            "tapwell.yml"
        )


def _shebang(path: str) -> str | None:
    """The interpreter of a script's `#!` line (an absolute path); None for a binary, or a file
    that cannot be read (exec then says why)."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].split()
    if not words or not words[0].startswith(b"/"):
        return None
    return os.fsdecode(words[0])


def write_private(folder: str, name: str, value: Any) -> str:
    """A JSON file only this user can read (configs hold secrets)."""
    path = os.path.join(folder, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(dumps(value))
    return path


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


# pid -> peak resident memory in bytes of a connector reaped by this process (the kernel's
# ru_maxrss from wait4): exact, where the 1 s sampler sees only the start of a short-lived stage.
_PEAKS: dict[int, int] = {}
_PEAKS_KEPT = 256


def reaped_peak_rss(pid: int) -> int | None:
    """The peak RSS (bytes) of connector `pid` once it has been reaped, else None."""
    return _PEAKS.get(pid)


class MeteredPopen(subprocess.Popen[bytes]):
    """Popen that reaps its child with os.wait4 (not waitpid) and keeps the child's peak RSS
    (ru_maxrss, KiB on Linux) for reaped_peak_rss: after the reaping /proc/PID is gone."""

    def _wait4(self, pid: int, flags: int) -> tuple[int, int]:
        got, status, usage = os.wait4(pid, flags)
        if got == pid and got != 0:
            _PEAKS[got] = usage.ru_maxrss * 1024
            while len(_PEAKS) > _PEAKS_KEPT:
                del _PEAKS[next(iter(_PEAKS))]
        return got, status

    def _internal_poll(self, _deadstate: Any = None, **_: Any) -> int | None:
        return super()._internal_poll(_deadstate, _waitpid=self._wait4)  # type: ignore[misc]

    def _try_wait(self, wait_flags: int) -> tuple[int, int]:
        try:
            return self._wait4(self.pid, wait_flags)
        except ChildProcessError:  # as Popen's own: waiting is disabled, the status is unknown
            return self.pid, 0


def popen(cmd: list[str], stdin: Any, spawn: dict[str, Any]) -> subprocess.Popen[bytes]:
    """Start a connector reading `stdin`, its stdout and stderr piped to the runner; it dies
    with the runner (tapwell.runner.guard)."""
    return MeteredPopen(
        dies_with_runner(cmd), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **spawn
    )


def kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Sources:
    """The tap and the mappers after it, each reading the one before; `stdout` is the last one's
    output (what the target or the fan-out reads)."""

    procs: list[tuple[str, subprocess.Popen[bytes]]]
    stdout: IO[bytes]
    stopped: set[int] = field(default_factory=set)  # pids the runner killed (see kill)

    def codes(self) -> tuple[int, str | None, bool]:
        """The tap's exit code, or a failed mapper's with its name: a mapper that dies takes
        the processes before it down with a broken pipe, so the last failed mapper is the
        cause (a tap that fails ends its mappers' input, and they exit 0). Third: whether the
        runner stopped that process itself (after the target died), so its code is no cause."""
        (_, tap), *mappers = self.procs
        code = tap.wait()
        failed = [(proc.wait(), name, proc.pid) for name, proc in mappers]
        for mcode, name, pid in reversed(failed):
            if mcode != 0:
                return mcode, name, pid in self.stopped
        return code, None, tap.pid in self.stopped

    def announce(self, on_spawn: Callable[[str, int], None] | None) -> None:
        """Tell `on_spawn` (the run's stage sampler) of the tap and of each mapper."""
        if on_spawn is not None:
            on_spawn("tap", self.procs[0][1].pid)
            for name, proc in self.procs[1:]:
                on_spawn(f"mapper:{name}", proc.pid)

    def log_stderr(self, supervisor: Supervisor) -> None:
        """The tap's and every mapper's stderr into the run log."""
        for i, (name, proc) in enumerate(self.procs):
            supervisor.log_stderr(proc, "tap" if i == 0 else "mapper", name)

    def kill(self) -> None:
        """Stop those still running (an exit code already there is their own)."""
        for _, proc in self.procs:
            if proc.poll() is None:
                self.stopped.add(proc.pid)
                kill(proc)


def start_sources(
    integration: Integration, tap_cmd: list[str], tmp: str, spawn: dict[str, Any]
) -> Sources:
    """Start the tap, then each mapper reading the previous process's stdout through an OS pipe
    (the runner holds no end of it: records never pass through here). Every mapper's command is
    checked before the tap starts (resolve_command: a missing one is a ConfigError)."""
    mapper_argvs = [
        resolve_command(mapper, spawn.get("cwd"), integration.name)
        for mapper in integration.mappers
    ]
    tap = popen(tap_cmd, subprocess.DEVNULL, spawn)
    procs = [(integration.tap.name, tap)]
    out = tap.stdout
    assert out is not None
    for i, (mapper, argv) in enumerate(zip(integration.mappers, mapper_argvs, strict=True)):
        cmd = [*argv, "--config", write_private(tmp, f"mapper{i}.json", mapper.config)]
        widen_pipe(out)
        proc = popen(cmd, out, spawn)
        out.close()
        assert proc.stdout is not None
        procs.append((mapper.name, proc))
        out = proc.stdout
    return Sources(procs, out)


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
                kill(proc)
            return


def spawn_settings(project: Project, lock: RunLock | None) -> dict[str, Any]:
    """Popen settings of every connector: the project's folder, a session of its own, and with
    `lock` (the integration's, held by the caller) the lock inherited with its guard token, so no
    later run can start beside them (tapwell.runner.guard)."""
    spawn: dict[str, Any] = {"cwd": project.root, "start_new_session": True}
    if lock is not None:
        spawn.update(env=guarded_env(lock.token), pass_fds=lock.inherit_fds())
    return spawn


def committed_state(
    raw: bytes, sink: Sink, who: str | None = None, quiet: Sink | None = None
) -> dict[str, Any] | None:
    """The state in one line a target printed after a commit (its value alone, or a whole STATE
    message); None, said on `sink`, for a line that is no state or an empty or malformed one,
    which never replaces the saved state. `who`: the target's name, of a fan-out. `quiet`: where
    an empty state is said instead, when there is no saved state it could have replaced (what a
    tap with nothing to sync sends: `{}`)."""
    if not raw.strip():
        return None
    text = raw[:80].decode("utf-8", "replace").strip()
    try:
        value = loads(raw)  # exact: a bookmark may hold a 30-digit decimal
    except ValueError:
        what = f"a line of {who}" if who else "a target output line"
        sink(f"[tapwell] ignored {what} that is not JSON: {text}")
        return None
    if isinstance(value, dict) and value.get("type") == "STATE" and "value" in value:
        value = value["value"]  # some targets print the whole message
    problem = state_problem(value)
    if problem or not value:
        what = f"a state line of {who}" if who else "a target state line"
        say = quiet if quiet is not None and not problem else sink
        say(f"[tapwell] ignored {what} ({problem or 'an empty state'}): {text}")
        return None
    assert isinstance(value, dict)
    return value


class Supervisor:
    """The threads around an attempt's processes: one per stderr stream into the run log (their
    METRIC lines feed `metrics`), and a watchdog that prints the progress lines and kills every
    process when nothing has moved for `stall_timeout` seconds."""

    def __init__(
        self, name: str, settings: AttemptSettings, metrics: Metrics, result: AttemptResult
    ) -> None:
        self.name, self.sink, self.metrics, self.result = name, settings.sink, metrics, result
        self.progress, self.progress_every = settings.progress, settings.progress_every
        self.stall_timeout = settings.stall_timeout
        self.last_activity = [time.monotonic()]
        self.threads: list[threading.Thread] = []
        self.done = threading.Event()
        self.watchdog: threading.Thread | None = None

    def touch(self) -> None:
        """Something moved (a line on a stderr or a state): the attempt is not stalled."""
        self.last_activity[0] = time.monotonic()

    def log_stderr(self, proc: subprocess.Popen[bytes], role: str, name: str) -> None:
        """`[name] line` for each line of the process's stderr, read on a thread of its own."""
        assert proc.stderr is not None
        thread = threading.Thread(
            target=_pump,
            args=(proc.stderr, role, f"[{name}]", self.sink, self.metrics, self.touch),
            daemon=True,
        )
        thread.start()
        self.threads.append(thread)

    def watch(self, procs: list[subprocess.Popen[bytes]]) -> None:
        self.watchdog = threading.Thread(
            target=_watch,
            daemon=True,
            args=(
                self.done,
                procs,
                self.last_activity,
                self.stall_timeout,
                self.result,
                self.sink,
                self.progress,
                self.metrics,
                self.name,
                self.progress_every,
            ),
        )
        self.watchdog.start()

    def stop(self) -> None:
        """End the watchdog, and give the stderr readers a moment to finish their lines."""
        self.done.set()
        if self.watchdog is not None:
            self.watchdog.join()
        for t in self.threads:
            t.join(timeout=5)
