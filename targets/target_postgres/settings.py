"""target-postgres's settings that shape a load, parsed and checked once: the global ones and
`stream_settings`, which overrides `load_method` and `hard_delete` for one stream.

    {"load_method": "upsert", "stream_settings": {"shop-events": {"load_method": "append-only"},
                                                  "shop-lookup": {"hard_delete": true}}}

A keyless FULL_TABLE stream appended and soft-deleted on every run grows without bound; an
`overwrite` or a `hard_delete` for that one stream keeps it the size of its source, while the
other streams keep the global settings. A bad value is a config error (exit 2) naming the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tapwell.errors import ConfigError
from tapwell.sql_names import shorten

from target_postgres.encode import NUL_MODES

LOAD_METHODS = ("upsert", "append-only", "overwrite")
NUMBER_TYPES = ("numeric", "double precision", "real")
STREAM_KEYS = ("load_method", "hard_delete")


@dataclass(frozen=True)
class StreamSettings:
    """How one stream loads."""

    load_method: str = "upsert"
    hard_delete: bool = False

    @property
    def upsert(self) -> bool:
        return self.load_method == "upsert"


@dataclass(frozen=True)
class Settings:
    defaults: StreamSettings
    primary_key_required: bool
    number_type: str
    nul_mode: str
    state_schema: str
    state_table: str
    state_id: str
    streams: dict[str, StreamSettings] = field(default_factory=dict)

    def of(self, stream: str) -> StreamSettings:
        """The settings of `stream`: its own entry in stream_settings, else the global ones."""
        return self.streams.get(stream, self.defaults)


def _load_method(value: Any, key: str) -> str:
    method = str(value or "upsert")
    if method not in LOAD_METHODS:
        raise ConfigError(f"config key {key}: {method!r} is not one of {', '.join(LOAD_METHODS)}")
    return method


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes", "on"):
        return True
    if value in (None, "") or str(value).lower() in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"config key {key}: {value!r} is not true or false")


def _choice(config: dict[str, Any], key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = str(config.get(key) or default)
    if value not in allowed:
        raise ConfigError(f"config key {key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def parse(config: dict[str, Any]) -> Settings:
    defaults = StreamSettings(
        _load_method(config.get("load_method"), "load_method"),
        _flag(config.get("hard_delete", False), "hard_delete"),
    )
    raw = config.get("stream_settings") or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            'config key stream_settings must be an object: {"<stream>": {"load_method": ..., '
            '"hard_delete": ...}}'
        )
    streams: dict[str, StreamSettings] = {}
    for stream, entry in raw.items():
        where = f"stream_settings.{stream}"
        if not isinstance(entry, dict):
            raise ConfigError(
                f"config key {where} must be an object with load_method or hard_delete"
            )
        unknown = sorted(set(entry) - set(STREAM_KEYS))
        if unknown:
            raise ConfigError(
                f"config key {where}: {', '.join(unknown)} cannot be set per stream "
                f"(only {', '.join(STREAM_KEYS)})"
            )
        streams[str(stream)] = StreamSettings(
            _load_method(entry.get("load_method", defaults.load_method), f"{where}.load_method"),
            _flag(entry.get("hard_delete", defaults.hard_delete), f"{where}.hard_delete"),
        )
    return Settings(
        defaults=defaults,
        primary_key_required=_flag(
            config.get("primary_key_required", False), "primary_key_required"
        ),
        number_type=_choice(config, "number_type", "numeric", NUMBER_TYPES),
        nul_mode=_choice(config, "nul_characters", "replace", NUL_MODES),
        state_schema=shorten(
            str(config.get("state_schema") or config.get("default_target_schema") or "public")
        ),
        state_table=shorten(str(config.get("state_table") or "tapwell_state")),
        state_id=str(config.get("state_id") or "default"),
        streams=streams,
    )
