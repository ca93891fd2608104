"""tap-mysql LOG_BASED against servers that cannot feed it: binlog off, binlog_format not ROW,
binlog_row_image not FULL, a bookmarked binlog file that was purged. These run on throwaway
MariaDB servers of their own (own datadir, port and socket under the test's tmp dir), since they
change server globals: never the shared server, nor the session's ROW-binlog server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.mariadb_server import ThrowawayMariaDB, unavailable
from mysql_helpers import discover, messages, run_tap, select, sql, states

pytestmark = pytest.mark.services


def _server(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[ThrowawayMariaDB]:
    why = ThrowawayMariaDB.missing()
    if why:
        unavailable(f"cannot start a throwaway MariaDB: {why}")
    base = tmp_path_factory.mktemp("mariadb")
    server = ThrowawayMariaDB(base, *args)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def binlog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayMariaDB]:
    """Binary logging on, in STATEMENT format; tests set the dynamic globals they need."""
    base_args = ("--log-bin=tw-bin", "--server-id=2", "--binlog-format=STATEMENT")
    yield from _server(tmp_path_factory, *base_args)


@pytest.fixture(scope="module")
def no_binlog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayMariaDB]:
    yield from _server(tmp_path_factory, "--skip-log-bin", "--server-id=3")


def _admin(server: ThrowawayMariaDB, *statements: str) -> list[tuple[Any, ...]]:
    return sql({**server.config, "database": "mysql"}, *statements)


def _log_based_stream(
    server: ThrowawayMariaDB, bin_path: Path, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh database with one table on `server`; its config and a LOG_BASED catalog."""
    name = f"tw_{uuid.uuid4().hex[:10]}"
    _admin(server, f"CREATE DATABASE `{name}`")
    config = {**server.config, "database": name, "filter_dbs": name, "server_id": 515151}
    sql(
        config,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO t VALUES (1, 'a')",
    )
    return config, select(discover(bin_path, tmp_path, config), "t", "LOG_BASED")


def _one_error_line(proc: Any) -> str:
    """The tap's stderr, which must be exactly one line (no traceback), without its newline."""
    err = proc.stderr.decode()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("fmt", ["STATEMENT", "MIXED"])
def test_binlog_format_not_row(
    binlog_server: ThrowawayMariaDB, bin_path: Path, tmp_path: Path, fmt: str
) -> None:
    _admin(
        binlog_server, f"SET GLOBAL binlog_format = '{fmt}'", "SET GLOBAL binlog_row_image = 'FULL'"
    )
    config, cat = _log_based_stream(binlog_server, bin_path, tmp_path)
    proc = run_tap(bin_path, tmp_path, config, catalog=cat)
    assert proc.returncode == 2
    assert _one_error_line(proc) == (
        f"tap-mysql: error: binlog_format is {fmt}, LOG_BASED needs ROW: "
        "SET GLOBAL binlog_format = 'ROW' (and in my.cnf)"
    )
    assert proc.stdout.count(b'"type":"RECORD"') == 0  # refused before the snapshot


def test_binlog_row_image_not_full(
    binlog_server: ThrowawayMariaDB, bin_path: Path, tmp_path: Path
) -> None:
    _admin(
        binlog_server, "SET GLOBAL binlog_format = 'ROW'", "SET GLOBAL binlog_row_image = 'MINIMAL'"
    )
    config, cat = _log_based_stream(binlog_server, bin_path, tmp_path)
    proc = run_tap(bin_path, tmp_path, config, catalog=cat)
    assert proc.returncode == 2
    assert _one_error_line(proc) == (
        "tap-mysql: error: binlog_row_image is MINIMAL, LOG_BASED needs FULL: "
        "SET GLOBAL binlog_row_image = 'FULL' (and in my.cnf)"
    )


def test_binlog_off(no_binlog_server: ThrowawayMariaDB, bin_path: Path, tmp_path: Path) -> None:
    assert _admin(no_binlog_server, "SELECT @@GLOBAL.log_bin")[0][0] == 0
    config, cat = _log_based_stream(no_binlog_server, bin_path, tmp_path)
    proc = run_tap(bin_path, tmp_path, config, catalog=cat)
    assert proc.returncode == 2
    assert _one_error_line(proc) == (
        "tap-mysql: error: binary logging is off on the server; LOG_BASED needs log_bin=ON"
    )
    # FULL_TABLE still works on the same server
    full = run_tap(bin_path, tmp_path, config, catalog=select(cat, "t", "FULL_TABLE"))
    assert full.returncode == 0, full.stderr.decode()


def test_bookmarked_binlog_file_purged(
    binlog_server: ThrowawayMariaDB, bin_path: Path, tmp_path: Path
) -> None:
    """A real purge: the snapshot bookmarks a binlog file, the server rotates and purges it."""
    _admin(
        binlog_server, "SET GLOBAL binlog_format = 'ROW'", "SET GLOBAL binlog_row_image = 'FULL'"
    )
    config, cat = _log_based_stream(binlog_server, bin_path, tmp_path)
    first = run_tap(bin_path, tmp_path, config, catalog=cat)
    assert first.returncode == 0, first.stderr.decode()
    state = states(messages(first.stdout))[-1]
    sid = next(iter(state["bookmarks"]))
    bookmarked = state["bookmarks"][sid]["log_file"]

    _admin(binlog_server, "FLUSH BINARY LOGS")
    newest = _admin(binlog_server, "SHOW MASTER STATUS")[0][0]
    # MariaDB keeps a file until InnoDB's binlog checkpoint has moved past it (and while a dump
    # thread still reads it), so the purge is repeated until it has happened
    for _ in range(300):
        _admin(binlog_server, f"PURGE BINARY LOGS TO '{newest}'")
        if bookmarked not in [r[0] for r in _admin(binlog_server, "SHOW BINARY LOGS")]:
            break
        time.sleep(0.1)
    assert [r[0] for r in _admin(binlog_server, "SHOW BINARY LOGS")] == [newest]

    proc = run_tap(bin_path, tmp_path, config, catalog=cat, state=state)
    assert proc.returncode == 1
    assert _one_error_line(proc) == (
        f"tap-mysql: error: the bookmarked binlog file {bookmarked} is no longer on the server "
        f"(it was purged; the oldest is {newest}): remove the stream's bookmark to take a new "
        "initial snapshot, and keep binlogs longer (binlog_expire_logs_seconds)"
    )
