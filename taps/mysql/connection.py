"""Connecting to MySQL/MariaDB, the session every query runs in, and the one place where driver
errors become tapwell errors.

The session is always UTC (`time_zone = '+00:00'`): TIMESTAMP values then arrive in UTC, and
DATETIME values (which have no zone) are emitted as UTC too. Long network timeouts keep a
server-side cursor alive while a slow target applies backpressure.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tapwell.singer.errors import (
    AuthenticationError,
    ConfigError,
    RetriableSyncError,
    SyncError,
    TapwellError,
)

from .config import MySQLConfig

LOG = logging.getLogger("tap-mysql")

# What PipelineWise runs when the config has no session_sqls; time_zone is forced regardless.
DEFAULT_SESSION_SQLS = [
    "SET @@session.wait_timeout = 28800",
    "SET @@session.net_read_timeout = 3600",
    "SET @@session.net_write_timeout = 3600",
    "SET @@session.innodb_lock_wait_timeout = 3600",
]

# Server and client error codes, grouped by what the user should do next.
_AUTH = {1045, 1698}
_NO_ACCESS = {1044, 1142, 1143, 1227, 1370}
_UNKNOWN_DB = {1049}
_UNREACHABLE = {2002, 2003, 2005, 2026}
_TLS_FAILED = 2026  # TLS refused (no TLS on the server, a certificate): the config's, unless lost
_PASSING = {1040, 1205, 1213, 2006, 2013, 2055, 1053, 1927, 3024, 1969}
_PURGED = {1236}
_LOST = {2006, 2013, 2055}  # while connecting: the server never finished the handshake


def connect_args(config: MySQLConfig) -> dict[str, Any]:
    """mysqlclient keyword arguments from the parsed config."""
    args: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "user": config.user,
        "passwd": config.password,
        "charset": "utf8mb4",
        "connect_timeout": config.connect_timeout,
        "autocommit": True,
    }
    if config.database:
        args["db"] = config.database
    if config.ssl:
        files = (("ca", config.ssl_ca), ("cert", config.ssl_cert), ("key", config.ssl_key))
        args["ssl"] = {name: path for name, path in files if path}
        args["ssl_mode"] = "VERIFY_IDENTITY" if config.check_hostname else "REQUIRED"
    return args


def binlog_ssl(config: MySQLConfig) -> dict[str, Any]:
    """PyMySQL's `ssl` argument for the binlog connection of a config with `ssl` on. PyMySQL
    requires TLS only for a non-empty dict (an empty one means: use TLS if the server offers it),
    so the dict always names the CA, none meaning encrypted but not verified, as mysqlclient's
    REQUIRED does."""
    out: dict[str, Any] = {"ca": config.ssl_ca or None, "check_hostname": config.check_hostname}
    if config.ssl_cert:
        out["cert"] = config.ssl_cert
    if config.ssl_key:
        out["key"] = config.ssl_key
    return out


def refuse_plaintext(conn: Any, config: MySQLConfig) -> None:
    """With `ssl` on, a connection that is not encrypted is refused. mysqlclient built on MariaDB
    Connector/C takes ssl_mode REQUIRED and still connects in plain text to a server without TLS
    (VERIFY_IDENTITY it does enforce), so the session itself is asked."""
    cur = conn.cursor()
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    row = cur.fetchone()
    cur.close()
    if not row or not row[1]:
        conn.close()
        raise ConfigError(
            f"config key ssl is true, but MySQL at {config.where} took the connection without TLS "
            "(the server offers none: have_ssl is not YES); enable TLS on the server, or set ssl "
            "to false to connect unencrypted"
        )


def map_error(exc: BaseException, config: MySQLConfig, doing: str = "") -> TapwellError:
    """A MySQLdb or PyMySQL error as the tapwell error that says what to do next.

    Messages never carry the password: they are built from the error code and the server's text,
    which names the user and host only."""
    if isinstance(exc, TapwellError):
        return exc
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    ctx = f" while {doing}" if doing else ""
    if code in _AUTH:
        m = re.search(r"for user '([^']*)'@'([^']*)'", text)
        who = f"'{m.group(1)}'@'{m.group(2)}'" if m else f"'{config.user}'"
        return AuthenticationError(f"MySQL refused user {who}: check user and password")
    if code == _TLS_FAILED and not re.search(r"eof|reset|timed? ?out|broken pipe", text, re.I):
        return ConfigError(
            f"no TLS connection to MySQL at {config.where}: {text}; check ssl, ssl_ca, "
            "ssl_cert, ssl_key and check_hostname in the config, or the server's TLS setup"
        )
    if code in _UNREACHABLE:
        return RetriableSyncError(
            f"cannot reach MySQL at {config.where}: {text}; check host, port and firewall"
        )
    if code in _UNKNOWN_DB:
        return ConfigError(f"{text}; check the database name in the config")
    if code in _NO_ACCESS:
        return ConfigError(
            f"MySQL denied access{ctx}: {text}; grant the user the privilege or deselect the stream"
        )
    if code in _PURGED:
        return SyncError(
            f"the binlog position in the state is no longer on the server ({text}); "
            "the binlog was purged: remove the stream's bookmark to take a new initial snapshot"
        )
    if code in _LOST and doing == "connecting":
        return RetriableSyncError(
            f"cannot connect to MySQL at {config.where}: the server did not complete the "
            f"handshake within connect_timeout ({config.connect_timeout} s) "
            f"(MySQL error {code}: {text}); check that host and port are a MySQL server's, "
            "reachable and not overloaded, or raise connect_timeout"
        )
    if code in _PASSING:
        return RetriableSyncError(f"MySQL error {code}{ctx}: {text}")
    if code is not None:
        return SyncError(f"MySQL error {code}{ctx}: {text}")
    return SyncError(f"MySQL client error{ctx}: {text or type(exc).__name__}")


def driver_errors() -> tuple[type[BaseException], ...]:
    """The exception classes of both drivers (mysqlclient for queries, PyMySQL for the binlog)."""
    import MySQLdb

    classes: list[type[BaseException]] = [MySQLdb.Error]
    try:
        import pymysql

        classes.append(pymysql.err.MySQLError)
    except ImportError:  # pragma: no cover - mysql-replication brings PyMySQL
        pass
    return tuple(classes)


@contextmanager
def translated(config: MySQLConfig, doing: str = "") -> Iterator[None]:
    """Run a block, turning any driver error into a tapwell error (the one mapping above)."""
    try:
        yield
    except driver_errors() as exc:
        raise map_error(exc, config, doing) from None


def connect(config: MySQLConfig, conv: dict[Any, Any] | None = None) -> Any:
    """An open mysqlclient connection in a UTC session, with the config's session_sqls run."""
    import MySQLdb

    args = connect_args(config)
    if conv is not None:
        args["conv"] = conv
    with translated(config, "connecting"):
        conn = MySQLdb.connect(**args)
        if config.ssl:
            refuse_plaintext(conn, config)
    sqls = DEFAULT_SESSION_SQLS if config.session_sqls is None else config.session_sqls
    cur = conn.cursor()
    for sql in sqls:
        try:
            cur.execute(sql)
        except MySQLdb.Error as exc:
            LOG.warning("session_sqls: %r failed (%s); going on", sql, exc.args[-1])
    with translated(config, "setting the session time zone"):
        cur.execute("SET @@session.time_zone = '+00:00'")
    cur.close()
    return conn


def server_info(conn: Any) -> dict[str, Any]:
    """Version and engine (mysql or mariadb) of the server."""
    version = conn.get_server_info()
    return {"version": version, "engine": "mariadb" if "mariadb" in version.lower() else "mysql"}


def default_server_id() -> int:
    """A replica id unlikely to clash with real replicas (singer-io picks one at random too)."""
    return random.randint(5_400, 2**31 - 1)


def quote(name: str) -> str:
    """A MySQL identifier, quoted."""
    return "`" + name.replace("`", "``") + "`"


# A query with parameters is built with PARAM where each value goes, and sent by `execute`: the
# driver %-formats a query whenever parameters are passed (an empty list too), so every other `%`
# (one in a quoted table or column name, `we%ird`) must reach it doubled. No MySQL identifier can
# hold U+0000, so PARAM cannot stand inside a name.
PARAM = "\0"


def execute(cur: Any, sql: str, params: Sequence[Any]) -> None:
    """Run `sql` (written with PARAM for each of `params`) on `cur`."""
    cur.execute(sql.replace("%", "%%").replace(PARAM, "%s"), params)
