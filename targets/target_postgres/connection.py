"""Connecting to PostgreSQL, and the one place psycopg2's errors become tapwell's.

Config keys of PipelineWise's and MeltanoLabs' target-postgres are read unchanged: host, port,
user/username, password, dbname/database, ssl / ssl_enable / ssl_mode / sslmode and the
certificate paths. The password never reaches a log line or an error message.
"""

from __future__ import annotations

from typing import Any

import psycopg2
import psycopg2.errorcodes
from tapwell.errors import (
    AuthenticationError,
    ConfigError,
    ProtocolError,
    RetriableSyncError,
    SyncError,
    TapwellError,
)

RETRIABLE_CLASSES = (
    "08",
    "40",
    "53",
    "57",
    "58",
)  # connection, rollback, resources, operator, system


def connect_params(config: dict[str, Any]) -> dict[str, Any]:
    """libpq keyword arguments from a target-postgres config (either dialect). MeltanoLabs'
    `sqlalchemy_url` (postgresql[+driver]://user:password@host:port/db) is used as the DSN."""
    url = config.get("sqlalchemy_url")
    if url:
        scheme, sep, rest = str(url).partition("://")
        if not sep or not scheme.split("+")[0].startswith("postgres"):
            raise ConfigError(
                "config key sqlalchemy_url must look like postgresql://user:password@host:port/dbname"
            )
        return {"dsn": "postgresql://" + rest, "application_name": "tapwell target-postgres"}
    dbname = config.get("dbname") or config.get("database")
    if not dbname:
        raise ConfigError("config key dbname (or database) is required: the database to load into")
    params: dict[str, Any] = {
        "host": config.get("host") or "localhost",
        "port": int(config.get("port") or 5432),
        "user": config.get("user") or config.get("username") or "postgres",
        "dbname": dbname,
        "application_name": "tapwell target-postgres",
        "connect_timeout": int(config.get("connect_timeout") or 30),
    }
    if config.get("password"):
        params["password"] = config["password"]
    sslmode = config.get("sslmode") or config.get("ssl_mode")
    if (
        not sslmode
        and _truthy(config.get("ssl"))
        or not sslmode
        and _truthy(config.get("ssl_enable"))
    ):
        sslmode = "require"
    if sslmode:
        params["sslmode"] = str(sslmode)
    for ours, libpq in (
        ("ssl_certificate_authority", "sslrootcert"),
        ("sslrootcert", "sslrootcert"),
        ("ssl_client_certificate", "sslcert"),
        ("sslcert", "sslcert"),
        ("ssl_client_private_key", "sslkey"),
        ("sslkey", "sslkey"),
    ):
        if config.get(ours):
            params[libpq] = str(config[ours])
    return params


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes", "on")


def connect(config: dict[str, Any]) -> Any:
    """An open connection (one transaction at a time, session in UTC and ISO dates)."""
    params = connect_params(config)
    try:
        conn = psycopg2.connect(**params)
    except psycopg2.Error as exc:
        where = (
            "the sqlalchemy_url server"
            if "dsn" in params
            else f"{params['host']}:{params['port']} database {params['dbname']!r}"
        )
        raise map_error(exc, f"cannot connect to PostgreSQL at {where}") from None
    with conn.cursor() as cur:
        cur.execute(
            "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'"
        )
    conn.commit()
    return conn


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "pgerror", None) or exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.removeprefix("ERROR:").strip()


def map_error(
    exc: BaseException,
    doing: str,
    *,
    stream: str | None = None,
    line: int | None = None,
    column: str | None = None,
    source: str = "stdin",
) -> TapwellError:
    """A psycopg2 error as the tapwell error that says what to do next.

    Credentials refused -> AuthenticationError; database or role missing -> ConfigError; a value
    that does not fit its column (class 22) -> ProtocolError naming the line, stream and column;
    connection lost, deadlock, serialization failure, server shutting down -> RetriableSyncError;
    anything else -> SyncError.
    """
    code = getattr(exc, "pgcode", None) or ""
    message = first_line(exc)
    if code in ("28P01", "28000") or "password authentication failed" in message:
        return AuthenticationError(f"{doing}: the server refused the credentials ({message})")
    if (
        code in ("3D000", "42704")
        or "does not exist" in message
        and isinstance(exc, psycopg2.OperationalError)
    ):
        return ConfigError(f"{doing}: {message}")
    if (
        not code
        and isinstance(exc, psycopg2.OperationalError)
        and ("SSL" in message or "certificate" in message)
    ):
        return ConfigError(f"{doing}: {message} (check sslmode and the certificate settings)")
    if code.startswith("22"):
        if code == psycopg2.errorcodes.CHARACTER_NOT_IN_REPERTOIRE and "0x00" in message:
            message = "text contains a NUL byte (\\u0000), which PostgreSQL cannot store"
        elif code == psycopg2.errorcodes.UNTRANSLATABLE_CHARACTER and "\\u0000" in message:
            message = (
                "JSON contains a NUL character (\\u0000), which PostgreSQL's jsonb cannot store"
            )
        return ProtocolError(
            f"value does not fit the column: {message}",
            line=line,
            stream=stream,
            field=column,
            source=source,
        )
    if code.startswith("23"):
        where = f"stream {stream!r}, " if stream else ""
        return SyncError(f"{where}{doing}: {message}")
    if isinstance(exc, psycopg2.OperationalError) and not code or code[:2] in RETRIABLE_CLASSES:
        return RetriableSyncError(f"{doing}: {message} (retrying may help)")
    where = f"stream {stream!r}: " if stream else ""
    return SyncError(f"{where}{doing}: {message}")
