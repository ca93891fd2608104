"""Where the runner keeps bookmark state. The file backend writes atomically: a temporary file in
the same folder, fsynced, then renamed over the old one, so a crash leaves the old state or the
new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from tapwell.errors import ConfigError


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class FileStateStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, integration: str) -> Path:
        return self.folder / f"{integration}.json"

    def get(self, integration: str) -> dict[str, Any] | None:
        p = self.path(integration)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"state file {p} is not valid JSON ({exc}); fix or remove it") from None
        if not isinstance(value, dict):
            raise ConfigError(f"state file {p} must hold a JSON object")
        return value

    def put(self, integration: str, state: dict[str, Any]) -> None:
        atomic_write(self.path(integration), orjson.dumps(state, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
