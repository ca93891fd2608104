"""Run a connector under test: feed stdin, read stdout line by line, keep stderr, enforce a timeout."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tapwell.singer.errors import ConfigError


@dataclass
class Outcome:
    command: list[str]
    returncode: int
    stdout_lines: int
    stderr: str
    timed_out: bool = False

    def last_error_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1].strip()[:300] if lines else "(nothing on stderr)"

    @property
    def has_traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr


def run(
    command: Sequence[str],
    on_line: Callable[[int, bytes], None],
    *,
    stdin: bytes | None = None,
    timeout: float = 300.0,
    cwd: str | None = None,
) -> Outcome:
    """Run `command`, calling `on_line(line_no, line)` for every stdout line as it arrives (a tap's
    output is never held in memory whole). stderr goes to a temporary file, so neither pipe can fill
    up and block the process."""
    cmd = list(command)
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                cwd=cwd,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise ConfigError(cannot_run(cmd[0], exc)) from None
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        feeder = None
        if stdin is not None:
            feeder = threading.Thread(target=_feed, args=(proc, stdin), daemon=True)
            feeder.start()
        count = 0
        try:
            assert proc.stdout is not None
            for count, line in enumerate(proc.stdout, 1):  # noqa: B007
                on_line(count, line)
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if feeder is not None:
            feeder.join(timeout=5)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Outcome(cmd, proc.returncode, count, stderr, timed_out.is_set())


def cannot_run(program: str, exc: OSError) -> str:
    """Why `program` could not start, and what to do: a bare name was not found on PATH, a path
    does not exist, a script's #! interpreter is gone, a file is not executable."""
    if isinstance(exc, PermissionError):
        return f"cannot run {program!r}: {exc.strerror}: make it an executable file (chmod +x)"
    if os.sep not in program:
        return f"cannot run {program!r}: {exc.strerror}; give the command's full path"
    if os.path.exists(program):
        return f"cannot run {program!r}: the interpreter its #! line names does not exist"
    return f"cannot run {program!r}: {exc.strerror}"


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the target stopped reading (it failed, or finished early): its exit code tells
