"""The project file, tapwell.yml: integrations (tap + target + their config, selection, schedule,
retries, notifications, state backend), checked against a JSON Schema, with `${ENV}`
interpolation so secrets stay out of the file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tapwell.cron import check_schedules
from tapwell.errors import ConfigError
from tapwell.project_schema import validate_project

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def env_names(value: Any) -> set[str]:
    """Every ${NAME} used anywhere in value (the variables a deployment must provide)."""
    if isinstance(value, dict):
        return set().union(*(env_names(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(env_names(v) for v in value)) if value else set()
    return {m.group(1) for m in _ENV.finditer(value)} if isinstance(value, str) else set()


def env_with_defaults(value: Any) -> set[str]:
    """The ${NAME:-default} variables that never appear without a default (optional ones)."""
    found: dict[str, bool] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            for m in _ENV.finditer(node):
                found[m.group(1)] = found.get(m.group(1), True) and m.group(2) is not None

    walk(value)
    return {name for name, optional in found.items() if optional}


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
        raise ConfigError(
            f"{where}: environment variable {name} is not set (export it, or write ${{{name}:-default}})"
        )

    return _ENV.sub(sub, value)


@dataclass
class Connector:
    """A tap or target: one of ours by name, or any Singer executable given as a command,
    optionally living in its own virtualenv made by `tapwell install`."""

    name: str
    command: list[str]
    config: dict[str, Any]
    venv: Path | None = None
    pip_url: str | None = None
    catalog_flag: str = "auto"  # --catalog, --properties, or auto (read from the tap's --help)


@dataclass
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 600.0
    stall_timeout_seconds: float | None = None
    retry_unknown_errors: bool = True


@dataclass
class Integration:
    name: str
    tap: Connector
    target: Connector
    raw: dict[str, Any] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    notify: dict[str, Any] = field(default_factory=dict)

    @property
    def select(self) -> list[str]:
        return list(self.raw.get("select") or [])

    @property
    def stream_overrides(self) -> dict[str, dict[str, Any]]:
        return dict(self.raw.get("streams") or {})

    @property
    def schedule(self) -> str | None:
        return self.raw.get("schedule")


@dataclass
class Project:
    root: Path
    raw: dict[str, Any]

    @property
    def state_config(self) -> dict[str, Any]:
        return dict(self.raw.get("state") or {})

    @property
    def state_dir(self) -> Path:
        return self.root / str(self.state_config.get("path") or "state")

    @property
    def catalog_dir(self) -> Path:
        return self.root / str(self.raw.get("catalogs") or "catalogs")

    @property
    def venv_dir(self) -> Path:
        return self.root / str(
            os.environ.get("TAPWELL_VENVS") or self.raw.get("venvs") or ".tapwell/venvs"
        )

    @property
    def names(self) -> list[str]:
        return sorted(self.raw.get("integrations") or {})

    def state_config_for(self, name: str) -> dict[str, Any]:
        """The state backend of one integration: the project's, overridden by its own `state:`."""
        own = ((self.raw.get("integrations") or {}).get(name) or {}).get("state") or {}
        return interpolate({**self.state_config, **own}, f"integrations.{name}.state")

    def catalog_path(self, name: str) -> Path:
        return self.catalog_dir / f"{name}.json"

    def integration(self, name: str) -> Integration:
        integrations = self.raw.get("integrations") or {}
        if name not in integrations:
            known = ", ".join(sorted(integrations)) or "none"
            raise ConfigError(
                f"no integration {name!r} in {self.root / 'tapwell.yml'} (known: {known})"
            )
        raw = integrations[name] or {}
        where = f"integrations.{name}"
        retry = {**(self.raw.get("retry") or {}), **(raw.get("retry") or {})}
        notify = interpolate(
            {**(self.raw.get("notify") or {}), **(raw.get("notify") or {})}, f"{where}.notify"
        )
        return Integration(
            name,
            self._connector(raw, "tap", name),
            self._connector(raw, "target", name),
            raw,
            RetryPolicy(**retry),
            notify,
        )

    def _connector(self, raw: dict[str, Any], role: str, integration: str) -> Connector:
        spec = raw.get(role)
        if spec is None:
            raise ConfigError(
                f"integrations.{integration}.{role} is missing: name a {role} (e.g. {role}: {role}-csv)"
            )
        if isinstance(spec, str):
            spec = {"name": spec}
        name = str(spec.get("name") or "")
        command = spec.get("command")
        if command is None:
            command = [name]
        elif isinstance(command, str):
            command = command.split()
        config = spec.get("config") or {}
        where = f"integrations.{integration}.{role}.config"
        if isinstance(config, str):  # a file, relative to the project
            config = _read_config_file(self.root / config, where)
        config = interpolate(config, where)
        venv = spec.get("venv") or (name or command[0] if spec.get("pip_url") else None)
        return Connector(
            name or command[0],
            list(command),
            config,
            self.venv_dir / venv if venv else None,
            spec.get("pip_url"),
            str(spec.get("catalog_flag") or "auto"),
        )


def _read_config_file(path: Path, where: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: file {path} does not exist") from None
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: {path} is not valid JSON or YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {path} must hold a mapping")
    return data


def load_project(path: str | Path | None = None) -> Project:
    """Read and check tapwell.yml from `path` (a file or folder), TAPWELL_PROJECT, or the working folder."""
    p = Path(path or os.environ.get("TAPWELL_PROJECT") or ".")
    if p.is_dir():
        p = p / "tapwell.yml"
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(
            f"no project file at {p} (run from the project folder, or pass --project)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p} must be a mapping with an 'integrations' key")
    validate_project(raw, str(p))
    check_schedules(raw, str(p))  # cron ranges: 61 * * * * fails here, not in cron
    return Project(p.parent.resolve(), raw)
