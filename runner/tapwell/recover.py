"""Recover an integration's state from the destination, for targets that keep the last
committed state beside the data (target-postgres does): `state.recover: {dsn, query}` in
tapwell.yml, where the query returns one row whose first column is the state (jsonb or text)."""

from __future__ import annotations

from typing import Any

import orjson

from tapwell.errors import ConfigError
from tapwell.statestore import check_state


def recover_state(config: dict[str, Any]) -> dict[str, Any] | None:
    """The state the destination holds, or None when it holds none."""
    try:
        import psycopg2
    except ImportError:  # pragma: no cover
        raise ConfigError("state.recover needs psycopg2: pip install 'tapwell[postgres]'") from None
    try:
        conn = psycopg2.connect(config["dsn"])
    except psycopg2.OperationalError as exc:
        raise ConfigError(
            f"state.recover: cannot connect: {str(exc).strip().splitlines()[0]}"
        ) from None
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(config["query"])
            except psycopg2.Error as exc:
                raise ConfigError(
                    f"state.recover.query failed: {str(exc).strip().splitlines()[0]}"
                ) from None
            row = cur.fetchone()
    finally:
        conn.close()
    if not row or row[0] is None:
        return None
    value = row[0]
    if isinstance(value, (str, bytes)):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ConfigError("state.recover.query returned text that is not JSON") from None
    return check_state(value, None)
