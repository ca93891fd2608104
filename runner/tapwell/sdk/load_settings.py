"""How our SQL targets read the settings that shape a load: `load_method`, `hard_delete` and
`stream_settings`, which overrides those two for one stream. One implementation for
target-postgres and target-duckdb (issue 12 item 4: one copy of each rule).

    {"load_method": "upsert", "stream_settings": {"shop-events": {"load_method": "append-only"},
                                                  "shop-lookup": {"hard_delete": true}}}

A bad value is a ConfigError (exit 2) naming the key, `stream_settings.<stream>.<key>` for a
per-stream one. The two targets grew apart before this module, and their users and tests rely
on the differences, so each target passes its `Dialect`: the error wordings and whether values
are read loosely (target-postgres: yes/no/on/off/1/0 are booleans, an empty or false value is
unset, a null per-stream value is the built-in default) or strictly (target-duckdb: only
true/false, a null per-stream value is the global setting). Aligning them is a behaviour change
for a later issue; here it is one place to make it.

`unmatched_entries` gives the warnings, at the end of a load, for per-stream entries that named
no stream that came (a typo, or a name the tap does not send).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from tapwell.sdk.settings import setting
from tapwell.singer.errors import ConfigError, did_you_mean

LOAD_METHODS = ("upsert", "append-only", "overwrite")
STREAM_KEYS = ("load_method", "hard_delete")
_LOOSE_TRUE = ("true", "1", "yes", "on")
_LOOSE_FALSE = ("", "false", "0", "no", "off")


@dataclass(frozen=True)
class StreamSettings:
    """How one stream loads."""

    load_method: str = "upsert"
    hard_delete: bool = False

    @property
    def upsert(self) -> bool:
        return self.load_method == "upsert"


@dataclass(frozen=True)
class Dialect:
    """A target's reading of these settings: loose or strict values (see the module docstring)
    and its error texts, `str.format` templates with {where} (`stream_settings.<stream>`),
    {unknown} (the unknown keys, joined), {first} (the first, quoted) and {keys} (STREAM_KEYS)."""

    loose: bool
    not_object: str
    entry_not_object: str
    unknown_key: str


def load_method(value: Any, key: str, dialect: Dialect) -> str:
    """`value` as a load method; unset (None, "", and under `loose` any false value) is upsert."""
    if dialect.loose:
        value = str(value or "upsert")
    elif value is None or value == "":
        return "upsert"
    if value not in LOAD_METHODS:
        raise ConfigError(f"config key {key}: {value!r} is not one of {', '.join(LOAD_METHODS)}")
    return str(value)


def flag(value: Any, key: str, dialect: Dialect) -> bool:
    """`value` as a boolean: a JSON boolean, None (false), or a word (true/false; under `loose`
    also yes/no, on/off, 1/0 and the empty string)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if dialect.loose or isinstance(value, str):
        text = str(value).lower()
        if text in (_LOOSE_TRUE if dialect.loose else ("true",)):
            return True
        if text in (_LOOSE_FALSE if dialect.loose else ("false",)):
            return False
    raise ConfigError(f"config key {key}: {value!r} is not true or false")


def defaults(config: dict[str, Any], dialect: Dialect) -> StreamSettings:
    """The global `load_method` and `hard_delete`: every stream's unless it has its own."""
    return StreamSettings(
        load_method(config.get("load_method"), "load_method", dialect),
        flag(config.get("hard_delete"), "hard_delete", dialect),
    )


def stream_settings(
    value: Any, globals_: StreamSettings, dialect: Dialect
) -> dict[str, StreamSettings]:
    """`stream_settings` as {stream: StreamSettings}, a key left out taking the global value."""
    if value is None or (dialect.loose and not value):
        return {}
    if not isinstance(value, dict):
        raise ConfigError(dialect.not_object)
    keys = ", ".join(STREAM_KEYS)
    out: dict[str, StreamSettings] = {}
    for stream, given in value.items():
        where = f"stream_settings.{stream}"
        if not isinstance(given, dict):
            raise ConfigError(dialect.entry_not_object.format(where=where))
        unknown = sorted(set(given) - set(STREAM_KEYS))
        if unknown:
            raise ConfigError(
                dialect.unknown_key.format(
                    where=where, unknown=", ".join(unknown), first=repr(unknown[0]), keys=keys
                )
            )
        method, hard = given.get("load_method"), given.get("hard_delete")
        if dialect.loose:  # only a key left out is the global one; null is the built-in default
            method = given.get("load_method", globals_.load_method)
            hard = given.get("hard_delete", globals_.hard_delete)
        out[str(stream)] = StreamSettings(
            globals_.load_method
            if method is None and not dialect.loose
            else load_method(method, f"{where}.load_method", dialect),
            globals_.hard_delete
            if hard is None and not dialect.loose
            else flag(hard, f"{where}.hard_delete", dialect),
        )
    return out


def split_stream(stream: str) -> tuple[str | None, str]:
    """A tap's stream name -> (source schema, table): `db-orders` -> ("db", "orders"), as
    PipelineWise and singer-sdk targets read MySQL and PostgreSQL taps' `<schema>-<table>` names."""
    parts = stream.split("-")
    if len(parts) in (2, 3) and all(parts):
        return parts[-2], parts[-1]
    return None, stream


STREAMS_NAMED = 8  # an unmatched entry's line names at most this many of the streams seen


def unmatched_entries(
    setting: str,
    entries: Iterable[str],
    matched: Callable[[str], bool],
    seen: Collection[str],
    candidates: Collection[str] = (),
    note: Callable[[str], str] | None = None,
) -> list[str]:
    """One warning line per entry of `setting` (`stream_settings`, `schema_mapping`) that
    `matched` no stream of the load: a per-stream setting keyed by a name no stream has changes
    nothing, silently, until someone wonders why the table grew. Each line names the entry, the
    streams `seen` and, for a near miss among them (or among `candidates`, e.g. source schemas),
    a did-you-mean, unless `note(entry)` gives a sentence that explains the miss instead. None
    for a load that saw no stream at all (nothing came to match)."""
    if not seen:
        return []
    streams = sorted(seen)
    shown = ", ".join(streams[:STREAMS_NAMED])
    if len(streams) > STREAMS_NAMED:
        shown += f" and {len(streams) - STREAMS_NAMED} more"
    lines = []
    for entry in entries:
        if matched(entry):
            continue
        line = f"{setting} entry {entry!r} matched no stream of this load and changed nothing (streams: {shown})"
        extra = note(entry) if note is not None else ""  # it explains the miss: no guess then
        line += f"; {extra}" if extra else did_you_mean(entry, sorted({*streams, *candidates}))
        lines.append(line)
    return lines


def unmatched_mappings(entries: Iterable[str], seen: Collection[str]) -> list[str]:
    """unmatched_entries for `schema_mapping` as our SQL targets read it, PipelineWise's meaning:
    an entry is keyed by a stream's whole name or by the source schema of `<schema>-<table>`
    names (split_stream), so either matches, a near miss among both is named, and an entry
    named like a stream's table (`orders` of `shop-orders`) says how it is keyed instead."""
    sources = {s for s, _ in map(split_stream, seen) if s is not None}
    tables = {t: s for s in seen for src, t in [split_stream(s)] if src is not None}
    return unmatched_entries(
        "schema_mapping",
        entries,
        lambda key: key in seen or key in sources,
        seen,
        sources,
        lambda key: (
            f"it is keyed by a stream's source schema ({split_stream(tables[key])[0]!r} of "
            f"{tables[key]!r}) or by its whole name, not by its table"
            if key in tables
            else ""
        ),
    )


# the setting `tapwell run` fills beside `stream_settings` (tapwell.runner.project)
DERIVED_HELP = (
    "Set by `tapwell run`: the stream_settings entries it made from tapwell.yml's streams: "
    "(checked there against the catalog, and given under both a stream's tap_stream_id and its "
    "name, only one of which the tap sends); an entry of stream_settings or schema_mapping "
    "that matches no stream of the load is warned about at its end, except these"
)


def stream_names(value: Any, key: str) -> tuple[str, ...]:
    """A list of stream names (DERIVED_HELP's setting)."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"config key {key}: must be a list of stream names")
    return tuple(value)


def derived_setting() -> Any:
    """Both targets' `stream_settings_derived` (DERIVED_HELP)."""
    return setting(
        (),
        type="array",
        parse=stream_names,
        schema={"items": {"type": "string"}},
        show_default=False,
        help=DERIVED_HELP,
    )
