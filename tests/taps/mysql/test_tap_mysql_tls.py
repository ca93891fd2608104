"""`ssl: true` means TLS or no connection: never a silent fall back to plain text, on the query
connection (mysqlclient) or on the binlog one (PyMySQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import run_tap, sql
from tapwell.taps.mysql.config import SETTINGS
from tapwell.taps.mysql.connection import binlog_ssl


def test_ssl_on_against_a_server_without_tls_is_one_line_and_exit_2(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    have = sql(mysql_db, "SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
    if have and have[0][1] == "YES":
        pytest.skip("this test server offers TLS: nothing to refuse")
    proc = run_tap(bin_path, tmp_path, {**mysql_db, "ssl": True}, discover=True)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [
        f"tap-mysql: error: config key ssl is true, but MySQL at 127.0.0.1:{mysql_db['port']} took "
        "the connection without TLS (the server offers none: have_ssl is not YES); enable TLS on "
        "the server, or set ssl to false to connect unencrypted"
    ]


@pytest.mark.parametrize(
    "extra",
    [{}, {"ssl_ca": "/etc/ssl/certs/ca-certificates.crt"}, {"check_hostname": True}],
)
def test_the_binlog_connection_requires_tls(extra: dict[str, Any]) -> None:
    """PyMySQL takes an empty `ssl` dict as "TLS if the server offers it" (it was given {} when
    the config named no certificate files)."""
    import pymysql

    assert pymysql.connections.Connection(ssl={}, defer_connect=True)._ssl_required is False
    config = SETTINGS.parse({"host": "127.0.0.1", "user": "u", "ssl": "true", **extra})
    conn = pymysql.connections.Connection(
        host="127.0.0.1", user="u", ssl=binlog_ssl(config), defer_connect=True
    )
    assert conn._ssl_required is True  # the handshake fails if the server offers no TLS


def test_tls_refused_with_check_hostname_is_the_configs_to_fix(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """With check_hostname the driver itself refuses a server without TLS (error 2026), which was
    read as an unreachable server: exit 75, "check host, port and firewall", retried."""
    have = sql(mysql_db, "SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
    if have and have[0][1] == "YES":
        pytest.skip("this test server offers TLS: nothing to refuse")
    config = {**mysql_db, "ssl": True, "check_hostname": True}
    proc = run_tap(bin_path, tmp_path, config, discover=True)
    assert proc.returncode == 2
    [line] = proc.stderr.decode().splitlines()
    assert line.startswith(
        f"tap-mysql: error: no TLS connection to MySQL at 127.0.0.1:{mysql_db['port']}: "
    )
    assert line.endswith(
        "; check ssl, ssl_ca, ssl_cert, ssl_key and check_hostname in the config, or the server's "
        "TLS setup"
    )


def test_a_tls_connection_lost_on_the_way_stays_retriable() -> None:
    import MySQLdb
    from tapwell.taps.mysql.connection import map_error

    config = SETTINGS.parse({"host": "db", "user": "u"})
    lost = MySQLdb.OperationalError(2026, "TLS/SSL error: unexpected eof while reading")
    assert map_error(lost, config, "connecting").exit_code == 75
    refused = MySQLdb.OperationalError(2026, "TLS/SSL error: certificate verify failed")
    assert map_error(refused, config, "connecting").exit_code == 2
