"""tap-csv's settings, declared once: what discovery and sync read, what `--about` prints and the
README's table lists (tapwell.sdk.settings)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from tapwell.sdk.settings import Settings, setting, whole_number
from tapwell.sdk.tap_batch import BatchConfig, parse_batch_config
from tapwell.sdk.tap_cli import raise_config_errors
from tapwell.singer.errors import ConfigError, did_you_mean

__all__ = ["SETTINGS", "CsvConfig"]

# A column's JSON Schema property: an object whose `type` (when given) names JSON types, so a
# typo (`"integr"`, or `"integer"` where the property belongs) is one line, not a string column
# or a traceback.
_KINDS = ["null", "boolean", "integer", "number", "string", "object", "array"]
_PROPERTY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {  # a name or a list of names (pattern: strings only; items: arrays only)
            "type": ["string", "array"],
            # (?!\n): Python's `$` (jsonschema's re.search) also matches before a last newline
            "pattern": "^(" + "|".join(_KINDS) + ")$(?!\n)",
            "items": {"enum": _KINDS},
        }
    },
}

STREAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "path": {"type": "string"},
        "paths": {"type": "array", "items": {"type": "string"}},
        "key_properties": {"type": "array", "items": {"type": "string"}},
        "replication_key": {"type": "string"},
        "schema": {
            "type": "object",
            "properties": {"properties": {"type": "object", "additionalProperties": _PROPERTY}},
        },
        "column_types": {"type": "object", "additionalProperties": _PROPERTY},
        "delimiter": {"type": "string", "minLength": 1, "maxLength": 1},
        "quotechar": {"type": "string", "minLength": 1, "maxLength": 1},
        "encoding": {"type": "string"},
        "null_values": {"type": "array", "items": {"type": "string"}},
    },
}


# A column's keywords (column_types, schema's properties), by what is done with them. USED: tap-csv
# reads them (the column's kind, its precision, its bounds; draft 4's boolean exclusiveMaximum is
# turned into draft 7's) and so do the targets. NOTES: annotations, meaning nothing to a load.
# UNCHECKED: draft 7's other keywords, which no tapwell connector checks: sent in the SCHEMA as
# written, with a warning, as a value breaking them is loaded anyway. Any other key is refused,
# `tpye` would otherwise send a column with no type (any JSON value) without a word.
USED_KEYWORDS = (
    "type",
    "format",
    "multipleOf",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "x-precision",
    "x-scale",
    "anyOf",
    "oneOf",
)
NOTE_KEYWORDS = ("title", "description", "$comment", "examples")
UNCHECKED_KEYWORDS = (
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "default",
    "contentEncoding",
    "contentMediaType",
    "readOnly",
    "writeOnly",
    "$id",
    "$schema",
    "$ref",
    "definitions",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "items",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "properties",
    "patternProperties",
    "additionalProperties",
    "required",
    "minProperties",
    "maxProperties",
    "propertyNames",
    "dependencies",
)
_KEYWORDS = [*USED_KEYWORDS, *NOTE_KEYWORDS, *UNCHECKED_KEYWORDS]


def _check_keywords(entries: list[Any], key: str) -> None:
    """Each column property of each stream (column_types, schema's properties) has keywords
    tap-csv knows: a key no JSON Schema draft 7 keyword is refused, naming the one meant; one
    tap-csv does not check is a warning line on stderr."""
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue  # the schema check words it
        schema = entry.get("schema")
        if schema and entry.get("column_types"):
            raise ConfigError(
                f"config key {key}/{i}/column_types: stream {entry.get('name')!r}: column_types "
                "is not read when schema declares every column: give the columns' types in "
                "schema's properties, or drop schema to have the other columns inferred"
            )
        places = [("column_types", entry.get("column_types"))]
        if isinstance(schema, dict):
            places.append(("schema/properties", schema.get("properties")))
        for where, columns in places:
            if not isinstance(columns, dict):
                continue
            for column, prop in columns.items():
                at = f"{key}/{i}/{where}/{column}"
                _check_property(prop, at, f"stream {entry.get('name')!r}, column {column!r}")


def _check_property(prop: Any, at: str, whose: str) -> None:
    if not isinstance(prop, dict):
        return  # the schema check words it
    for word, value in prop.items():
        if word in ("anyOf", "oneOf") and isinstance(value, list):
            for n, sub in enumerate(value):
                _check_property(sub, f"{at}/{word}/{n}", whose)
        if word in USED_KEYWORDS or word in NOTE_KEYWORDS:
            continue
        if word in UNCHECKED_KEYWORDS:
            sys.stderr.write(
                f"tap-csv: warning: config key {at}/{word}: {whose}: {word!r} is a JSON Schema "
                "keyword tap-csv does not check: it goes out in the SCHEMA as written, and no "
                "tapwell target checks it either\n"
            )
            continue
        raise ConfigError(
            f"config key {at}/{word}: {whose}: {word!r} is not a keyword of a column's type"
            f"{did_you_mean(word, _KEYWORDS)} (keywords: {', '.join(USED_KEYWORDS)}; "
            f"notes: {', '.join(NOTE_KEYWORDS)})"
        )


# Read from a stream entry but not shown: Meltano tap-csv's name for key_properties.
_STREAM_ALIASES = ("keys",)


def _streams(value: Any, key: str) -> tuple[dict[str, Any], ...]:
    """The `streams` list, each entry checked against STREAM_SCHEMA (every problem at once). A key
    no stream setting has is refused, as a nested entry's is in our other connectors (tap-rest's
    streams, target-duckdb's stream_settings): a typo (`replication_kye`) would otherwise sync
    the stream FULL_TABLE without a word."""
    if isinstance(value, list):
        _refuse_unknown_keys(value, key)
        _check_keywords(value, key)
    raise_config_errors(
        {"type": "object", "properties": {key: {"type": "array", "items": STREAM_SCHEMA}}},
        {key: value},
    )
    return tuple(value)


# Meltano tap-csv's `files` entries: the keys tap-csv reads from them (discovery.stream_configs).
FILE_KEYS = ("entity", "path", "keys", "delimiter", "encoding")


def _files(value: Any, key: str) -> tuple[dict[str, Any], ...]:
    """The `files` list (Meltano tap-csv's shape), a key no entry setting has refused as a
    stream's is: `keyz` would otherwise sync the stream without its key properties."""
    if isinstance(value, list):
        _refuse_unknown_keys(value, key, FILE_KEYS, "entity", "file setting")
    raise_config_errors(
        {"type": "object", "properties": {key: {"type": "array", "items": {"type": "object"}}}},
        {key: value},
    )
    return tuple(value)


def _refuse_unknown_keys(
    entries: list[Any],
    key: str,
    settings: Any = None,
    name: str = "name",
    what: str = "stream setting",
) -> None:
    shown = list(settings or STREAM_SCHEMA["properties"])
    known = shown if settings else [*shown, *_STREAM_ALIASES]
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue  # the schema check words it
        for field in entry:
            if field in known:
                continue
            raise ConfigError(
                f"config key {key}/{i}/{field}: stream {entry.get(name)!r}: {field!r} is not a "
                f"{what}{did_you_mean(field, known)} ({what}s: {', '.join(shown)})"
            )


@dataclass(frozen=True, kw_only=True)
class CsvConfig:
    streams: tuple[dict[str, Any], ...] | None = setting(
        None,
        type="array",
        parse=_streams,
        schema={"items": STREAM_SCHEMA},
        help="Streams: name, path (or paths: globs), key_properties, replication_key, schema, "
        "column_types, delimiter, quotechar, encoding, null_values (another key is refused)",
    )
    files: tuple[dict[str, Any], ...] = setting(
        (),
        type="array",
        parse=_files,
        help="Meltano tap-csv's shape: entity, path, keys, delimiter, encoding (another key is "
        "refused)",
    )
    base_dir: str = setting(
        ".", help="Relative paths are taken from here (default: the working directory)"
    )
    sample_rows: int = setting(
        1000, type="integer", parse=whole_number(0), help="Rows read to infer types (0: all)"
    )
    start_date: str = setting(
        "", help="Replication-key value to start from when there is no bookmark", show_default=False
    )
    batch_config: BatchConfig | None = setting(
        None,
        type="object",
        parse=parse_batch_config,
        show_default=False,
        help="The fast lane (singer-sdk's spelling): rows go into csv (tapwell's dialect) or jsonl "
        'files, {"encoding": {"format": "csv"|"jsonl", "compression": "none"|"gzip"}, "storage": '
        '{"root": "file:///dir", "prefix": ""}, "batch_size": 100000, "max_pending_files": 0, '
        '"durable": true}, each file announced by a BATCH message and followed by a STATE; '
        "max_pending_files (tapwell's): wait while more files are not yet consumed (0: never; "
        "counted in rows: that many files of batch_size rows, a smaller last file its own rows); "
        "durable (tapwell's): fsync each file before its BATCH (false: not, as `tapwell run`'s "
        "spool says, whose target commits the rows within the run); `tapwell run` sets it when "
        "the target reads csv files",
    )


SETTINGS = Settings(CsvConfig)
