"""Running a pipeline of processes joined by OS pipes and measuring each one: wall seconds for
the whole, and per process its exit code, CPU seconds (user + sys) and peak RSS, read from
os.wait4 of that very process (so a tap's figures are the tap's, not the harness's)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Step:
    """One process of a pipeline."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    cwd: str | None = None


@dataclass
class ProcStat:
    name: str
    exit_code: int
    user_s: float
    sys_s: float
    max_rss_mb: float

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "exit_code": self.exit_code,
            "cpu_s": round(self.cpu_s, 3),
            "user_s": round(self.user_s, 3),
            "sys_s": round(self.sys_s, 3),
            "max_rss_mb": round(self.max_rss_mb, 1),
        }


@dataclass
class Timing:
    wall_s: float
    procs: list[ProcStat] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False
    server_cpu_s: dict[str, float] = field(default_factory=dict)  # filled by the harness

    @property
    def ok(self) -> bool:
        return self.error is None and all(p.exit_code == 0 for p in self.procs)

    @property
    def cpu_s(self) -> float:
        return sum(p.cpu_s for p in self.procs)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def run_pipeline(
    steps: list[Step],
    log_dir: Path,
    *,
    stdin: Path | None = None,
    stdout: Path | None = None,
    timeout: float = 3600.0,
) -> Timing:
    """Run `steps` as `a | b | ...` (stdin from a file or /dev/null, the last stdout to a file
    or /dev/null, each stderr to log_dir/<name>.log) and measure them."""
    log_dir.mkdir(parents=True, exist_ok=True)
    logs = [log_dir / f"{s.name}.log" for s in steps]
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as files:  # our copies close once the children hold theirs
        first_in = files.enter_context(open(stdin or os.devnull, "rb"))
        last_out = files.enter_context(open(stdout or os.devnull, "wb"))
        prev: Any = first_in
        start = time.monotonic()
        for i, (step, log) in enumerate(zip(steps, logs, strict=True)):
            out: Any = last_out if i == len(steps) - 1 else subprocess.PIPE
            with log.open("wb") as err:
                env = {**os.environ, **step.env} if step.env else None
                try:
                    p = subprocess.Popen(
                        step.argv, stdin=prev, stdout=out, stderr=err, env=env, cwd=step.cwd
                    )
                except OSError:
                    for started in procs:  # leave no half pipeline running
                        started.kill()
                        started.wait()
                    raise
            if prev is not first_in:
                prev.close()  # the next process holds the read end now
            prev = p.stdout
            procs.append(p)
    timed_out = threading.Event()

    def kill_all() -> None:
        timed_out.set()
        for p in procs:
            if p.returncode is None:
                p.kill()

    watchdog = threading.Timer(timeout, kill_all)
    watchdog.start()
    stats: list[ProcStat] = []
    try:
        for step, p in zip(steps, procs, strict=False):
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            stats.append(
                ProcStat(
                    step.name, p.returncode, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024
                )
            )
    finally:
        watchdog.cancel()
    wall = time.monotonic() - start
    error = None
    if timed_out.is_set():
        error = f"killed after {timeout:.0f}s"
    else:
        failed = [(s, log) for s, log in zip(stats, logs, strict=True) if s.exit_code != 0]
        if failed:
            # A process that died of a broken pipe is a victim: name the one that broke it.
            causes = [(s, lg) for s, lg in failed if "broken pipe" not in _tail(lg, 20).lower()]
            stat, log = (causes or failed)[0]
            error = f"{stat.name} exited {stat.exit_code}: {_tail(log) or '(no stderr)'}"
    return Timing(wall, stats, error, timed_out.is_set())


def probe(argv: list[str], timeout: float = 120.0) -> str | None:
    """None when `argv` runs and exits 0, else why not (its last stderr line)."""
    if not Path(argv[0]).exists():
        return f"{argv[0]} does not exist"
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return f"{' '.join(argv)} did not finish in {timeout:.0f}s"
    if proc.returncode == 0:
        return None
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return f"{Path(argv[0]).name} {' '.join(argv[1:])} exited {proc.returncode}: {lines[-1] if lines else '(no output)'}"
