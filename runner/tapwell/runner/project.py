"""The project file, tapwell.yml: integrations (tap + target + their config, selection, schedule,
retries, notifications, state backend), checked against a JSON Schema, with `${ENV}`
interpolation so secrets stay out of the file."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from tapwell.runner.cron import check_schedules
from tapwell.runner.project_env import env_values, interpolate, read_env_file, secret_env_values
from tapwell.runner.project_schema import checked_once
from tapwell.runner.serve.config import check_triggers
from tapwell.runner.stream_settings import LOAD_KEYS, stream_settings, wanted
from tapwell.sdk.cli_util import cannot_read
from tapwell.singer.catalog import load_catalog
from tapwell.singer.config import SECRET_KEY
from tapwell.singer.errors import ConfigError


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
    # the values of its config's secret-named ${VAR}s, never to print wherever they were placed
    env_secrets: list[str] = field(default_factory=list)


OUR_TARGETS = ("target-postgres", "target-duckdb")
MAPPER = "mapper-stream-maps"  # what `transform:` runs
_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Target:
    """One target of an integration; `required: false` marks a secondary whose failure does not
    fail the run. A fan-out target's state is kept under `state_key`."""

    connector: Connector
    required: bool = True
    state_key: str | None = None  # None: the integration's own key (a single `target:`)


def is_ours(connector: Connector) -> bool:
    """target-postgres / target-duckdb of this package: named, not a command or a pip install
    (a third-party target of the same name keeps no state table). Here, beside Connector, so
    the project's own checks need not import tapwell.runner.recover (which imports this module)."""
    return (
        connector.name in OUR_TARGETS
        and connector.command == [connector.name]
        and connector.venv is None
        and connector.pip_url is None
    )


@dataclass
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 600.0
    stall_timeout_seconds: float | None = None
    retry_unknown_errors: bool = True


class Integration:
    """One integration of tapwell.yml. Its tap, target and notifications are resolved (their
    `${VAR}`s read from the environment) when first used, so a command asks only for the
    variables it needs: `discover` never needs the target's password, `state show` neither."""

    def __init__(
        self,
        name: str,
        raw: dict[str, Any],
        retry: RetryPolicy,
        resolve: Callable[[str], Any],
    ) -> None:
        self.name = name
        self.raw = raw
        self.retry = retry
        self._resolve = resolve

    @cached_property
    def tap(self) -> Connector:
        connector: Connector = self._resolve("tap")
        return connector

    @cached_property
    def target(self) -> Connector:
        """The target; of a fan-out, the first of `targets:` (the primary)."""
        if self.fanout:
            return self.targets[0].connector
        connector: Connector = self._resolve("target")
        return connector

    @property
    def fanout(self) -> bool:
        """Whether the integration has `targets:` (one tap into several targets)."""
        return "targets" in self.raw

    @cached_property
    def targets(self) -> list[Target]:
        """Every target the tap's output goes to: `target:` alone, or each of `targets:`."""
        if not self.fanout:
            return [Target(self.target)]
        found: list[Target] = self._resolve("targets")
        return found

    def only(self, target_name: str) -> Integration:
        """This integration with one of its `targets:` alone (`tapwell run NAME --target T`)."""
        names = [t.connector.name for t in self.targets]
        if not self.fanout or target_name not in names:
            raise ConfigError(
                f"integration {self.name!r} has no target {target_name!r} in targets: "
                f"(its targets: {', '.join(names) or 'one, under target:'})"
            )
        narrowed = Integration(self.name, self.raw, self.retry, self._resolve)
        narrowed.__dict__["targets"] = [
            Target(t.connector, True, t.state_key)
            for t in self.targets
            if t.connector.name == target_name
        ]
        narrowed.__dict__["target"] = narrowed.targets[0].connector
        narrowed.alone = target_name
        narrowed.siblings = self.targets
        return narrowed

    alone: str | None = None  # set by only(): the one target of a fan-out that runs
    siblings: list[Target] = []  # set by only(): every target of the fan-out

    @cached_property
    def mappers(self) -> list[Connector]:
        """The mappers between the tap and the target(s), in order: `transform:` (our
        mapper-stream-maps), then each of `mappers:`."""
        found: list[Connector] = self._resolve("mappers")
        return found

    @cached_property
    def notify(self) -> dict[str, Any]:
        notify: dict[str, Any] = self._resolve("notify")
        return notify

    def resolve(self) -> Integration:
        """Read every `${VAR}` a run needs (tap, target, notify) now, so a missing one fails
        before the run starts and is recorded; returns self."""
        _ = (self.tap, self.target, self.targets, self.mappers, self.notify)
        return self

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
    env_file: dict[str, str] | None = None  # tapwell.yml's `env_file`, read; None without one

    @property
    def state_config(self) -> dict[str, Any]:
        """The project's `state:` with its `${VAR}`s read: the backend that commands without an
        integration (`tapwell runs`, `tapwell logs`) open."""
        return dict(interpolate(self.raw.get("state") or {}, "state", self.env_file))

    @property
    def state_dir(self) -> Path:
        path = (self.raw.get("state") or {}).get("path") or "state"
        return self.root / str(interpolate(path, "state.path", self.env_file))

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
        return interpolate(
            {**(self.raw.get("state") or {}), **own}, f"integrations.{name}.state", self.env_file
        )

    def place_secrets(self, name: str) -> list[str]:
        """What tapwell.yml puts where a secret goes outside the connectors' configs, never to
        print: the value of every `${VAR}` of integration `name`'s `notify:` (a webhook's or
        healthcheck's URL holds its token) and of a secret-looking key of its `state:` (`dsn`,
        `recover.dsn`), whatever the variable's name, and the path of every notify URL."""
        own = (self.raw.get("integrations") or {}).get(name) or {}
        notify = {**(self.raw.get("notify") or {}), **(own.get("notify") or {})}
        urls = {k: v for k, v in notify.items() if k != "timeout_seconds"}
        state = {**(self.raw.get("state") or {}), **(own.get("state") or {})}
        found = env_values(urls, self.env_file) + env_values(_secret_placed(state), self.env_file)
        for value in _flat(urls):
            try:
                url = str(interpolate(value, f"integrations.{name}.notify", self.env_file))
            except ConfigError:
                continue
            path = url.partition("://")[2].partition("/")[2]
            found += [url, "/" + path] if len(path) >= 3 else [url]
        return found

    def catalog_path(self, name: str) -> Path:
        return self.catalog_dir / f"{name}.json"

    def check_name(self, name: str) -> None:
        """Fail with the list of known integrations when `name` is not one of them."""
        integrations = self.raw.get("integrations") or {}
        if name not in integrations:
            known = ", ".join(sorted(integrations)) or "none"
            raise ConfigError(
                f"no integration {name!r} in {self.root / 'tapwell.yml'} (known: {known})"
            )

    def integration(self, name: str) -> Integration:
        """Integration `name`; its `${VAR}`s are read when its tap, target or notify is used."""
        self.check_name(name)
        raw = (self.raw.get("integrations") or {})[name] or {}
        retry = {**(self.raw.get("retry") or {}), **(raw.get("retry") or {})}

        def resolve(part: str) -> Any:
            if part == "notify":
                notify = {**(self.raw.get("notify") or {}), **(raw.get("notify") or {})}
                return interpolate(notify, f"integrations.{name}.notify", self.env_file)
            if part == "targets":
                return self._targets(raw, name)
            if part == "mappers":
                return self._mappers(raw, name)
            connector = self._connector(raw, part, name)
            return (
                self._with_stream_settings(connector, raw, name) if part == "target" else connector
            )

        return Integration(name, raw, RetryPolicy(**retry), resolve)

    def connector_spec(self, name: str, role: str) -> Connector:
        """Integration `name`'s tap or target with its config as written (`${VAR}`s not read):
        what `tapwell install` and the checks that need no secret use."""
        self.check_name(name)
        raw = (self.raw.get("integrations") or {})[name] or {}
        if role == "target" and "targets" in raw:  # a fan-out's primary: the first target
            return self.connector_specs(name)[-len(raw["targets"])]
        return self._connector(raw, role, name, resolve=False)

    def connector_specs(self, name: str) -> list[Connector]:
        """Every process of integration `name` as written: the tap, its `mappers:` and its
        target(s) (what `tapwell install` installs)."""
        self.check_name(name)
        raw = (self.raw.get("integrations") or {})[name] or {}
        out = [self._connector(raw, "tap", name, resolve=False)]
        for i, spec in enumerate(raw.get("mappers") or []):
            out.append(
                self._connector({"m": spec}, "m", name, False, f"integrations.{name}.mappers[{i}]")
            )
        if "targets" not in raw:
            return [*out, self._connector(raw, "target", name, resolve=False)]
        for i, spec in enumerate(raw["targets"]):
            item = (
                {"name": spec}
                if isinstance(spec, str)
                else {k: v for k, v in spec.items() if k != "required"}
            )
            out.append(
                self._connector({"t": item}, "t", name, False, f"integrations.{name}.targets[{i}]")
            )
        return out

    def target_state_keys(self, name: str) -> dict[str, str]:
        """Of an integration with `targets:`, each target's name and its state key (NAME@TARGET);
        empty for one with a single `target:`. Read without resolving any `${VAR}`."""
        self.check_name(name)
        raw = (self.raw.get("integrations") or {})[name] or {}
        if "targets" not in raw:
            return {}
        specs = self.connector_specs(name)[-len(raw["targets"]) :]
        return {c.name: f"{name}@{c.name}" for c in specs}

    def target_defaults(self, name: str) -> tuple[bool, dict[str, Any]]:
        """Whether integration `name`'s target is one of ours, and its own `load_method` /
        `hard_delete`, read without resolving the rest of its config (a discovery must not
        need the target's password)."""
        connector = self.connector_spec(name, "target")
        where = f"integrations.{name}.target.config"
        defaults = {k: connector.config[k] for k in LOAD_KEYS if k in connector.config}
        return is_ours(connector), interpolate(defaults, where, self.env_file)

    def _with_stream_settings(self, target: Connector, raw: dict[str, Any], name: str) -> Connector:
        """Our target with tapwell.yml's per-stream load settings as its `stream_settings`."""
        overrides = dict(raw.get("streams") or {})
        if not wanted(overrides):
            return target
        if not is_ours(target):
            key = next(iter(wanted(overrides)))
            raise ConfigError(
                f"integrations.{name}.streams.{key}: load_method and hard_delete are passed only "
                f"to tapwell's target-postgres and target-duckdb; for {target.name} set its own "
                "setting in its config instead"
            )
        path = self.catalog_path(name)
        catalog = load_catalog(path).to_dict() if path.exists() else None
        given = dict(target.config.get("stream_settings") or {})
        derived = stream_settings(catalog, overrides, name)
        for stream, settings in derived.items():
            given[stream] = {**(given.get(stream) or {}), **settings}
        # checked here against the catalog, and given under both names of a stream: the target
        # warns about its own entries that match no stream, not about these
        target.config = {
            **target.config,
            "stream_settings": given,
            "stream_settings_derived": sorted(derived),
        }
        return target

    def _targets(self, raw: dict[str, Any], name: str) -> list[Target]:
        """`targets:` resolved: each a connector with our stream settings, its `required`, and
        its own state key NAME@TARGET; names must be distinct (they key the state)."""
        out: list[Target] = []
        for i, spec in enumerate(raw.get("targets") or []):
            where = f"integrations.{name}.targets[{i}]"
            item = {"name": spec} if isinstance(spec, str) else dict(spec)
            required = item.pop("required", True) is not False
            connector = self._connector({"target": item}, "target", name, where=where)
            connector = self._with_stream_settings(connector, raw, name)
            if not _TARGET_NAME.match(connector.name):
                raise ConfigError(
                    f"{where}: give this target a name (letters, digits, _ . -): its state is kept "
                    f"under it (got {connector.name!r})"
                )
            if any(t.connector.name == connector.name for t in out):
                raise ConfigError(
                    f"{where}: a second target named {connector.name!r}: give each target its "
                    "own name (name: ..., with command: for the executable)"
                )
            out.append(Target(connector, required, f"{name}@{connector.name}"))
        if not any(t.required for t in out):
            raise ConfigError(f"integrations.{name}.targets: at least one target must be required")
        if out and "fast_lane" in raw:
            from tapwell.runner.fast_lane import mode

            if mode(raw, name) == "on":
                # a fan-out copies the tap's lines to every target: it never takes the lane
                raise ConfigError(
                    f"integrations.{name}.fast_lane: on, but it has several targets (targets:), "
                    "which get RECORD lines only (set fast_lane: auto or off)"
                )
        return out

    def _mappers(self, raw: dict[str, Any], name: str) -> list[Connector]:
        out: list[Connector] = []
        if raw.get("transform") is not None:
            where = f"integrations.{name}.transform"
            config = interpolate(raw["transform"], where, self.env_file)
            hidden = secret_env_values(raw["transform"], self.env_file)
            out.append(Connector(MAPPER, [MAPPER], dict(config), env_secrets=hidden))
        for i, spec in enumerate(raw.get("mappers") or []):
            where = f"integrations.{name}.mappers[{i}]"
            out.append(self._connector({"mapper": spec}, "mapper", name, where=where))
        return out

    def _connector(
        self,
        raw: dict[str, Any],
        role: str,
        integration: str,
        resolve: bool = True,
        where: str | None = None,
    ) -> Connector:
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
        where = f"{where or f'integrations.{integration}.{role}'}.config"
        if isinstance(config, str):  # a file, relative to the project
            config = _read_config_file(self.root / config, where)
        hidden: list[str] = []
        if resolve:
            raw_config, config = config, interpolate(config, where, self.env_file)
            hidden = secret_env_values(raw_config, self.env_file)
        venv = spec.get("venv") or (name or command[0] if spec.get("pip_url") else None)
        return Connector(
            name or command[0],
            list(command),
            config,
            self.venv_dir / venv if venv else None,
            spec.get("pip_url"),
            str(spec.get("catalog_flag") or "auto"),
            hidden,
        )


# libyaml's loader when PyYAML was built with it: 3.6 against 0.4 ms on the example project's
# tapwell.yml, before every run's tap starts. Its error messages differ from PyYAML's own, so a
# file it refuses is parsed again by PyYAML's own loader, whose error (or value) is the answer.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
# what parses the project file: part of the key under which a file that passed its check is kept
PARSER = f"PyYAML {yaml.__version__}" + (" libyaml" if _FAST_LOADER is not None else "")


def _secret_placed(node: Any, secret: bool = False) -> list[Any]:
    """The values under a secret-looking key (SECRET_KEY) of node, at any depth."""
    if isinstance(node, dict):
        return [
            v
            for k, child in node.items()
            for v in _secret_placed(child, secret or bool(SECRET_KEY.search(str(k))))
        ]
    if isinstance(node, list):
        return [v for child in node for v in _secret_placed(child, secret)]
    return [node] if secret else []


def _flat(node: Any) -> list[str]:
    """Every string of a notify setting (one URL or a list of them)."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in _flat(v)]
    if isinstance(node, list):
        return [s for v in node for s in _flat(v)]
    return [node] if isinstance(node, str) else []


def safe_load(text: str) -> Any:
    """yaml.safe_load(text), through libyaml when it is there; a YAMLError is PyYAML's own."""
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass  # said by PyYAML's own loader below, in its words
    return yaml.safe_load(text)


def yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    """PyYAML's several-line message (naming `<unicode string>`) as one line naming the file,
    the line and the column, with what to check."""
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
    if mark is None:
        return f"{path}: invalid YAML: {problem}"
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None and start.line != mark.line:
        problem += f" ({context} that starts at line {start.line + 1})"
    fix = (
        "indent with spaces, not tabs"
        if "'\\t'" in problem
        else "check the indentation and the quoting there"
    )
    return f"{path} line {mark.line + 1}, column {mark.column + 1}: invalid YAML: {problem}; {fix}"


def _read_config_file(path: Path, where: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{where}: {cannot_read('file', path, exc)}") from None
    try:
        data = safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: {yaml_problem(path, exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {path} must hold a mapping")
    return data


def load_project(path: str | Path | None = None) -> Project:
    """Read and check tapwell.yml from `path` (a file or folder), TAPWELL_PROJECT, or the working folder."""
    p = Path(path or os.environ.get("TAPWELL_PROJECT") or ".")
    if p.is_dir():
        p = p / "tapwell.yml"
    try:
        text = p.read_bytes()
        raw = safe_load(text.decode("utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(
            f"no project file at {p.absolute()} (run from the project folder, or pass --project)"
        ) from None
    except OSError as exc:
        raise cannot_read("project file", p, exc) from None
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(p, exc)) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p} must be a mapping with an 'integrations' key")
    root = p.parent.resolve()
    checked_once(raw, str(p), text, root, PARSER)
    check_schedules(raw, str(p))  # cron ranges: 61 * * * * fails here, not in cron
    check_triggers(raw, str(p))  # after: cycles and unknown names, time zones
    env_file = read_env_file(root / str(raw["env_file"])) if raw.get("env_file") else None
    return Project(root, raw, env_file)
