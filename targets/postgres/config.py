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

from tapwell.sdk.load_settings import LOAD_METHODS, STREAM_KEYS, Dialect, StreamSettings, flag
from tapwell.sdk.load_settings import defaults as _defaults
from tapwell.sdk.load_settings import stream_settings as _stream_settings
from tapwell.sdk.sql_names import shorten
from tapwell.singer.errors import ConfigError

from .encode import NUL_MODES

__all__ = [
    "DIALECT",
    "LOAD_METHODS",
    "NUMBER_TYPES",
    "STREAM_KEYS",
    "Settings",
    "StreamSettings",
    "parse",
]

NUMBER_TYPES = ("numeric", "double precision", "real")

# target-postgres reads its settings loosely (tapwell.sdk.load_settings) and words its errors so
DIALECT = Dialect(
    loose=True,
    not_object='config key stream_settings must be an object: {"<stream>": {"load_method": ..., '
    '"hard_delete": ...}}',
    entry_not_object="config key {where} must be an object with load_method or hard_delete",
    unknown_key="config key {where}: {unknown} cannot be set per stream (only {keys})",
)


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


def _choice(config: dict[str, Any], key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = str(config.get(key) or default)
    if value not in allowed:
        raise ConfigError(f"config key {key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def parse(config: dict[str, Any]) -> Settings:
    defaults = _defaults(config, DIALECT)
    streams = _stream_settings(config.get("stream_settings"), defaults, DIALECT)
    return Settings(
        defaults=defaults,
        primary_key_required=flag(
            config.get("primary_key_required", False), "primary_key_required", DIALECT
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
