"""The JSON Schema of tapwell.yml, and validation whose errors name the key and say the fix.

The schema is checked on the file as written (before `${ENV}` interpolation), so a missing
secret never hides a typo in a key, and the error never shows a secret's value. A file that
passed is not checked again while its bytes and this schema stay the same (`checked_once`):
importing jsonschema and building its validator took 70 ms, a third of `tapwell run`'s start-up.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import orjson

from tapwell.singer.errors import ConfigError

_STRINGS = {"type": "array", "items": {"type": "string"}}
_URLS = {"oneOf": [{"type": "string"}, _STRINGS]}

CONNECTOR: dict[str, Any] = {
    "description": "One of ours by name (tap-csv), or any Singer executable by command",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "command": {"oneOf": [{"type": "string", "minLength": 1}, _STRINGS]},
                "venv": {
                    "type": "string",
                    "description": "a venv made by `tapwell install` (its bin/ is searched)",
                },
                "pip_url": {
                    "type": "string",
                    "description": "what `tapwell install` pip-installs into the venv",
                },
                "config": {
                    "oneOf": [{"type": "object"}, {"type": "string"}],
                    "description": "inline mapping, or a JSON/YAML file relative to the project",
                },
                "catalog_flag": {
                    "enum": ["--catalog", "--properties", "auto"],
                    "description": "how the tap takes its catalog; auto (default) reads its --help",
                },
            },
            "anyOf": [{"required": ["name"]}, {"required": ["command"]}],
        },
    ],
}

# One target of `targets:` (fan-out): a connector as under `target:`, and whether its failure
# fails the run (`required`, default true).
TARGET_ITEM: dict[str, Any] = {
    "description": "a target as under target:, with required: false for a secondary one",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            **{k: v for k, v in CONNECTOR["oneOf"][1].items() if k != "properties"},
            "properties": {
                **CONNECTOR["oneOf"][1]["properties"],
                "required": {
                    "type": "boolean",
                    "description": "false: a failure of this target does not fail the run",
                },
            },
        },
    ],
}

TRANSFORM: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "mapper-stream-maps' config: singer-sdk's stream_maps and stream_map_config",
    "properties": {"stream_maps": {"type": "object"}, "stream_map_config": {"type": "object"}},
}

# exactly one of target / targets
TARGET_CHOICE: list[dict[str, Any]] = [{"required": ["target"]}, {"required": ["targets"]}]

STREAM_OVERRIDE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "replication_method": {"enum": ["FULL_TABLE", "INCREMENTAL", "LOG_BASED"]},
        "replication_key": {"type": "string"},
        "key_properties": _STRINGS,
        "load_method": {
            "enum": ["upsert", "append-only", "overwrite"],
            "description": "how our targets load the stream (their stream_settings)",
        },
        "hard_delete": {
            "type": "boolean",
            "description": "delete rows of older table versions instead of marking them",
        },
    },
}

RETRY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "attempts": {"type": "integer", "minimum": 1, "maximum": 100},
        "backoff_seconds": {
            "type": "number",
            "minimum": 0,
            "description": "first wait; doubles each attempt",
        },
        "max_backoff_seconds": {"type": "number", "minimum": 0},
        "stall_timeout_seconds": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "kill and retry a run with no output for this long",
        },
        "retry_unknown_errors": {
            "type": "boolean",
            "description": "retry exit codes other than 2 and 75 (default true)",
        },
    },
}

NOTIFY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "on_failure": _URLS,
        "on_success": _URLS,
        "healthcheck": {
            "type": "string",
            "description": "dead-man switch: pinged at start (/start) and after success",
        },
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0},
    },
}

STATE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "backend": {"enum": ["file", "postgres"]},
        "path": {"type": "string"},
        "dsn": {
            "type": "string",
            "description": "libpq connection string or URL (postgres backend)",
        },
        "schema": {
            "type": "string",
            "description": "PostgreSQL schema for the runner's tables (default tapwell)",
        },
        "keep_runs_days": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "remove run records and logs older than this many days (each "
            "integration's newest 20 runs stay; the run totals stay); default: keep every run",
        },
        "recover": {
            "description": "where the target keeps state in the destination (automatic for "
            "target-postgres and target-duckdb); false turns recovery off",
            "oneOf": [
                {"const": False},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["dsn", "query"],
                    "properties": {"dsn": {"type": "string"}, "query": {"type": "string"}},
                },
            ],
        },
    },
}

INTEGRATION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["tap"],
    "oneOf": TARGET_CHOICE,
    "properties": {
        "tap": CONNECTOR,
        "target": CONNECTOR,
        "targets": {"type": "array", "minItems": 1, "items": TARGET_ITEM},
        "transform": TRANSFORM,
        "mappers": {
            "type": "array",
            "items": CONNECTOR,
            "description": "Singer mappers chained in order after transform:",
        },
        "select": {**_STRINGS, "description": "stream patterns: orders, shop.*, !customers.ssn"},
        "streams": {"type": "object", "additionalProperties": STREAM_OVERRIDE},
        "schedule": {
            "type": "string",
            "pattern": r"^\s*(@\w+|(\S+\s+){4}\S+)\s*$",
            "description": "cron expression, five fields (or @daily ...)",
        },
        "timezone": {
            "type": "string",
            "description": "time zone of the schedule (IANA name; default UTC)",
        },
        "after": {
            **_STRINGS,
            "description": "tapwell serve runs it when each of these has succeeded since its last run",
        },
        "catchup": {
            "type": "boolean",
            "description": "tapwell serve runs it once at start if a scheduled time passed while it was down",
        },
        "retry": RETRY,
        "notify": NOTIFY,
        "state": STATE,
        "fast_lane": {
            "enum": ["auto", "on", "off", True, False],
            "description": "BATCH files between tap and target when both can (auto), always "
            "(on: refuse to run without; auto is the default), never (off)",
        },
        "fast_lane_batch_size": {
            "type": "integer",
            "minimum": 1,
            "description": "rows per BATCH file on the fast lane (200000)",
        },
    },
}

PROJECT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tapwell.yml",
    "type": "object",
    "additionalProperties": False,
    "required": ["integrations"],
    "properties": {
        "version": {"const": 1},
        "state": STATE,
        "catalogs": {"type": "string"},
        "env_file": {
            "type": "string",
            "description": "dotenv file of ${VAR} values, relative to tapwell.yml; the "
            "environment wins over it",
        },
        "venvs": {
            "type": "string",
            "description": "folder for `tapwell install` venvs (default .tapwell/venvs)",
        },
        "retry": RETRY,
        "notify": NOTIFY,
        "serve": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "max_parallel_runs": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "runs at once; the rest wait in order (default: the cores)",
                },
                "shutdown_grace_seconds": {
                    "type": "number",
                    "minimum": 0,
                    "description": "on SIGTERM, how long running runs may finish (default 60)",
                },
            },
        },
        "kubernetes": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "image": {"type": "string"},
                "namespace": {"type": "string"},
                "secret": {
                    "type": "string",
                    "description": "the Secret holding the ${ENV} variables",
                },
                "env": _STRINGS,
            },
        },
        "integrations": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
            "additionalProperties": INTEGRATION,
        },
    },
}


def _where(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _fix(error: Any) -> str:
    v = error.validator
    schema = error.schema
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return f"is missing {missing!r}: add it"
    if v == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties") or {}))
        extra = error.message.split("'")[1] if "'" in error.message else "?"
        return f"has an unknown key {extra!r}: remove it or use one of: {allowed}"
    if v == "enum":
        return "must be one of " + ", ".join(map(str, schema["enum"]))
    if v == "type":
        kind = schema["type"] if isinstance(schema["type"], str) else " or ".join(schema["type"])
        return f"must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    if v == "pattern" and "schedule" in str(error.path):
        return "must be a cron expression of five fields, e.g. '15 2 * * *'"
    if v == "propertyNames" or "propertyNames" in list(error.schema_path):
        return f"name {error.instance!r} may use only letters, digits, _ . and - (and start with a letter or digit)"
    if v == "oneOf" and schema.get("oneOf") is TARGET_CHOICE:
        both = isinstance(error.instance, dict) and "target" in error.instance
        return (
            "has both target and targets: keep one (targets: [...] for several)"
            if both
            else "is missing 'target': add it (or targets: [...] for several)"
        )
    if v == "oneOf" and "name" in str(schema):
        return "must be a name (tap-csv) or a mapping with name/command and config"
    if v == "anyOf":
        return "needs a 'name' or a 'command'"
    if v == "minProperties":
        return "is empty: define at least one integration"
    if v == "const":
        return f"must be {schema['const']!r}"
    desc = schema.get("description")
    return error.message.split("\n")[0] + (f" ({desc})" if desc else "")


def validate_project(raw: Any, source: str = "tapwell.yml") -> None:
    """Raise a ConfigError listing every problem as `source: key.path fix` (at most 10)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(PROJECT_SCHEMA)
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.path)))
    if not errors:
        return
    lines = []
    for error in errors[:10]:
        if (
            error.validator in ("oneOf", "anyOf")
            and error.context
            and error.schema.get("oneOf") is not TARGET_CHOICE
        ):
            # The branch whose type fits the value explains the problem; the others only say "not a string".
            fitting = [e for e in error.context if e.validator not in ("type", "const")]
            if fitting:
                error = best_match(fitting)
        lines.append(f"{_where(list(error.absolute_path))} {_fix(error)}")
    raise ConfigError(f"{source}: " + "; ".join(lines))


# YAML 1.1 (PyYAML) reads these unquoted words as booleans: `on:` names the integration True.
_BOOLEAN_WORDS = {True: "on, yes or true", False: "off, no or false"}


def _names_not_text(raw: Any) -> list[str]:
    """One problem per integration name YAML did not read as text (`on:` is the boolean true,
    `2024:` a number): the schema's name pattern passes a non-string by, and it failed later."""
    integrations = raw.get("integrations") if isinstance(raw, dict) else None
    if not isinstance(integrations, dict):
        return []
    problems = []
    for name in integrations:
        if isinstance(name, str):
            continue
        if isinstance(name, bool):
            read = f"the boolean {str(name).lower()} (an unquoted {_BOOLEAN_WORDS[name]})"
        elif isinstance(name, (int, float)):
            read = f"the number {name!r}"
        else:
            read = f"{name!r} ({type(name).__name__})"
        problems.append(
            f"integrations: a name YAML reads as {read}, not as text: quote it (e.g. 'on':)"
        )
    return problems


CHECKED_FILE = "checked-projects.json"  # under the project's .tapwell/
CHECKED_KEPT = 8  # versions of tapwell.yml remembered as valid
CHECKED_KEPT_USER = 64  # in this user's cache folder, of every project (probe.user_cache_dir)


def checked_once(raw: Any, source: str, text: bytes, root: Path, parser: str) -> None:
    """validate_project, unless these exact bytes of the project file passed it before with this
    schema and this YAML `parser` (its version: the same bytes then make the same `raw`). Passes
    are kept in .tapwell/checked-projects.json and in this user's cache folder (keyed by the
    bytes alone: a new copy of the project is not checked again), failures never; a folder that
    cannot be written only means checking again. Integration names that are not text are refused each time
    (a pass kept before this check existed does not hide them)."""
    unquoted = _names_not_text(raw)
    if unquoted:
        raise ConfigError(f"{source}: " + "; ".join(unquoted))
    schema = orjson.dumps(PROJECT_SCHEMA, option=orjson.OPT_SORT_KEYS)
    key = hashlib.sha256(b"\0".join([parser.encode(), schema, text])).hexdigest()
    from tapwell.runner.probe import cache_paths, rewrite

    paths = cache_paths(root, CHECKED_FILE)  # the project's, and this user's (every project's)
    if any(key in _kept_keys(p) for p in paths):
        return
    validate_project(raw, source)
    for path, most in zip(paths, (CHECKED_KEPT, CHECKED_KEPT_USER), strict=True):
        rewrite(path, functools.partial(_with_key, path, key, most))


def _with_key(path: Path, key: str, most: int) -> bytes:
    """The keys kept in `path` now, `key` added last, the newest `most`."""
    keys = _kept_keys(path)
    return orjson.dumps([k for k in keys if k != key][-(most - 1) :] + [key])


def _kept_keys(path: Path) -> list[str]:
    from tapwell.runner.probe import read_kept

    kept = read_kept(path)
    return [k for k in kept if isinstance(k, str)] if isinstance(kept, list) else []
