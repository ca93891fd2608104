"""The rules a saved state must meet, shared by both state backends (statestore's files and
statestore_pg's PostgreSQL rows), `tapwell state set` and the runner's check of a target's STATE.

Its own module so the PostgreSQL backend need not import the file backend's module (which opens
the PostgreSQL one): no import cycle between them.
"""

from __future__ import annotations

from typing import Any

from tapwell.singer.errors import ConfigError


def state_problem(value: Any) -> str | None:
    """What makes `value` unusable as a saved state (None when it is fine): the one rule for a
    state file, a PostgreSQL row, `tapwell state set` input and a target's STATE line."""
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        return f"a state must be a JSON object, not {kind}"
    if value.get("type") == "STATE" and "value" in value:
        return 'it is a whole STATE message ({"type": "STATE", "value": ...}), not its value'
    bookmarks = value.get("bookmarks")
    if "bookmarks" in value and not isinstance(bookmarks, dict):
        return "state.bookmarks must be an object of stream -> bookmark"
    for stream, bookmark in (bookmarks or {}).items():
        if not isinstance(bookmark, dict):
            return f"state.bookmarks.{stream} must be an object, not {type(bookmark).__name__}"
    return None


def check_state(value: Any, current: dict[str, Any] | None, force: bool = False) -> dict[str, Any]:
    """The state to save, or ConfigError saying why it would damage a good one."""
    problem = state_problem(value)
    if problem:
        raise ConfigError(problem)
    if not value and current and not force:
        raise ConfigError(
            "refusing to replace a saved state with an empty one (add --force to do it anyway)"
        )
    return value
