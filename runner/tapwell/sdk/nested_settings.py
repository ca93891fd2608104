"""The settings of nested documents as tables (tapwell.sdk.nested), the same in every SQL target
that offers them: `nested`, `nested_max_depth` and `nested_streams`.

A target's config dataclass includes them by inheriting `NestedSettings` beside `LoopSettings`,
and asks `nested_for(stream)` which mode a stream loads in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tapwell.sdk.nested import DEFAULT_MAX_DEPTH, MODES
from tapwell.sdk.settings import setting, whole_number
from tapwell.singer.errors import ConfigError
from tapwell.singer.schema import property_types

__all__ = ["NestedSettings"]

UNCHANGED = "_sdc_unchanged"  # tap-postgres's list of a CDC record's unchanged TOASTed columns


def _streams(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f'config key {key}: must be an object {{"<stream>": "json" or "tables"}}')
    for stream, mode in value.items():
        if mode not in MODES:
            raise ConfigError(f"config key {key}.{stream}: {mode!r} is not one of json, tables")
    return dict(value)


@dataclass(frozen=True, kw_only=True)
class NestedSettings:
    """How nested objects and arrays load: one JSON column each, or columns and child tables."""

    nested: str = setting(
        "json",
        choices=MODES,
        help="json: a nested object or array is one JSON column; tables: objects become "
        "parent__child columns and arrays child tables <table>__<property> keyed by the parent's "
        "keys (_sdc_source_key_<key>) and the element's position (_sdc_level_0_id, ...)",
    )
    nested_max_depth: int = setting(
        DEFAULT_MAX_DEPTH,
        type=("integer", "string"),
        parse=whole_number(1),
        help="With nested: tables, levels of objects and arrays made columns and child tables; "
        "deeper values stay JSON",
    )
    nested_streams: dict[str, str] = setting(
        {},
        type="object",
        parse=_streams,
        schema={"additionalProperties": {"type": "string", "enum": list(MODES)}},
        help='{"<stream>": "json" or "tables"}: the nested setting for one stream',
    )

    def nested_for(self, stream: str) -> str:
        """`json` or `tables`: the stream's own mode from nested_streams, else `nested`."""
        return self.nested_streams.get(stream, self.nested)

    def tables_for(self, stream: str, schema: dict[str, Any]) -> bool:
        """Whether the stream loads with nested: tables. A stream whose records may leave out
        unchanged values (`_sdc_unchanged`) and that has documents to split is refused (a
        ConfigError): a left-out document would empty its child tables."""
        if self.nested_for(stream) != "tables":
            return False
        props = schema.get("properties") or {}
        split = [p for p, v in props.items() if {"object", "array"} & set(property_types(v))]
        if UNCHANGED in props and [p for p in split if p != UNCHANGED]:
            raise ConfigError(
                f"stream {stream!r}: its records may leave out unchanged values (_sdc_unchanged, "
                "from tap-postgres LOG_BASED), which nested: tables cannot keep in child tables; "
                f'load it with nested_streams: {{"{stream}": "json"}}'
            )
        return True
