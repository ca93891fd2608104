"""One run of an integration: tap | target through an OS pipe, state in and out.

Records never pass through this process: the tap's stdout is the target's stdin. The runner
reads the target's stdout, where each line is a state the target has committed, and saves each
one atomically as it arrives, so a crash at any point leaves the last committed state saved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from tapwell.config import redact, secret_values
from tapwell.errors import ConfigError, SyncError
from tapwell.project import Connector, Integration, Project
from tapwell.statestore import FileStateStore


@dataclass
class RunResult:
    tap_code: int
    target_code: int
    states_saved: int = 0
    last_state: dict[str, Any] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.tap_code == 0 and self.target_code == 0


def resolve_command(command: list[str]) -> list[str]:
    """An executable of ours is looked up beside the running interpreter first, so `tapwell run`
    from a virtualenv finds that virtualenv's taps without activating it."""
    exe = command[0]
    if os.sep not in exe:
        local = Path(sys.executable).parent / exe
        if local.exists():
            return [str(local), *command[1:]]
        if shutil.which(exe) is None:
            raise ConfigError(f"cannot find {exe!r}: install it (pip install tapwell[...]) or give its full command")
    return command


def _config_file(folder: str, role: str, config: dict[str, Any]) -> str:
    path = os.path.join(folder, f"{role}.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(config))
    return path


def _pump(stream: IO[bytes], prefix: str, sink: Callable[[str], None]) -> None:
    for raw in stream:
        sink(f"{prefix} {raw.decode('utf-8', 'replace').rstrip()}")


def run_integration(
    project: Project,
    integration: Integration,
    *,
    full_refresh: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    store = FileStateStore(project.state_dir)
    state = None if full_refresh else store.get(integration.name)
    secrets = secret_values(integration.tap.config) + secret_values(integration.target.config)
    lines: list[str] = []
    lock = threading.Lock()

    def sink(line: str) -> None:
        line = redact(line, secrets)
        with lock:
            lines.append(line)
            if log is not None:
                log(line)

    with tempfile.TemporaryDirectory(prefix="tapwell-run-") as tmp:
        os.chmod(tmp, 0o700)
        tap_cmd = resolve_command(integration.tap.command) + ["--config", _config_file(tmp, "tap", integration.tap.config)]
        catalog = project.catalog_dir / f"{integration.name}.json"
        if catalog.exists():
            tap_cmd += ["--catalog", str(catalog)]
        if state:
            state_path = os.path.join(tmp, "state.json")
            with open(state_path, "wb") as f:
                f.write(orjson.dumps(state))
            tap_cmd += ["--state", state_path]
        target_cmd = resolve_command(integration.target.command) + ["--config", _config_file(tmp, "target", integration.target.config)]

        tap = subprocess.Popen(tap_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=project.root)
        target = subprocess.Popen(target_cmd, stdin=tap.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=project.root)
        assert tap.stdout is not None and tap.stderr is not None
        assert target.stdout is not None and target.stderr is not None
        tap.stdout.close()  # the target holds the read end now; the tap gets SIGPIPE if it dies
        pumps = [
            threading.Thread(target=_pump, args=(tap.stderr, f"[{integration.tap.name}]", sink), daemon=True),
            threading.Thread(target=_pump, args=(target.stderr, f"[{integration.target.name}]", sink), daemon=True),
        ]
        for t in pumps:
            t.start()
        result = RunResult(0, 0)
        for raw in target.stdout:
            if not raw.strip():
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                sink(f"[tapwell] ignored a target output line that is not JSON: {raw[:80]!r}")
                continue
            if isinstance(value, dict) and value.get("type") == "STATE" and isinstance(value.get("value"), dict):
                value = value["value"]  # some targets print the whole message
            if not isinstance(value, dict) or (not value and result.last_state):
                continue
            store.put(integration.name, value)
            result.last_state = value
            result.states_saved += 1
        result.target_code = target.wait()
        result.tap_code = tap.wait()
        for t in pumps:
            t.join(timeout=5)
        result.log = lines
    return result


def describe_failure(integration: Integration, result: RunResult) -> SyncError:
    # The target's own error line explains more than the tap's broken pipe that follows it.
    errors = [ln for ln in result.log if "error" in ln.lower()]
    target_errors = [ln for ln in errors if ln.startswith(f"[{integration.target.name}]")]
    tail = (target_errors or errors or result.log or [""])[-1]
    return SyncError(
        f"integration {integration.name!r} failed (tap exit {result.tap_code}, target exit {result.target_code})"
        + (f": {tail}" if tail else "")
    )
