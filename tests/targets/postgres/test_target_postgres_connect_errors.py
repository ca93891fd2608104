"""What target-postgres makes of libpq's errors without a SQLSTATE: a setting libpq cannot use is
the config's to fix (exit 2, not retried); a connection lost on the way is retriable (exit 75)
even when its text names SSL, as libpq's does on a TLS connection."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pytest
from tapwell.targets.postgres.connection import map_error


@pytest.mark.parametrize(
    ("text", "exit_code"),
    [
        ("consuming input failed: SSL SYSCALL error: EOF detected", 75),
        ("consuming input failed: SSL connection has been closed unexpectedly", 75),
        ("sending query failed: SSL error: unexpected eof while reading", 75),
        ("consuming input failed: server closed the connection unexpectedly", 75),
        ('connection is bad: invalid sslmode value: "requir"', 2),
        ('invalid integer value "x" for connection option "keepalives"', 2),
        ("server does not support SSL, but SSL was required", 2),
        ("certificate verify failed", 2),
        # no password in the config for a server that asks one: was retried (75) before the
        # texts were shared with tap-postgres (tapwell.sdk.pg_errors)
        ('connection to server at "db", port 5432 failed: fe_sendauth: no password supplied', 2),
    ],
)
def test_connection_errors_without_sqlstate(text: str, exit_code: int) -> None:
    mapped = map_error(psycopg.OperationalError(text), "loading stream 'orders'")
    assert mapped.exit_code == exit_code, str(mapped)


def test_a_bad_sslmode_is_exit_2_before_any_connection(bin_path: Path, tmp_path: Path) -> None:
    """libpq refuses the value before it opens a socket: no server is needed."""
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"host": "127.0.0.1", "port": 1, "user": "u", "dbname": "d", "sslmode": "on"})
    )
    proc = subprocess.run(
        [str(bin_path / "target-postgres"), "--config", str(config)],
        input=b'{"type": "STATE", "value": {}}\n',
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [
        "target-postgres: error: cannot connect to PostgreSQL at 127.0.0.1:1 database 'd': "
        'connection is bad: invalid sslmode value: "on" (fix it in the config)'
    ]
