"""The checker on our database connectors, against the real servers: tap-mysql on a fresh MariaDB
database (keyed, keyless and incremental tables, awkward values) and target-postgres on a fresh
PostgreSQL database (the whole target suite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import mariadb_server
from tapwell.sdk.check import Verifier, check_tap, check_target, destination

pytestmark = pytest.mark.services
binlog_db = mariadb_server.binlog_db  # the fixture: a database on the ROW-binlog server


def _tap_mysql_tables(db: dict[str, Any], tmp_path: Path) -> Path:
    """Keyed, keyless and awkward-value tables in `db`; returns tap-mysql's config file."""
    import MySQLdb

    conn = MySQLdb.connect(
        host=db["host"],
        port=db["port"],
        user=db["user"],
        passwd=db["password"],
        db=db["database"],
        charset="utf8mb4",
    )
    cur = conn.cursor()
    cur.execute(
        "CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(12,2), note VARCHAR(100), "
        "big BIGINT UNSIGNED, created DATE, updated_at DATETIME(6), flag TINYINT(1), doc JSON)"
    )
    cur.execute(
        "INSERT INTO orders VALUES "
        "(1, 12.34, '', 18446744073709551615, '2024-01-01', '2024-01-01 10:00:00.123456', 1, '{\"a\": 1}'),"
        "(2, NULL, NULL, 0, '2024-01-01', '2024-01-02 10:00:00', 0, NULL),"
        "(3, -0.01, 'émoji 🎉\ttab\nline', 5, '2024-02-29', '2024-01-03 00:00:00', NULL, '[1, 2]')"
    )
    cur.execute("CREATE TABLE no_key (a INT, b TEXT)")
    cur.execute("INSERT INTO no_key VALUES (1, 'x'), (1, 'x'), (NULL, '')")
    conn.commit()
    conn.close()
    config = tmp_path / "tap-mysql.json"
    config.write_text(json.dumps(db))
    return config


def test_tap_mysql_conforms(mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> None:
    config = _tap_mysql_tables(mysql_db, tmp_path)
    report = check_tap([str(bin_path / "tap-mysql"), "--config", str(config)])
    assert report.ok, report.to_text()
    assert "sync: 6 record(s) in 2 stream(s)" in report.notes[0], report.notes


def test_tap_mysql_conforms_log_based(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """LOG_BASED needs a ROW binlog, which the shared MariaDB does not have: the session's
    throwaway ROW-binlog server (`binlog_db`)."""
    config = _tap_mysql_tables(binlog_db, tmp_path)
    log_based = check_tap(
        [str(bin_path / "tap-mysql"), "--config", str(config)], method="LOG_BASED"
    )
    assert log_based.ok, log_based.to_text()
    assert "sync: 6 record(s) in 2 stream(s)" in log_based.notes[0], log_based.notes


@pytest.mark.parametrize("nested", ["json", "tables"])
def test_target_postgres_conforms_read_back(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, nested: str
) -> None:
    """Every case, read back; with nested: tables the nested case's documents are reassembled
    from the child tables (issue 17)."""
    config = tmp_path / "target-postgres.json"
    config.write_text(
        json.dumps({**pg_db, "default_target_schema": "conformance", "nested": nested})
    )
    dsn = f"host={pg_db['host']} port={pg_db['port']} user={pg_db['user']} dbname={pg_db['dbname']}"
    report = check_target(
        [str(bin_path / "target-postgres"), "--config", str(config)],
        verify=Verifier(destination(f"postgres:conformance:{dsn}")),
    )
    assert report.ok, report.to_text()
    assert len(report.checks) == 15
