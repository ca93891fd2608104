"""Bookmark state as small pure functions over a dict, in singer's layout:

    {"currently_syncing": "orders", "bookmarks": {"orders": {"replication_key": "updated_at",
     "replication_key_value": "2024-01-01T00:00:00+00:00", "version": 1700000000000}}}

Functions return new dicts and never mutate their input, so a state that was written stays as
it was written. `check_state` is the shape every tap checks before it writes a message: a state
file of the wrong shape is one clear line, never a crash halfway through a sync.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tapwell.errors import ConfigError

# Keys of a stream's bookmark that every Singer tap gives the same meaning, with the JSON kinds
# they may hold. A tap's own keys (binlog positions, primary-key markers) are the tap's to check.
_KNOWN_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "replication_key": ((str,), "a string (the replication key's column name)"),
    "version": ((int,), "an integer (the table version, milliseconds since 1970)"),
    "initial_full_table_complete": ((bool,), "true or false"),
}

_FIX = "fix the state file, or remove it to sync from the start"
_PLAIN = re.compile(r"[A-Za-z0-9_\-]+")


def key_path(*parts: str) -> str:
    """`bookmarks.orders.version`; a part that is not a plain name (stream names are untrusted
    and may hold dots, quotes or newlines) is written as a quoted JSON string in brackets."""
    out = ""
    for part in parts:
        out += f".{part}" if _PLAIN.fullmatch(part) else f"[{json.dumps(part)}]"
    return out.lstrip(".")


def _kind(value: Any) -> str:
    """The JSON name of a value's kind, as a user reading the file would say it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a number"


def check_state(value: Any, where: str = "state") -> dict[str, Any]:
    """The state, if it has singer's shape; else ConfigError naming the first bad key and the fix.

    `bookmarks` must be an object of objects (one per stream), `currently_syncing` a string or
    null, and the bookmark keys every tap shares (`replication_key`, `version`,
    `initial_full_table_complete`, `replication_key_value`) of their kind. Called before a tap
    writes any message, so a corrupt state never starts a new table version.
    """
    if not isinstance(value, dict):
        raise ConfigError(
            f'{where} must be a JSON object like {{"bookmarks": {{}}}}, not {_kind(value)}; {_FIX}'
        )
    syncing = value.get("currently_syncing")
    if syncing is not None and not isinstance(syncing, str):
        raise ConfigError(
            f"{where}: currently_syncing must be a stream name (a string) or null, "
            f"not {_kind(syncing)}; {_FIX}"
        )
    if "bookmarks" not in value:
        return value
    bookmarks = value["bookmarks"]
    if not isinstance(bookmarks, dict):
        raise ConfigError(
            f"{where}: bookmarks must be an object of stream name -> bookmark, "
            f"not {_kind(bookmarks)}; {_FIX}"
        )
    for stream, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            raise ConfigError(
                f"{where}: {key_path('bookmarks', stream)} must be an object of bookmark keys, "
                f"not {_kind(bookmark)}; {_FIX}"
            )
        for key, (kinds, wanted) in _KNOWN_KEYS.items():
            got = bookmark.get(key)
            wrong_bool = isinstance(got, bool) and bool not in kinds
            if got is not None and (wrong_bool or not isinstance(got, kinds)):
                raise ConfigError(
                    f"{where}: {key_path('bookmarks', stream, key)} must be {wanted}, not {_kind(got)}; {_FIX}"
                )
        rvalue = bookmark.get("replication_key_value")
        if isinstance(rvalue, dict | list):
            raise ConfigError(
                f"{where}: {key_path('bookmarks', stream, 'replication_key_value')} must be one value (a string "
                f"or a number), not {_kind(rvalue)}; {_FIX}"
            )
    return value


def _copy(value: Any) -> Any:
    """A copy of a state's objects and arrays; every other value is immutable and shared.
    Not copy.deepcopy: an exact decimal bookmark is an orjson.Fragment, which cannot be copied
    that way (and must not be turned into anything less exact)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def get_bookmark(state: dict[str, Any] | None, stream: str, key: str, default: Any = None) -> Any:
    return ((state or {}).get("bookmarks") or {}).get(stream, {}).get(key, default)


def set_bookmark(state: dict[str, Any] | None, stream: str, key: str, value: Any) -> dict[str, Any]:
    new = _copy(state) if state else {}
    new.setdefault("bookmarks", {}).setdefault(stream, {})[key] = value
    return new


def clear_bookmark(state: dict[str, Any] | None, stream: str, key: str) -> dict[str, Any]:
    new = _copy(state) if state else {}
    new.get("bookmarks", {}).get(stream, {}).pop(key, None)
    return new


def set_currently_syncing(state: dict[str, Any] | None, stream: str | None) -> dict[str, Any]:
    new = _copy(state) if state else {}
    if stream is None:
        new.pop("currently_syncing", None)
    else:
        new["currently_syncing"] = stream
    return new


def get_currently_syncing(state: dict[str, Any] | None) -> str | None:
    return (state or {}).get("currently_syncing")
