"""Connecting to PostgreSQL, the session every query runs in, and the one place where driver
errors become tapwell errors.

The session fixes what value text depends on: `TimeZone` UTC (timestamptz values end in +00:00),
`IntervalStyle` iso_8601, `bytea_output` hex, `DateStyle` ISO and `extra_float_digits` 1 (the
shortest exact float text). The replication connection gets the same settings, so pgoutput's text
values read like the snapshot's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tapwell.sdk.pg_errors import (
    bad_setting,
    connection_lost,
    credentials_refused,
    passing,
    tls_refused,
)
from tapwell.sdk.sql_names import quote_ident
from tapwell.singer.errors import (
    AuthenticationError,
    ConfigError,
    RetriableSyncError,
    SyncError,
    TapwellError,
)

from .config import PgConfig

LOG = logging.getLogger("tap-postgres")

SESSION = {
    "TimeZone": "UTC",
    "IntervalStyle": "iso_8601",
    "bytea_output": "hex",
    "DateStyle": "ISO, YMD",
    "extra_float_digits": "1",
    "statement_timeout": "0",
}
OPTIONS = " ".join(f"-c {k}={v.replace(' ', '')}" for k, v in SESSION.items())

# SQLSTATE codes, grouped by what the user should do next (the classes that pass, and libpq's
# texts for a lost connection, a bad setting, TLS: tapwell.sdk.pg_errors, shared with
# target-postgres).
_NO_DB = {"3D000"}
_NO_ACCESS = {"42501"}
_OBJECT_IN_USE = "55006"  # a replication slot another process reads: it may let go
# What libpq says, with no SQLSTATE, of a login the server refused: fixing the config helps.
_LOGIN_REFUSED = re.compile(r'role "[^"]*" does not exist|no pg_hba\.conf entry')


quote = quote_ident  # a PostgreSQL identifier, always quoted: the kit's one rule


def literal(text: str) -> str:
    """A string literal (for the few statements that take no parameters, like replication
    commands)."""
    return "'" + text.replace("'", "''") + "'"


def map_error(exc: BaseException, cfg: PgConfig, doing: str = "") -> TapwellError:
    """A psycopg2 error as the tapwell error that says what to do next. Messages are built from the
    server's text, which names the user and database but never the password."""
    import psycopg2

    if isinstance(exc, TapwellError):
        return exc
    code = getattr(exc, "pgcode", None) or ""
    text = " ".join(str(getattr(exc, "pgerror", None) or exc).split())
    text = re.sub(r"^(ERROR|FATAL):\s+", "", text)
    ctx = f" while {doing}" if doing else ""
    if credentials_refused(code, text):
        return AuthenticationError(
            f"PostgreSQL at {cfg.host}:{cfg.port} refused user {cfg.user!r}: check user and password"
            " (and pg_hba.conf)"
        )
    if code in _NO_DB or re.search(r'database "[^"]*" does not exist', text):
        return ConfigError(f"{text}; check dbname in the config")
    lost = connection_lost(text)
    lost = lost or bool(getattr(exc, "connection_lost", False))  # walstream.ReplicationError
    if not code and not lost and _LOGIN_REFUSED.search(text):
        return AuthenticationError(
            f"PostgreSQL at {cfg.host}:{cfg.port} refused user {cfg.user!r}: {_reason(text)}; "
            "check user in the config (and pg_hba.conf)"
        )
    if not code and not lost and bad_setting(text):
        return ConfigError(f"PostgreSQL connection settings{ctx}: {text}; fix them in the config")
    if not code and not lost and doing == "connecting" and tls_refused(text):
        return ConfigError(
            f"PostgreSQL at {cfg.host}:{cfg.port}{ctx}: {_reason(text)}; check sslmode and the "
            "certificate settings"
        )
    if code in _NO_ACCESS:
        return ConfigError(
            f"PostgreSQL denied access{ctx}: {text}; grant the privilege or deselect the stream"
        )
    if passing(code) or code == _OBJECT_IN_USE:
        return RetriableSyncError(f"PostgreSQL error {code}{ctx}: {text}")
    if not code and (lost or isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))):
        return RetriableSyncError(
            f"lost or no connection to PostgreSQL at {cfg.host}:{cfg.port}{ctx}: {text}; "
            "check that the server is up and reachable"
        )
    if code:
        return SyncError(f"PostgreSQL error {code}{ctx}: {text}")
    return SyncError(f"PostgreSQL client error{ctx}: {text or type(exc).__name__}")


def _reason(text: str) -> str:
    """libpq's reason without its `connection to server at ..., port ... failed:` preamble."""
    return re.sub(r"^connection to server .*? failed: (FATAL: )?", "", text)


@contextmanager
def translated(cfg: PgConfig, doing: str = "") -> Iterator[None]:
    """Run a block, turning any driver error into a tapwell error (the one mapping above)."""
    import psycopg2

    try:
        yield
    except psycopg2.Error as exc:
        raise map_error(exc, cfg, doing) from None


def connect(cfg: PgConfig) -> Any:
    """An open psycopg2 connection in tapwell's session (autocommit off: callers open the
    snapshot transactions they need)."""
    import psycopg2

    with translated(cfg, "connecting"):
        conn = psycopg2.connect(**cfg.dsn_args(), options=OPTIONS)
        # every transaction is one snapshot: a table's max key and its rows agree
        conn.set_session(isolation_level="REPEATABLE READ")
    return conn


def server_version(conn: Any) -> int:
    """server_version_num: 150004 for 15.4."""
    return int(conn.server_version)
