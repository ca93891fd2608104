"""The incoming state, checked against the streams it will drive before any message is written.

A state of the wrong shape must never half-run a sync: a bookmark the tap cannot use would
otherwise crash mid-stream (after SCHEMA, perhaps after a new table version was announced) or,
worse, be read as "no bookmark" and start the table over. So every bookmark of a selected stream
is checked first (its keys' types, replication-key values against the column's type, binlog
positions, primary-key values), and the first bad one is one line naming the key and the fix,
exit 2 (`ConfigError`). Bookmarks of streams that are not selected are carried along untouched.

The generic shape (`bookmarks` an object of objects, `currently_syncing` a string or null) is
checked for every tap by `tapwell.singer.state`; it is repeated here only as far as the lookups below
need it, so this module never trips over a state it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson
from tapwell.singer.datetime_rule import (
    NOT_A_DATE,
    NOT_A_DATE_OR_DATETIME,
    NOT_A_DATETIME,
    parse_date,
    parse_datetime,
)
from tapwell.singer.errors import ConfigError

from .config import MySQLConfig
from .types import Column

if TYPE_CHECKING:
    from .sync_common import StreamPlan

# The keys tap-mysql reads in a stream's bookmark, and what each must be.
_BOOLEANS = ("initial_full_table_complete", "initial_binlog_complete")
_STRINGS = ("replication_key", "log_file", "gtid")
_KEY_VALUES = ("max_pk_values", "last_pk_fetched")


def check_state(state: dict[str, Any], streams: Iterable[StreamPlan]) -> None:
    """Raise `ConfigError` for the first bookmark of `streams` that tap-mysql cannot resume from."""
    bookmarks = state.get("bookmarks")
    if bookmarks is None:
        return
    if not isinstance(bookmarks, dict):
        raise ConfigError(
            f"state: bookmarks is {_text(bookmarks)}, not an object of stream bookmarks; "
            'fix the state file, or replace it with {"bookmarks": {}} to start every stream over'
        )
    for sp in streams:
        sid = sp.tap_stream_id
        if sid not in bookmarks:
            continue
        bookmark = bookmarks[sid]
        if not isinstance(bookmark, dict):
            raise ConfigError(
                f"state: bookmarks.{sid} is {_text(bookmark)}, not an object; {_fix(sid)}"
            )
        _check_bookmark(sp, bookmark)


def check_start_date(config: MySQLConfig, column: Column) -> None:
    """`start_date` must be a date (or date-time) when it is the start of a date key."""
    value = config.start_date
    if value and _value_problem(column, value) is not None:
        raise ConfigError(f"config key start_date: {_text(value)} is {NOT_A_DATE_OR_DATETIME}")


def _check_bookmark(sp: StreamPlan, bookmark: dict[str, Any]) -> None:
    sid = sp.tap_stream_id

    def bad(key: str, what: str) -> ConfigError:
        return ConfigError(
            f"state: bookmarks.{sid}.{key} is {_text(bookmark[key])}, {what}; {_fix(sid)}"
        )

    version = bookmark.get("version")
    if version is not None and (not _is_int(version) or version < 0):
        raise bad("version", "not a table version (a whole number, e.g. 1700000000000)")
    for key in _STRINGS:
        if bookmark.get(key) is not None and not isinstance(bookmark[key], str):
            raise bad(key, "not a string")
    log_pos = bookmark.get("log_pos")
    if log_pos is not None and (not _is_int(log_pos) or log_pos < 0):
        raise bad("log_pos", "not a binlog position (a whole number, e.g. 4)")
    for key in _BOOLEANS:
        if bookmark.get(key) is not None and not isinstance(bookmark[key], bool):
            raise bad(key, "not true or false")
    for key in _KEY_VALUES:
        if bookmark.get(key) is not None:
            _check_key_values(sp, bookmark, key, bad)
    rkey = sp.replication_key
    value = bookmark.get("replication_key_value")
    if rkey and value is not None and bookmark.get("replication_key") in (None, rkey):
        problem = _value_problem(sp.column(rkey), value)
        if problem is not None:
            raise bad("replication_key_value", f"{problem} for replication key {rkey!r}")


def _check_key_values(
    sp: StreamPlan, bookmark: dict[str, Any], key: str, bad: Callable[[str, str], ConfigError]
) -> None:
    values = bookmark[key]
    if not isinstance(values, dict):
        raise bad(key, "not an object of primary-key values")
    if not sp.key_properties:
        return  # a keyless table resumes from nothing; the value is ignored
    missing = [k for k in sp.key_properties if k not in values]
    if missing:
        raise bad(key, f"missing primary-key column {', '.join(map(repr, missing))}")
    for name in sp.key_properties:
        problem = _value_problem(sp.column(name), values[name])
        if problem is not None:
            raise bad(key, f"{problem} for primary-key column {name!r}")


def _value_problem(col: Column, value: Any) -> str | None:
    """Why `value` (from the state) cannot be compared with column `col`, or None."""
    kind = col.kind
    if value is None:
        return None
    if kind == "datetime":
        if not isinstance(value, str) or _iso(value, parse_datetime) is None:
            return NOT_A_DATETIME
    elif kind == "date":
        if not isinstance(value, str) or (
            _iso(value, parse_date) is None and _iso(value, parse_datetime) is None
        ):
            return NOT_A_DATE
    elif kind in ("int", "year", "bit"):
        if not (_is_int(value) or (isinstance(value, str) and _integer_text(value))):
            return "not a whole number"
    elif kind in ("decimal", "float"):
        if isinstance(value, bool) or not (
            isinstance(value, (int, float, Decimal)) or _decimal_text(value)
        ):
            return "not a number"
    elif kind == "bool":
        if not (isinstance(value, bool) or value in (0, 1)):
            return "not true or false"
    elif kind in ("string", "binary", "time", "spatial") and not isinstance(value, str):
        return "not a string"
    return None


def _iso(text: str, parse: Callable[[str], date]) -> date | None:
    """`text` read by the record check's rule (tapwell.singer.datetime_rule): a form Python's
    fromisoformat reads beyond it (`+0530`, `T00`, `20240131`, `2024-W05-3`) is refused here, not
    compared with the column (the targets would refuse it in the records)."""
    try:
        return parse(text)
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer_text(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def _decimal_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


def _text(value: Any) -> str:
    """A state value as JSON text, cut short: the line stays one line."""
    from tapwell.singer.wire import dumps

    try:
        text = dumps(value).decode()
    except (TypeError, ValueError, orjson.JSONEncodeError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fix(sid: str) -> str:
    return f"correct it, or remove bookmarks.{sid} from the state to sync the stream from the start"
