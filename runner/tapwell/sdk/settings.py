"""A connector's settings, declared once: the typed object its code reads, the checks its config
gets, the `settings` of `--about` (singer-sdk's shape, which Meltano reads) and the README table.

A connector declares a frozen dataclass whose fields are `setting(...)`s, and wraps it:

    @dataclass(frozen=True, kw_only=True)
    class MySQLConfig:
        host: str = setting(required=True, help="Server host name or address")
        port: int = setting(3306, type=("integer", "string"), parse=port_number, help="Server port")
        password: str = setting("", secret=True, help="Password (never printed)")

    SETTINGS = Settings(MySQLConfig)
    config = SETTINGS.parse({"host": "db", "user": "me"})   # -> MySQLConfig, checked once

`parse` reads each setting from its name or, failing that, its aliases (a value of None or "" is
no value, as `config.get(a) or config.get(b) or default` read it), converts it, and reports every
problem at once: a SettingsError holds one line per problem. Keys that are no setting are not an
error (configs written for other taps and targets carry them); `warnings` names them, once each,
with the setting meant when the spelling is close. Cross-setting rules and derived values belong
in the dataclass's `__post_init__`. This is deliberately small: no base class for config objects,
no environment lookups (the runner resolves `${ENV}` in tapwell.yml), no nesting.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

from tapwell.singer.errors import ConfigError, did_you_mean

__all__ = ["Setting", "Settings", "SettingsError", "setting"]

C = TypeVar("C")
Parse = Callable[[Any, str], Any]
"""Turns a given value into the typed one: `(value, key as the user spelled it) -> value`;
raises ConfigError (its whole text is the problem line) or ValueError (put after the key)."""

_META = "tapwell.setting"
_NOT_SET = (None, "")
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float, Decimal),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


class SettingsError(ConfigError):
    """Every problem of a config, one line each (the CLI prefixes each with `NAME: error:`)."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Setting:
    """One setting as a user sees it. `type` lists the JSON types a value may have (the first is
    the setting's own; a second like "string" is an older spelling the parse still reads);
    `default` is what --about shows (None: no default, or one `help` explains)."""

    name: str
    type: tuple[str, ...] = ("string",)
    default: Any = None
    aliases: tuple[str, ...] = ()
    secret: bool = False
    help: str = ""
    choices: tuple[Any, ...] = ()
    required: bool = False
    parse: Parse | None = None
    schema: Mapping[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def lookup(self, config: Mapping[str, Any]) -> tuple[str, Any] | None:
        """(key, value) of the first of the name and aliases the config gives a value, if any."""
        for key in self.keys:
            value = config.get(key)
            if not (value is None or (isinstance(value, str) and value == "")):
                return key, value
        return None

    def convert(self, value: Any, key: str) -> Any:
        """The typed value of `value` given under `key`; ConfigError naming the key if wrong."""
        if self.parse is not None:
            try:
                return self.parse(value, key)
            except ValueError as exc:
                raise ConfigError(f"config key {key}: {exc}") from None
        if not _is_a(value, self.type):
            shown = "a value" if self.secret else _shown(value)
            raise ConfigError(f"config key {key}: {shown} is not {_kinds(self.type)}")
        if self.choices and value not in self.choices:
            shown = "the value" if self.secret else repr(value)
            one_of = ", ".join(str(c) for c in self.choices)
            raise ConfigError(f"config key {key}: {shown} is not one of {one_of}")
        return tuple(value) if isinstance(value, list) else value

    def json_schema(self) -> dict[str, Any]:
        """This setting as a property of --about's `settings` (singer-sdk's annotations)."""
        out: dict[str, Any] = {"type": list(self.type) if len(self.type) > 1 else self.type[0]}
        if self.default is not None:
            out["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        if self.help:
            out["description"] = self.help
        if self.choices:
            out["enum"] = list(self.choices)
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.secret:
            out["secret"] = True
            out["writeOnly"] = True
        out.update(self.schema)
        return out


def setting(
    default: Any = dataclasses.MISSING,
    *,
    type: str | tuple[str, ...] | None = None,  # noqa: A002  (the JSON Schema word)
    help: str = "",  # noqa: A002
    aliases: tuple[str, ...] = (),
    secret: bool = False,
    choices: tuple[Any, ...] = (),
    required: bool = False,
    parse: Parse | None = None,
    schema: Mapping[str, Any] | None = None,
    show_default: bool = True,
) -> Any:
    """A dataclass field that is a setting (see the module docstring). Without `type`, the JSON
    type comes from the field's annotation; `show_default=False` keeps a placeholder default
    (one `__post_init__` or the code replaces) out of --about."""
    spec = {
        "type": (type,) if isinstance(type, str) else type,
        "default": default if show_default and default is not dataclasses.MISSING else None,
        "help": help,
        "aliases": tuple(aliases),
        "secret": secret,
        "choices": tuple(choices),
        "required": required,
        "parse": parse,
        "schema": dict(schema or {}),
    }
    metadata = {_META: spec}
    if default is dataclasses.MISSING:
        return field(metadata=metadata)
    if isinstance(default, list | dict | set):
        return field(default_factory=lambda: _copy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


class Settings(Generic[C]):
    """The settings of one connector, read from the `setting` fields of its config dataclass."""

    def __init__(self, cls: type[C], *, ignored: Iterable[str] = ()) -> None:
        """`ignored`: keys that configs written for similar connectors carry and that mean
        nothing here (PipelineWise's `parallelism`, say), accepted without a warning."""
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a dataclass")
        self.cls = cls
        self.ignored = frozenset(ignored)
        hints = typing.get_type_hints(cls)
        self._settings: list[Setting] = []
        own = list(cls.__dict__.get("__annotations__", {}))  # a connector's own settings first,
        ordered = sorted(  # then those it includes (tapwell.sdk.target_settings.LoopSettings)
            dataclasses.fields(cls), key=lambda f: own.index(f.name) if f.name in own else len(own)
        )
        for f in ordered:
            spec = f.metadata.get(_META)
            if spec is not None:
                kinds = spec["type"] or (_json_type(hints[f.name]),)
                self._settings.append(Setting(f.name, **{**spec, "type": kinds}))
        names = [k for s in self._settings for k in s.keys]
        doubled = sorted({k for k in names if names.count(k) > 1})
        if doubled:
            raise TypeError(f"{cls.__name__}: {', '.join(doubled)} named by two settings")

    @property
    def items(self) -> tuple[Setting, ...]:
        return tuple(self._settings)

    def __getitem__(self, name: str) -> Setting:
        for s in self.items:
            if s.name == name:
                return s
        raise KeyError(name)

    def parse(self, config: Mapping[str, Any]) -> C:
        """The config object: every setting read and checked; SettingsError lists every problem."""
        if not isinstance(config, Mapping):
            raise ConfigError("the config must be a JSON object of settings")
        values: dict[str, Any] = {}
        problems: list[str] = []
        for s in self._settings:
            found = s.lookup(config)
            if found is None:
                if s.required:
                    problems.append(_missing(s))
                continue
            key, value = found
            try:
                values[s.name] = s.convert(value, key)
            except ConfigError as exc:
                problems.append(str(exc))
        if problems:
            raise SettingsError(problems)
        return self.cls(**values)

    def of(self, config: C | Mapping[str, Any]) -> C:
        """`config` parsed, unless it already is: for code (and tests) that build a connector's
        parts from a plain dict, as they did before the declaration."""
        return config if isinstance(config, self.cls) else self.parse(config)  # type: ignore[arg-type]

    def unknown(self, config: Mapping[str, Any]) -> list[str]:
        """The config's keys that are neither a setting nor an alias of one, in the config's order."""
        known = {k for s in self.items for k in s.keys} | self.ignored
        return [str(k) for k in config if k not in known]

    def warnings(self, config: Mapping[str, Any]) -> list[str]:
        """One line per unknown key, naming the setting meant when the spelling is close."""
        known = [k for s in self.items for k in s.keys]
        lines = []
        for key in self.unknown(config):
            hint = did_you_mean(key, known)
            lines.append(f"config key {key!r} is not a setting and is ignored{hint}")
        return lines

    def secret_values(self, config: Mapping[str, Any]) -> list[str]:
        """The values of the settings marked secret (under any alias), to mask in every message."""
        return [
            str(config[k])
            for s in self.items
            if s.secret
            for k in s.keys
            if isinstance(config.get(k), str | int) and str(config[k])
        ]

    def json_schema(self) -> dict[str, Any]:
        """--about's `settings`: a JSON Schema object, as singer-sdk prints its config_jsonschema."""
        out: dict[str, Any] = {
            "type": "object",
            "properties": {s.name: s.json_schema() for s in self.items},
        }
        required = [s.name for s in self.items if s.required]
        if required:
            out["required"] = required
        return out


def _missing(s: Setting) -> str:
    also = f" (or {', '.join(s.aliases)})" if s.aliases else ""
    what = f": {s.help[0].lower()}{s.help[1:]}" if s.help else ""
    return f"config key {s.name}{also} is required{what}"


def _is_a(value: Any, kinds: tuple[str, ...]) -> bool:
    if isinstance(value, bool):
        return "boolean" in kinds
    return any(isinstance(value, _JSON_TYPES[k]) for k in kinds if k in _JSON_TYPES)


def _kinds(kinds: tuple[str, ...]) -> str:
    words = {
        "string": "a string",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "array": "a list",
        "object": "an object",
        "null": "null",
    }
    return " or ".join(words.get(k, k) for k in kinds)


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _json_type(hint: Any) -> str:
    """The JSON type of a field's annotation: str, int, float, bool, a sequence or a mapping."""
    origin = typing.get_origin(hint) or hint
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _json_type(args[0]) if len(args) == 1 else "string"
    for py, kind in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (tuple, "array"),
        (list, "array"),
        (dict, "object"),
    ):
        if isinstance(origin, type) and issubclass(origin, py):
            return kind
    if origin in (Mapping, typing.Mapping):
        return "object"
    return "string"


def _copy(value: Any) -> Any:
    return type(value)(value)


def whole_number(minimum: int | None = None) -> Parse:
    """A Parse for a whole number given as a JSON integer or a numeric string ("5000")."""

    def parse(value: Any, key: str) -> int:
        try:
            if isinstance(value, bool | float | dict | list):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config key {key}: {value!r} is not a whole number") from None
        if minimum is not None and number < minimum:
            raise ConfigError(f"config key {key}: must be at least {minimum}")
        return number

    return parse


def number(minimum: float | None = None) -> Parse:
    """A Parse for a number given as a JSON number or a numeric string ("1.5")."""

    def parse(value: Any, key: str) -> float:
        try:
            if isinstance(value, bool | dict | list):
                raise ValueError
            out = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config key {key}: {value!r} is not a number") from None
        if minimum is not None and out < minimum:
            raise ConfigError(f"config key {key}: must be at least {minimum:g}")
        return out

    return parse
