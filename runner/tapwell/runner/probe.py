"""Ask a connector something once per version: `ARGV OPTION` (`--about`, `--help`) is run the
first time, and what the caller reads from its output is kept in a JSON file under .tapwell/,
keyed by the command and the modification times of its files (a reinstalled connector is asked
again). The fast lane's negotiation and state recovery read `--about` (capabilities.json), a run
reads which catalog flag an older tap takes from `--help` (catalog_flags.json)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

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
    stamp = [argv, [os.stat(a).st_mtime_ns for a in argv if os.path.isfile(a)]]
    key = orjson.dumps(stamp).decode()
    cache_path = root / ".tapwell" / file
    try:
        cache = orjson.loads(cache_path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        cache = {}
    if not isinstance(cache, dict):
        cache = {}
    if key in cache and valid(cache[key]):
        return cache[key]
    try:
        done = subprocess.run(
            [*argv, option],
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            cwd=root,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = read(done)
    cache[key] = found
    with contextlib.suppress(OSError):
        from tapwell.runner.statestore import atomic_write

        atomic_write(cache_path, orjson.dumps(cache, option=orjson.OPT_INDENT_2), 0o644)
    return found
