"""What PostgreSQL's SQLSTATEs and libpq's texts mean for what to do next: the knowledge that
tap-postgres (psycopg2) and target-postgres (psycopg 3) both map their driver's errors with, kept
once. Codes and texts only, no driver: each connector's `map_error` still decides the wording and
the tapwell error, in its one place.

libpq reports a connection it lost, a setting it cannot use and a TLS failure with no SQLSTATE,
so those are known by their words; the words are tested against what libpq prints
(tests/taps/postgres/test_tap_postgres_connect_errors.py, tests/targets/postgres/...).
"""

from __future__ import annotations

import re

AUTH_CODES = frozenset({"28P01", "28000"})  # invalid_password, invalid_authorization_specification
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout, or another session holds the lock
# SQLSTATE classes that pass: connection exception, transaction rollback (deadlock,
# serialization), insufficient resources, operator intervention (shutdown), system error.
PASSING_CLASSES = ("08", "40", "53", "57", "58")

# What libpq and the drivers say, with no SQLSTATE, when the server went away mid-stream (restart,
# network), over TLS or not: retriable, whatever else the text names (`SSL SYSCALL error`).
LOST_TEXTS = (
    "no copy in progress", "server closed the connection", "connection already closed",
    "terminating connection", "could not receive data", "ssl syscall", "connection reset",
    "lost synchronization", "unexpected eof", "ssl connection has been closed",
)  # fmt: skip
# libpq's words for credentials it could not send or the server refused.
_CREDENTIALS_REFUSED = ("password authentication failed", "no password supplied")
# A connection setting libpq cannot use (`invalid sslmode value: "x"`, `invalid integer value
# "x" for connection option "keepalives"`): the config's to fix, retrying does not help.
_BAD_SETTING = re.compile(r"(^|: )invalid [\w ]+ (value|option|number)\b")
_TLS = re.compile(r"SSL|certificate", re.IGNORECASE)


def credentials_refused(code: str, text: str) -> bool:
    """The server refused the user's credentials, or libpq had none to send."""
    return code in AUTH_CODES or any(t in text for t in _CREDENTIALS_REFUSED)


def connection_lost(text: str) -> bool:
    """libpq's text (no SQLSTATE) says the connection went away on the way."""
    return any(t in text.lower() for t in LOST_TEXTS)


def bad_setting(text: str) -> bool:
    """libpq's text (no SQLSTATE) refuses a connection setting."""
    return bool(_BAD_SETTING.search(text))


def tls_refused(text: str) -> bool:
    """libpq's text (no SQLSTATE, the connection not lost) names TLS: sslmode or a certificate."""
    return bool(_TLS.search(text))


def passing(code: str) -> bool:
    """A SQLSTATE that a later attempt may not meet again (connection, deadlock, resources,
    shutdown, a lock not available)."""
    return code.startswith(PASSING_CLASSES) or code == LOCK_NOT_AVAILABLE
