"""The project file, tapwell.yml: integrations (tap + target + their config), with `${ENV}`
interpolation so secrets stay out of the file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tapwell.errors import ConfigError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: Any, where: str = "") -> Any:
    """Replace ${NAME} (or ${NAME:-default}) in every string with the environment's value."""
    if isinstance(value, dict):
        return {k: interpolate(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable {name} is not set (export it, or write ${{{name}:-default}})")

    return _ENV.sub(sub, value)


@dataclass
class Connector:
    """A tap or target: one of ours by name, or any Singer executable given as a command."""

    name: str
    command: list[str]
    config: dict[str, Any]


@dataclass
class Integration:
    name: str
    tap: Connector
    target: Connector
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Project:
    root: Path
    raw: dict[str, Any]

    @property
    def state_dir(self) -> Path:
        state = self.raw.get("state") or {}
        return self.root / str(state.get("path") or "state")

    @property
    def catalog_dir(self) -> Path:
        return self.root / str(self.raw.get("catalogs") or "catalogs")

    def integration(self, name: str) -> Integration:
        integrations = self.raw.get("integrations") or {}
        if name not in integrations:
            known = ", ".join(sorted(integrations)) or "none"
            raise ConfigError(f"no integration {name!r} in {self.root / 'tapwell.yml'} (known: {known})")
        raw = integrations[name] or {}
        return Integration(name, _connector(raw, "tap", name, self.root), _connector(raw, "target", name, self.root), raw)


def _connector(raw: dict[str, Any], role: str, integration: str, root: Path) -> Connector:
    spec = raw.get(role)
    if spec is None:
        raise ConfigError(f"integrations.{integration}.{role} is missing: name a {role} (e.g. {role}: {{name: {role}-csv}})")
    if isinstance(spec, str):
        spec = {"name": spec}
    name = str(spec.get("name") or "")
    command = spec.get("command")
    if command is None:
        if not name:
            raise ConfigError(f"integrations.{integration}.{role} needs a name or a command")
        command = [name]
    elif isinstance(command, str):
        command = command.split()
    config = spec.get("config") or {}
    if isinstance(config, str):  # a file, relative to the project
        import orjson

        path = root / config
        try:
            config = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"integrations.{integration}.{role}.config: file {path} does not exist") from None
    config = interpolate(config, f"integrations.{integration}.{role}.config")
    return Connector(name or command[0], list(command), config)


def load_project(path: str | Path | None = None) -> Project:
    """Read tapwell.yml from `path` (a file or folder), TAPWELL_PROJECT, or the working folder."""
    p = Path(path or os.environ.get("TAPWELL_PROJECT") or ".")
    if p.is_dir():
        p = p / "tapwell.yml"
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"no project file at {p} (run from the project folder, or pass --project)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p} must be a mapping with an 'integrations' key")
    return Project(p.parent.resolve(), raw)
