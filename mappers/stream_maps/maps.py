"""Stream maps: singer-sdk's `stream_maps` config turned into, per stream, the list of output
streams (the same-named one first, then `__source__` copies) with their schema, key properties,
filter and property expressions. Built at each SCHEMA, as singer-sdk does."""

from __future__ import annotations

import copy
import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import simpleeval
from tapwell.singer.errors import ConfigError

from .expressions import (
    Expression,
    MapFailure,
    Record,
    Scope,
    compile_expression,
)
from .functions import HASHES

ELSE, FILTER, SOURCE, ALIAS, KEYS = (
    "__else__",
    "__filter__",
    "__source__",
    "__alias__",
    "__key_properties__",
)
NULL = "__NULL__"
EMPTY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {},
    "$schema": "https://json-schema.org/draft/2020-12/schema",
}


def _is_null(value: Any) -> bool:
    return value is None or value == NULL


@dataclass
class MapperConfig:
    """The mapper's settings: singer-sdk's `stream_maps` and `stream_map_config`."""

    stream_maps: dict[str, Any]
    map_config: dict[str, Any]
    drop_unmapped: bool  # a top-level `__else__: null`
    functions: dict[str, Any] = field(default_factory=dict)

    def mentions(self, stream: str) -> bool:
        """Whether any map applies to `stream` (by name or wildcard)."""
        return self.drop_unmapped or any(
            stream == key or fnmatch.fnmatch(stream, _source_of(key, value))
            for key, value in self.stream_maps.items()
        )


def _source_of(key: str, value: Any) -> str:
    return str(value[SOURCE]) if isinstance(value, dict) and SOURCE in value else key


def read_config(config: dict[str, Any]) -> MapperConfig:
    """Check the settings the way singer-sdk does at start, with a line per problem."""
    from .functions import functions

    maps = config.get("stream_maps")
    if maps is None:
        maps = {}
    if not isinstance(maps, dict):
        raise ConfigError("stream_maps must be an object of stream name -> map (or null)")
    maps = dict(maps)
    map_config = config.get("stream_map_config") or {}
    if not isinstance(map_config, dict):
        raise ConfigError("stream_map_config must be an object")
    if config.get("flattening_enabled"):
        raise ConfigError(
            "flattening_enabled is not supported by mapper-stream-maps; leave it out (or use "
            "meltano-map-transformer for flattening)"
        )
    drop = False
    if ELSE in maps:
        if not _is_null(maps[ELSE]):
            raise ConfigError(f"stream_maps.{ELSE} may only be null (drop unmapped streams)")
        drop = True
        maps.pop(ELSE)
    for key, value in maps.items():
        if key.startswith("__"):
            raise ConfigError(
                f"stream_maps.{key}: unknown option (a stream name cannot start with __)"
            )
        if not (_is_null(value) or isinstance(value, dict)):
            raise ConfigError(
                f"stream_maps.{key} must be an object of property -> expression, or null to "
                f"drop the stream (got {type(value).__name__})"
            )
    hash_key = map_config.get("hash_key")
    if hash_key is not None and (not isinstance(hash_key, str) or not hash_key):
        raise ConfigError("stream_map_config.hash_key must be a non-empty string")
    return MapperConfig(maps, map_config, drop, functions(hash_key))


@dataclass
class OutputMap:
    """One output stream made from a tap's stream. `identity` means records pass unchanged."""

    alias: str
    schema: dict[str, Any]
    key_properties: list[str] | None
    identity: bool = False
    removed: bool = False
    include_by_default: bool = True
    keep_keys: list[str] = field(default_factory=list)
    keep_filter: Callable[[Record], bool] | None = None
    steps: list[tuple[str, Expression | None]] = field(default_factory=list)

    def apply(self, record: Record) -> Record | None:
        """The mapped record, or None when the filter drops it or the stream is removed."""
        if self.removed:
            return None
        if self.identity:
            return record
        if self.keep_filter is not None and not self.keep_filter(record):
            return None
        if self.include_by_default:
            out = record.copy()
        else:
            out = {k: record[k] for k in self.keep_keys if k in record}
        for prop, expr in self.steps:
            if expr is None:
                out.pop(prop, None)
            else:
                out[prop] = expr.evaluate(record)
        return out


def build_maps(
    config: MapperConfig, stream: str, schema: dict[str, Any], key_properties: list[str] | None
) -> list[OutputMap]:
    """The output streams for `stream` (singer-sdk's register_raw_stream_schema)."""
    primary = OutputMap(stream, schema, key_properties, identity=not config.drop_unmapped)
    primary.removed = config.drop_unmapped
    outputs = [primary]
    for key, value in config.stream_maps.items():
        definition = dict(value) if isinstance(value, dict) else value
        source, alias, is_primary = key, key, True
        if isinstance(definition, dict):
            if SOURCE in definition:
                source, is_primary = str(definition.pop(SOURCE)), False
            elif ALIAS in definition:
                alias = _alias(str(definition.pop(ALIAS)), stream, key)
        if stream == source:
            pass
        elif fnmatch.fnmatch(stream, source):
            if alias == source:
                alias = stream
        else:
            continue
        if isinstance(definition, dict):
            out = _custom(config, stream, alias, schema, key_properties, definition, key)
        else:
            out = OutputMap(alias, schema, None, removed=True)
        if is_primary:
            outputs[0] = out
        else:
            outputs.append(out)
    return outputs


def _alias(expr: str, stream: str, key: str) -> str:
    """singer-sdk's alias: an expression over __stream_name__, or the text itself. As in
    singer-sdk every map's alias is read at every stream's SCHEMA, so an error names its map."""
    try:
        result = simpleeval.EvalWithCompoundTypes(names={"__stream_name__": stream}).eval(expr)
    except simpleeval.NameNotDefined:
        return expr
    except (simpleeval.InvalidExpression, SyntaxError) as exc:
        raise ConfigError(
            f"stream_maps.{key}.{ALIAS} {expr!r} is not a valid expression ({exc}); write a "
            f"name with blanks or quotes as a quoted string: {_quoted(expr)}"
        ) from None
    return str(result)


def _quoted(name: str) -> str:
    """`name` as the config's text of a string expression (a Python literal)."""
    return json.dumps(repr(name), ensure_ascii=False)


def _custom(
    config: MapperConfig,
    stream: str,
    alias: str,
    raw_schema: dict[str, Any],
    key_properties: list[str] | None,
    definition: dict[str, Any],
    key: str,
) -> OutputMap:
    where = f"stream_maps.{key} (stream {stream!r})"
    properties = frozenset((raw_schema.get("properties") or {}).keys())
    scope = Scope(stream, alias, properties, config.map_config, config.functions)
    keys = key_properties
    if KEYS in definition:
        keys = definition.pop(KEYS)
        if keys is not None and not (
            isinstance(keys, list) and all(isinstance(k, str) for k in keys)
        ):
            raise ConfigError(f"{where}.{KEYS} must be a list of property names, or null")
    keep_filter = None
    if FILTER in definition:
        text = definition.pop(FILTER)
        if not isinstance(text, str):
            raise ConfigError(f"{where}.{FILTER} must be an expression (a string)")
        expr = compile_expression(text, scope, None, f"{where}.{FILTER}")
        keep_filter = _filter(expr)
    include = True
    if ELSE in definition:
        if not _is_null(definition.pop(ELSE)):
            raise ConfigError(f"{where}.{ELSE} may only be null (keep only the mapped properties)")
        include = False
    schema = copy.copy(raw_schema) if include else copy.deepcopy(EMPTY_SCHEMA)
    schema["properties"] = dict(schema.get("properties") or {})
    steps: list[tuple[str, Expression | None]] = []
    for prop, text in definition.items():
        if _is_null(text):
            if prop in (keys or []):
                raise ConfigError(
                    f"{where}: {prop!r} is a key property and cannot be dropped; set "
                    f"{KEYS} to the new key (or null for none)"
                )
            if prop not in properties:
                raise ConfigError(
                    f"{where}: cannot drop {prop!r}: stream {stream!r} has no such property "
                    f"(its properties: {', '.join(sorted(properties)) or 'none'}); fix the name"
                )
            schema["properties"].pop(prop, None)
            if "required" in schema:
                schema["required"] = [r for r in schema["required"] if r != prop]
            steps.append((prop, None))
        elif isinstance(text, str):
            expr = compile_expression(text, scope, prop, f"{where}.{prop}")
            existing = (
                schema["properties"].get(prop)
                or (raw_schema.get("properties") or {}).get(expr.names or "")
                or {}
            )
            schema["properties"][prop] = _type_of(text, existing, raw_schema)
            steps.append((prop, expr))
        else:
            raise ConfigError(
                f"{where}.{prop} must be an expression (a string) or null, not {type(text).__name__}"
            )
    for k in keys or []:
        if k not in schema["properties"]:
            raise ConfigError(
                f"{where}: key property {k!r} is not in the mapped stream; map it or change {KEYS}"
            )
    return OutputMap(
        alias,
        schema,
        keys,
        include_by_default=include,
        keep_keys=list(keys or []),
        keep_filter=keep_filter,
        steps=steps,
    )


def _filter(expr: Expression) -> Callable[[Record], bool]:
    def keep(record: Record) -> bool:
        return bool(expr.evaluate(record))

    return keep


_NULLABLE = {"type": ["string", "null"]}


def _type_of(text: str, existing: dict[str, Any], raw_schema: dict[str, Any]) -> dict[str, Any]:
    """singer-sdk's type detection from the expression's text, and one rule more: a hash is a
    string whatever it hashed (singer-sdk keeps an integer column's type for md5(str(id)))."""
    t = text.strip()
    if t == "record":
        return _with_null(raw_schema)
    if t.startswith(tuple(f"{h}(" for h in HASHES)):
        return dict(_NULLABLE)
    for prefix, kind in (
        ("float(", "number"),
        ("int(", "integer"),
        ("str(", "string"),
        ("bool(", "boolean"),
        ("json.dumps(", "string"),
    ):
        if t.startswith(prefix):
            return {"type": [kind, "null"]}
    if t.startswith(("datetime.date.", "datetime.date(")) or t.endswith(".date()"):
        return {"type": ["string", "null"], "format": "date"}
    if t.startswith(("datetime.datetime.", "datetime.datetime(")):
        return {"type": ["string", "null"], "format": "date-time"}
    if len(t) > 1 and t[0] == "'" and t[-1] == "'":
        return dict(_NULLABLE)
    return _with_null(existing) if existing else dict(_NULLABLE)


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema that also allows null, as singer-sdk writes every mapped property (its
    Property(...).to_dict() with an optional property)."""
    out = copy.deepcopy(schema)
    if "anyOf" in out:
        if isinstance(out["anyOf"], list):
            if "null" not in out["anyOf"]:
                out["anyOf"].append("null")
        elif out["anyOf"] != "null":
            out["anyOf"] = [out["anyOf"], "null"]
    elif "oneOf" in out:
        out["oneOf"].append({"type": "null"})
    elif "type" in out:
        kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
        if "null" not in kinds:
            out["type"] = [*kinds, "null"]
    return out


__all__ = ["MapFailure", "MapperConfig", "OutputMap", "build_maps", "read_config"]
