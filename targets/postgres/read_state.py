"""`target-postgres --read-state`: the state this target last committed, read from its own state
table with its own naming rules (config.parse: `state_schema`, `state_table`, `state_id` and
their defaults and 63-byte shortening), so the runner's recovery copies none of them."""

from __future__ import annotations

from typing import Any

from tapwell.sdk.sql_names import quote_ident as _q
from tapwell.singer.errors import ConfigError

from .config import PostgresConfig, parse


def read_state(config: PostgresConfig | dict[str, Any]) -> str | None:
    """The committed state as JSON text, None when the table or its row does not exist yet.
    ConfigError (one line, saying where) when the database cannot be reached or read."""
    import psycopg
    from psycopg import sql

    from .connection import connect_params, first_line

    settings = parse(config)
    schema, table, sid = settings.state_schema, settings.state_table, settings.state_id
    db = settings.dbname or "(sqlalchemy_url)"
    where = f"{db}: {_q(schema)}.{_q(table)} id {sid!r}"
    params = connect_params(config)  # both config dialects, sqlalchemy_url, SSL: as a load
    params["application_name"] = "target-postgres --read-state"
    try:
        conn = psycopg.connect(**params)
    except psycopg.Error as exc:
        raise ConfigError(f"{where}: cannot connect: {first_line(exc)}") from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (f"{_q(schema)}.{_q(table)}",))
            row = cur.fetchone()
            if row is None or row[0] is None:
                return None  # nothing committed yet
            # Names composed by the driver, never mixed with %-parameters (issue 20.2).
            query = sql.SQL("SELECT value::text FROM {}.{} WHERE id = {}").format(
                sql.Identifier(schema),
                sql.Identifier(table),
                sql.Literal(sid),
            )
            cur.execute(query)
            found = cur.fetchone()
    except psycopg.Error as exc:
        raise ConfigError(f"{where}: cannot read the state: {first_line(exc)}") from None
    finally:
        conn.close()
    return str(found[0]) if found else None
