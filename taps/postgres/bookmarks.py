"""The incoming state, checked against the streams it will drive before any message is written:
a bookmark the tap cannot use must never half-run a sync (or be read as "no bookmark" and start a
table over). The first bad one is one line naming the key and the fix, exit 2.

Shapes accepted: tapwell's and singer-io's (`version`, `max_pk_values`, `last_pk_fetched`,
`replication_key`, `replication_key_value`), PipelineWise's (`lsn`, `xmin`, `version`) and
MeltanoLabs' (`replication_key_value`, `replication_key`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tapwell.singer.errors import ConfigError
from tapwell.singer.state import json_text

if TYPE_CHECKING:
    from .sync_common import StreamPlan


def check_state(state: dict[str, Any], streams: Iterable[StreamPlan]) -> None:
    """Raise ConfigError for the first bookmark of `streams` the tap cannot resume from."""
    bookmarks = state.get("bookmarks") or {}
    for sp in streams:
        bookmark = bookmarks.get(sp.tap_stream_id)
        if bookmark is not None:
            _check(sp, bookmark)


def _check(sp: StreamPlan, bookmark: dict[str, Any]) -> None:
    sid = sp.tap_stream_id

    def bad(key: str, what: str) -> ConfigError:
        return ConfigError(
            f"state: bookmarks.{sid}.{key} is {json_text(bookmark[key])}, {what}; correct it, "
            f"or remove bookmarks.{sid} from the state to sync the stream from the start"
        )

    for key in ("version", "lsn", "xmin"):
        value = bookmark.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise bad(key, "not a whole number")
    for key in ("max_pk_values", "last_pk_fetched"):
        values = bookmark.get(key)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise bad(key, "not an object of primary-key values")
        missing = [k for k in sp.key_properties if k not in values]
        if missing:
            raise bad(key, f"missing primary-key column {', '.join(map(repr, missing))}")
    rkey = bookmark.get("replication_key")
    if rkey is not None and not isinstance(rkey, str):
        raise bad("replication_key", "not a column name")
    value = bookmark.get("replication_key_value")
    if value is not None and isinstance(value, (dict, list)):
        raise bad("replication_key_value", "not a single value")


def check_typed(conn: Any, plans: Iterable[StreamPlan], state: dict[str, Any]) -> None:
    """Every bookmarked key value must read as its column's type (the query compares it so):
    the server parses each one first, and a bad one is one line naming it (exit 2)."""
    import psycopg2

    from .connection import server_version
    from .sync_common import bookmark_param
    from .types import held_condition

    bookmarks = state.get("bookmarks") or {}
    for sp in plans:
        mark = bookmarks.get(sp.tap_stream_id) or {}
        values: list[tuple[str, str, Any]] = []
        rkey = sp.replication_key
        same_key = mark.get("replication_key") in (None, rkey)
        if rkey and same_key and mark.get("replication_key_value") is not None:
            values.append(("replication_key_value", rkey, mark["replication_key_value"]))
        for key in ("max_pk_values", "last_pk_fetched"):
            for name in sp.key_properties:
                if isinstance(mark.get(key), dict) and name in mark[key]:
                    values.append((f"{key}.{name}", name, mark[key][name]))
        for where, column, value in values:
            held = held_condition(sp.column(column), "b.v", server_version(conn))
            try:
                with conn.cursor() as cur:
                    cur.execute(
                        f"SELECT {held or 'true'} FROM (SELECT {sp.cast(column)} AS v) AS b",
                        (bookmark_param(value),),
                    )
                    passable = cur.fetchone()[0] is not False
                conn.rollback()
            except psycopg2.DataError as exc:
                conn.rollback()
                why = " ".join(str(exc).split("\n")[0].split())
                raise ConfigError(
                    f"state: bookmarks.{sp.tap_stream_id}.{where} is {json_text(value)}, not a value "
                    f"of column {column!r} ({sp.column(column).sql_datatype}: {why}); correct it, or "
                    f"remove bookmarks.{sp.tap_stream_id} from the state to sync the stream from the start"
                ) from None
            if where == "replication_key_value" and not passable:
                raise ConfigError(
                    f"state: bookmarks.{sp.tap_stream_id}.{where} is {json_text(value)}, a value no "
                    f"later row of column {column!r} passes (its records give it as null), so no new "
                    f"row would be synced; set it to the column's last real value, or remove "
                    f"bookmarks.{sp.tap_stream_id} from the state to sync the stream from the start"
                )
