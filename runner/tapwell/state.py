"""Bookmark state as small pure functions over a dict, in singer's layout:

    {"currently_syncing": "orders", "bookmarks": {"orders": {"replication_key": "updated_at",
     "replication_key_value": "2024-01-01T00:00:00+00:00", "version": 1700000000000}}}

Functions return new dicts and never mutate their input, so a state that was written stays as
it was written.
"""

from __future__ import annotations

import copy
from typing import Any


def get_bookmark(state: dict[str, Any] | None, stream: str, key: str, default: Any = None) -> Any:
    return ((state or {}).get("bookmarks") or {}).get(stream, {}).get(key, default)


def set_bookmark(state: dict[str, Any] | None, stream: str, key: str, value: Any) -> dict[str, Any]:
    new = copy.deepcopy(state) if state else {}
    new.setdefault("bookmarks", {}).setdefault(stream, {})[key] = value
    return new


def clear_bookmark(state: dict[str, Any] | None, stream: str, key: str) -> dict[str, Any]:
    new = copy.deepcopy(state) if state else {}
    new.get("bookmarks", {}).get(stream, {}).pop(key, None)
    return new


def set_currently_syncing(state: dict[str, Any] | None, stream: str | None) -> dict[str, Any]:
    new = copy.deepcopy(state) if state else {}
    if stream is None:
        new.pop("currently_syncing", None)
    else:
        new["currently_syncing"] = stream
    return new


def get_currently_syncing(state: dict[str, Any] | None) -> str | None:
    return (state or {}).get("currently_syncing")
