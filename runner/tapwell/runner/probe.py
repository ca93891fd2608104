"""Ask a connector something once per version: `ARGV OPTION` (`--about`, `--help`) is run the
first time, and what the caller reads from its output is kept in a JSON file under .tapwell/,
keyed by the command and the modification times of its files (a reinstalled connector is asked
again). The fast lane's negotiation and state recovery read `--about` (capabilities.json), a run
reads which catalog flag an older tap takes from `--help` (catalog_flags.json)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tapwell.runner.statestore import atomic_write

PROBE_TIMEOUT = 30  # seconds


def cached_probe(
    root: Path,
    file: str,
    argv: list[str],
    option: str,
    read: Callable[[subprocess.CompletedProcess[bytes]], Any],
    valid: Callable[[Any], bool],
) -> Any:
    """What `read` makes of `ARGV OPTION`'s output, from .tapwell/FILE when a `valid` answer is
    kept there for this command and version; None, and nothing kept, when the command could not
    be run (missing, timed out): the next call asks again."""
    return cached_probes(root, file, [argv], option, read, valid)[0]


def cached_probes(
    root: Path,
    file: str,
    argvs: list[list[str]],
    option: str,
    read: Callable[[subprocess.CompletedProcess[bytes]], Any],
    valid: Callable[[Any], bool],
) -> list[Any]:
    """cached_probe of several commands, those not kept asked at the same time: each is a Python
    start-up of a connector (about 0.1 s), and the tap's and the target's `--about` before a first
    run were a fifth of a 300,000-row load."""
    keys = [orjson.dumps(_stamp(argv)).decode() for argv in argvs]
    cache_path = root / ".tapwell" / file
    try:
        cache = orjson.loads(cache_path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        cache = {}
    if not isinstance(cache, dict):
        cache = {}
    answers = [cache[k] if k in cache and valid(cache[k]) else None for k in keys]
    asking = {
        i: _start([*argv, option], root)
        for i, (argv, key) in enumerate(zip(argvs, keys, strict=True))
        if not (key in cache and valid(cache[key]))
    }
    deadline, heard = time.monotonic() + PROBE_TIMEOUT, False
    for i, proc in asking.items():
        done = _finish(proc, deadline)
        if done is not None:
            answers[i] = cache[keys[i]] = read(done)
            heard = True
    if heard:
        keep(cache_path, orjson.dumps(cache, option=orjson.OPT_INDENT_2))
    return answers


def keep(path: Path, data: bytes) -> None:
    """Write a cache file under .tapwell/ whole or not at all (a reader never sees half of it),
    without fsync: a cache lost in a crash is asked again, and a first run waited 10-20 ms for
    each fsync on a busy disk. A folder that cannot be written keeps nothing."""
    with contextlib.suppress(OSError):
        atomic_write(path, data, 0o644, durable=False)


def _stamp(argv: list[str]) -> list[Any]:
    """The cache key of a command: itself and the modification times of its files."""
    return [argv, [os.stat(a).st_mtime_ns for a in argv if os.path.isfile(a)]]


def _start(cmd: list[str], root: Path) -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=root
        )
    except OSError:
        return None


def _finish(
    proc: subprocess.Popen[bytes] | None, deadline: float
) -> subprocess.CompletedProcess[bytes] | None:
    """The probe's output once it has ended; None (killed) when it outlived the deadline."""
    if proc is None:
        return None
    try:
        out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
