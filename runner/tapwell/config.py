"""Config files: load and merge (Singer taps take `--config` more than once), and keep secrets out
of every message, log line and run record."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from tapwell.errors import ConfigError

SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|auth|ssl[_-]?key|dsn",
    re.IGNORECASE,
)


def load_config(paths: Iterable[str | Path]) -> dict[str, Any]:
    """Merge JSON config files left to right; a later file's keys win."""
    merged: dict[str, Any] = {}
    for path in paths:
        p = Path(path)
        try:
            data = orjson.loads(p.read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"config file {p} does not exist") from None
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {p} must hold a JSON object")
        merged.update(data)
    return merged


def secret_values(config: dict[str, Any]) -> list[str]:
    """Every value stored under a key that looks secret, at any depth, longest first."""
    found: list[str] = []

    def walk(node: Any, secret: bool) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, secret or bool(SECRET_KEY.search(str(k))))
        elif isinstance(node, list):
            for v in node:
                walk(v, secret)
        elif secret and isinstance(node, (str, int)) and str(node):
            found.append(str(node))

    walk(config, False)
    return sorted(set(found), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of a secret with ***."""
    for s in secrets:
        if len(s) >= 3:
            text = text.replace(s, "***")
    return text


def redacted_config(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of config fit to print: secret-looking keys' values replaced by ***."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: "***" if SECRET_KEY.search(str(k)) and v not in (None, "") else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(config)
