"""tap-postgres and target-postgres read libpq's SQLSTATE-less texts through one module
(tapwell.sdk.pg_errors), so they classify them alike: before, target-postgres knew 7 of the
tap's 10 lost-connection texts and took a lost connection whose text named SSL for a TLS
setting to fix (exit 2, never retried), and retried a missing password (exit 75)."""

from __future__ import annotations

import psycopg
import psycopg2
import pytest
from tapwell.sdk.pg_errors import LOST_TEXTS
from tapwell.taps.postgres.config import parse
from tapwell.taps.postgres.connection import map_error as tap_map_error
from tapwell.targets.postgres.connection import map_error as target_map_error

CFG = parse({"host": "db.example", "port": 5433, "user": "loader", "dbname": "d"})


def _both(text: str) -> tuple[int, int]:
    tap = tap_map_error(psycopg2.OperationalError(text), CFG, "connecting")
    target = target_map_error(psycopg.OperationalError(text), "connecting to PostgreSQL")
    return tap.exit_code, target.exit_code


@pytest.mark.parametrize("lost", LOST_TEXTS)
def test_a_lost_connection_is_retried_by_both_even_naming_ssl(lost: str) -> None:
    assert _both(f"{lost} (SSL error)") == (75, 75)


@pytest.mark.parametrize(
    "text",
    [
        "fe_sendauth: no password supplied",
        'password authentication failed for user "loader"',
        'invalid sslmode value: "requir"',
        "server does not support SSL, but SSL was required",
    ],
)
def test_the_config_s_to_fix_for_both(text: str) -> None:
    assert _both(f'connection to server at "10.0.0.5", port 5433 failed: {text}') == (2, 2)
