"""Connecting to PostgreSQL (psycopg 3), and the one place the driver's errors become tapwell's.

Config keys of PipelineWise's and MeltanoLabs' target-postgres are read unchanged: host, port,
user/username, password, dbname/database, ssl / ssl_enable / ssl_mode / sslmode and the
certificate paths. The password never reaches a log line or an error message: MeltanoLabs'
`sqlalchemy_url` is parsed here into libpq keywords (a password with an unencoded `%`, `/` or
`@` included), so libpq never quotes a piece of it back in an error text.

Every connection is pinned to UTF-8 (the server converts to the database's encoding and
refuses what it cannot hold), has TCP keepalives on both ends (a dead peer is noticed in about a
minute, and the server drops a vanished session and its locks), and a `lock_timeout` and a
`statement_timeout`, so a load never waits hours behind a lock or a dead network.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qsl, unquote

import psycopg
from tapwell.sdk.pg_errors import (
    bad_setting,
    connection_lost,
    credentials_refused,
    passing,
    tls_refused,
)
from tapwell.singer.config import url_password
from tapwell.singer.errors import (
    AuthenticationError,
    ConfigError,
    ProtocolError,
    RetriableSyncError,
    SyncError,
    TapwellError,
)

from .config import PostgresConfig, parse

# psycopg warns on its own logger when ending a COPY that already failed; the failure itself is
# what `map_error` reports, once, so its warning would be a second line about the same thing.
logging.getLogger("psycopg").addHandler(logging.NullHandler())
logging.getLogger("psycopg").propagate = False

KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
CHARACTER_NOT_IN_REPERTOIRE = "22021"
UNTRANSLATABLE_CHARACTER = "22P05"
RESERVED_NAME = "42939"  # reserved_name: a schema named pg_..., which only PostgreSQL may create


def connect_params(config: PostgresConfig | dict[str, Any]) -> dict[str, Any]:
    """libpq keyword arguments from a target-postgres config (either dialect), or from
    MeltanoLabs' `sqlalchemy_url` (postgresql[+driver]://user:password@host:port/db?options)."""
    config = parse(config)
    common = {
        "application_name": "tapwell target-postgres",
        "connect_timeout": config.connect_timeout,
        # What we send is UTF-8 whatever the database's encoding: the server converts it, and
        # refuses a character the database cannot hold instead of storing mojibake.
        "client_encoding": "UTF8",
        **KEEPALIVE,
    }
    if config.sqlalchemy_url:
        return {**common, **url_params(config.sqlalchemy_url)}
    if not config.dbname:
        raise ConfigError("config key dbname (or database) is required: the database to load into")
    params: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "user": config.user,
        "dbname": config.dbname,
        **common,
    }
    if config.password:
        params["password"] = config.password
    sslmode = config.sslmode or ("require" if config.ssl or config.ssl_enable else "")
    if sslmode:
        params["sslmode"] = sslmode
    for path, libpq in (
        (config.ssl_certificate_authority, "sslrootcert"),
        (config.ssl_client_certificate, "sslcert"),
        (config.ssl_client_private_key, "sslkey"),
    ):
        if path:
            params[libpq] = path
    return params


URL_SHAPE = "config key sqlalchemy_url must look like postgresql://user:password@host:port/dbname"


def url_params(url: str) -> dict[str, Any]:
    """libpq keywords from a postgresql[+driver]:// URL. The password runs to the last `@`, as
    users paste it (unencoded `/`, `%`, `:` or `@` included; percent escapes are decoded), the
    same reading tapwell.singer.config masks it by. Query options (sslmode=...) are passed on."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.split("+")[0].startswith("postgres"):
        raise ConfigError(URL_SHAPE)
    params: dict[str, Any] = {}
    password = url_password(url)
    if password is not None:
        user, _, after = rest.partition(":")
        rest = after[len(password) + 1 :]  # past the password and its "@"
        params["user"], params["password"] = unquote(user), unquote(password)
    else:
        auth, at, after = rest.partition("@")
        if at and "/" not in auth:
            params["user"], rest = unquote(auth.split(":", 1)[0]), after  # user, or user:@
    hostport, _, tail = rest.partition("/")
    dbname, _, query = tail.partition("?")
    if "?" in hostport:
        hostport, _, query = hostport.partition("?")
    host, colon, port = hostport.rpartition(":") if not hostport.endswith("]") else ("", "", "")
    if not colon:
        host, port = hostport, ""
    if host:
        params["host"] = unquote(host.strip("[]"))
    if port:
        if not port.isdigit():
            raise ConfigError(f"{URL_SHAPE} (its port {port!r} is not a number)")
        params["port"] = int(port)
    if dbname:
        params["dbname"] = unquote(dbname)
    params.update(parse_qsl(query))
    return params


def session_settings(config: PostgresConfig | dict[str, Any]) -> str:
    """The SET statements every session starts with (constant text and numbers only)."""
    config = parse(config)
    lock = int(config.lock_timeout * 1000)
    statement = int(config.statement_timeout * 1000)
    return (
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; "
        f"SET lock_timeout = {lock}; SET statement_timeout = {statement}; "
        # the server's end of the keepalives: a vanished client's session (and its locks) goes
        "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; "
        "SET tcp_keepalives_count = 3"
    )


def connect(config: PostgresConfig | dict[str, Any]) -> psycopg.Connection[Any]:
    """An open connection (one transaction at a time, session in UTC and ISO dates)."""
    params = connect_params(config)
    settings = session_settings(config)
    where = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
    doing = f"cannot connect to PostgreSQL at {where} database {params.get('dbname')!r}"
    try:
        conn = psycopg.connect(**params)
    except psycopg.Error as exc:
        raise map_error(exc, doing) from None
    with errors_mapped(conn, doing):
        with conn.cursor() as cur:
            cur.execute(settings)
        conn.commit()
    return conn


def rollback_quietly(conn: Any) -> None:
    """Roll back, if the connection still can: a lost one raises again, which would hide the
    first error (and end in a traceback)."""
    with suppress(psycopg.Error):
        conn.rollback()


@contextmanager
def errors_mapped(conn: Any, doing: str, *, stream: str | None = None) -> Iterator[None]:
    """Run a unit of work: on any failure roll back (quietly), and raise a driver error as
    `map_error` classifies it. Every use of the connection goes through here."""
    try:
        yield
    except psycopg.Error as exc:
        rollback_quietly(conn)
        raise map_error(exc, doing, stream=stream) from None
    except BaseException:
        rollback_quietly(conn)
        raise


def first_line(exc: BaseException) -> str:
    """The error's first line, without the prefixes the driver and libpq put before it."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.removeprefix("connection failed:").strip().removeprefix("ERROR:").strip()


def value_fix(exc: BaseException) -> str:
    """What to do about a value its column refused (class 22): the server's detail, when it
    says more (a numeric's precision and scale), and the fix."""
    diag = getattr(exc, "diag", None)
    detail = (getattr(diag, "message_detail", None) or "").strip()
    detail = f"; {detail.rstrip('.')}" if detail else ""
    return (
        f"{detail} (fix the value at the source, or change the field's type in the SCHEMA: "
        "a wider maximum, or more digits)"
    )


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a server error; "" for a connection that failed or was lost."""
    return getattr(exc, "sqlstate", None) or ""


def map_error(
    exc: BaseException,
    doing: str,
    *,
    stream: str | None = None,
    line: int | None = None,
    column: str | None = None,
    source: str = "stdin",
) -> TapwellError:
    """A driver error as the tapwell error that says what to do next.

    Credentials refused -> AuthenticationError; database or role missing -> ConfigError; a value
    that does not fit its column (class 22) -> ProtocolError naming the line, stream and column;
    connection lost, deadlock, serialization failure, server shutting down -> RetriableSyncError;
    anything else -> SyncError.
    """
    code = sqlstate(exc)
    message = first_line(exc)
    if credentials_refused(code, message):
        return AuthenticationError(f"{doing}: the server refused the credentials ({message})")
    if (
        code in ("3D000", "42704")
        or "does not exist" in message
        and isinstance(exc, psycopg.OperationalError)
    ):
        return ConfigError(f"{doing}: {message}")
    lost = not code and connection_lost(message)
    if not code and not lost and bad_setting(message):
        return ConfigError(f"{doing}: {message} (fix it in the config)")
    if not code and not lost and isinstance(exc, psycopg.OperationalError) and tls_refused(message):
        return ConfigError(f"{doing}: {message} (check sslmode and the certificate settings)")
    if code == RESERVED_NAME:  # the config's name: retrying cannot help
        where = f"stream {stream!r}: " if stream else ""
        return ConfigError(
            f"{where}{doing}: {message} (PostgreSQL keeps schema names beginning with pg_ for itself: "
            "choose another default_target_schema, or a schema_mapping target_schema)"
        )
    if code.startswith("22"):
        if code == CHARACTER_NOT_IN_REPERTOIRE and "0x00" in message:
            message = "text contains a NUL byte (\\u0000), which PostgreSQL cannot store"
        elif code == UNTRANSLATABLE_CHARACTER and "\\u0000" in message:
            message = (
                "JSON contains a NUL character (\\u0000), which PostgreSQL's jsonb cannot store"
            )
        elif code == UNTRANSLATABLE_CHARACTER:
            message += " (the database's encoding cannot hold it: load into a UTF8 database)"
        else:
            message += value_fix(exc)
        return ProtocolError(
            f"value does not fit the column: {message}",
            line=line,
            stream=stream,
            field=column,
            source=source,
        )
    if passing(code) or isinstance(exc, psycopg.InterfaceError):
        return RetriableSyncError(f"{doing}: {message} (retrying may help)")
    if code.startswith("23"):
        where = f"stream {stream!r}, " if stream else ""
        return SyncError(f"{where}{doing}: {message}")
    if isinstance(exc, psycopg.OperationalError) and not code:
        return RetriableSyncError(f"{doing}: {message} (retrying may help)")
    where = f"stream {stream!r}: " if stream else ""
    return SyncError(f"{where}{doing}: {message}")
