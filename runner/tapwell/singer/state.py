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

from tapwell.singer.errors import ConfigError

_PLAIN = re.compile(r"[A-Za-z0-9_\-]+")


def key_path(*parts: str) -> str:
    """`bookmarks.orders.version`; a part that is not a plain name (stream names are untrusted
    and may hold dots, quotes or newlines) is written as a quoted JSON string in brackets."""
    out = ""
    for part in parts:
        out += f".{part}" if _PLAIN.fullmatch(part) else f"[{json.dumps(part)}]"
    return out.lstrip(".")


def json_text(value: Any) -> str:
    """A state value as the JSON it is written as, cut short, so an error line stays one line."""
    from tapwell.singer.wire import dumps

    try:
        text = dumps(value).decode()
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def bookmark_error(stream: str, key: str | None, value: Any, what: str) -> ConfigError:
    """The one line for a stream's bookmark (or one of its keys) that a tap cannot resume from:
    `state: bookmarks.S.K is VALUE, not WHAT; correct it, or remove bookmarks.S ...`."""
    where = key_path("bookmarks", stream, *([key] if key else []))
    return ConfigError(
        f"state: {where} is {json_text(value)}, {what}; correct it, or remove "
        f"{key_path('bookmarks', stream)} from the state to sync the stream from the start"
    )


def check_state(value: Any, where: str = "state") -> dict[str, Any]:
    """The state, if it has singer's generic shape; else ConfigError naming the bad key and the fix.

    The state is an object, `currently_syncing` a string or null, and `bookmarks` an object of
    objects (one per stream). Every tap on tapwell's tap CLI calls this before it writes any
    message, so a corrupt state never starts a new table version. What a stream's bookmark keys
    hold is for the tap that reads them to check, for the streams it syncs (the light tap API
    checks its replication key's; tap-mysql its own): a bookmark of a stream that is not synced
    is carried along untouched.
    """
    if not isinstance(value, dict):
        raise ConfigError(
            f"{where} holds {json_text(value)}, not a JSON object like "
            '{"bookmarks": {}}; fix the state file, or remove it to sync every stream from the start'
        )
    syncing = value.get("currently_syncing")
    if syncing is not None and not isinstance(syncing, str):
        raise ConfigError(
            f"state: currently_syncing is {json_text(syncing)}, not a stream name (a string) or "
            "null; correct it, or remove currently_syncing from the state"
        )
    bookmarks = value.get("bookmarks")
    if "bookmarks" in value and not isinstance(bookmarks, dict):
        raise ConfigError(
            f"state: bookmarks is {json_text(bookmarks)}, not an object of stream bookmarks; "
            'fix the state file, or replace it with {"bookmarks": {}} to start every stream over'
        )
    for stream, bookmark in (bookmarks or {}).items():
        if not isinstance(bookmark, dict):
            raise bookmark_error(stream, None, bookmark, "not an object")
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
