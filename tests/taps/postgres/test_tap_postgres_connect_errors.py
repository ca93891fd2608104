"""What tap-postgres makes of libpq's connection errors, which carry no SQLSTATE: a refused login
or a setting libpq cannot use is the config's to fix (exit 2, not retried); a connection lost on
the way stays retriable (exit 75), TLS or not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tapwell.taps.postgres.config import parse
from tapwell.taps.postgres.connection import map_error

CFG = parse({"host": "db.example", "port": 5433, "user": "loader", "dbname": "d"})
AT = 'connection to server at "10.0.0.5", port 5433 failed: '


@pytest.mark.parametrize(
    ("text", "doing", "exit_code", "message"),
    [
        (
            AT + 'FATAL:  role "loader" does not exist',
            "connecting",
            2,
            "PostgreSQL at db.example:5433 refused user 'loader': role \"loader\" does not exist; "
            "check user in the config (and pg_hba.conf)",
        ),
        (
            AT + 'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "loader", database "d"',
            "connecting",
            2,
            "PostgreSQL at db.example:5433 refused user 'loader': no pg_hba.conf entry for host "
            '"10.0.0.9", user "loader", database "d"; check user in the config (and pg_hba.conf)',
        ),
        (
            'invalid sslmode value: "requir"',
            "connecting",
            2,
            'PostgreSQL connection settings while connecting: invalid sslmode value: "requir"; '
            "fix them in the config",
        ),
        (
            AT + "server does not support SSL, but SSL was required",
            "connecting",
            2,
            "PostgreSQL at db.example:5433 while connecting: server does not support SSL, but SSL "
            "was required; check sslmode and the certificate settings",
        ),
        (
            "SSL SYSCALL error: EOF detected",
            "connecting",
            75,
            "lost or no connection to PostgreSQL at db.example:5433 while connecting: SSL SYSCALL "
            "error: EOF detected; check that the server is up and reachable",
        ),
        (
            AT + "Connection refused Is the server running on that host and accepting TCP/IP "
            "connections?",
            "connecting",
            75,
            None,
        ),
    ],
)
def test_connection_errors_without_sqlstate(
    text: str, doing: str, exit_code: int, message: str | None
) -> None:
    import psycopg2

    mapped = map_error(psycopg2.OperationalError(text), CFG, doing)
    assert mapped.exit_code == exit_code
    if message is not None:
        assert str(mapped) == message


def test_a_bad_sslmode_is_exit_2_before_any_connection(bin_path: Path, tmp_path: Path) -> None:
    """libpq refuses the value before it opens a socket: no server is needed."""
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"host": "127.0.0.1", "port": 1, "user": "u", "dbname": "d", "sslmode": "on"})
    )
    proc = subprocess.run(
        [str(bin_path / "tap-postgres"), "--config", str(config), "--discover"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [
        "tap-postgres: error: PostgreSQL connection settings while connecting: invalid sslmode "
        'value: "on"; fix them in the config'
    ]
