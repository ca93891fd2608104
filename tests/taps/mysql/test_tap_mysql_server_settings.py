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
from helpers.mysql_tap import discover, messages, run_tap, select, sql, states

pytestmark = pytest.mark.services
CANNOT = "this server's binlog cannot feed LOG_BASED streams"


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
        f"tap-mysql: error: {CANNOT}: binlog_format is {fmt} "
        "(SET GLOBAL binlog_format = 'ROW', and in my.cnf)"
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
        f"tap-mysql: error: {CANNOT}: binlog_row_image is MINIMAL "
        "(SET GLOBAL binlog_row_image = 'FULL', and in my.cnf)"
    )


def test_binlog_off(no_binlog_server: ThrowawayMariaDB, bin_path: Path, tmp_path: Path) -> None:
    assert _admin(no_binlog_server, "SELECT @@GLOBAL.log_bin")[0][0] == 0
    config, cat = _log_based_stream(no_binlog_server, bin_path, tmp_path)
    proc = run_tap(bin_path, tmp_path, config, catalog=cat)
    assert proc.returncode == 2
    assert _one_error_line(proc) == (
        f"tap-mysql: error: {CANNOT}: log_bin is OFF (set log_bin in my.cnf and restart the "
        "server); binlog_format is MIXED (SET GLOBAL binlog_format = 'ROW', and in my.cnf)"
    )
    # FULL_TABLE still works on the same server
    full = run_tap(bin_path, tmp_path, config, catalog=select(cat, "t", "FULL_TABLE"))
    assert full.returncode == 0, full.stderr.decode()


def test_every_wrong_setting_is_reported_at_once_at_sync_and_at_discover(
    no_binlog_server: ThrowawayMariaDB, bin_path: Path, tmp_path: Path
) -> None:
    """log_bin, binlog_format and binlog_row_image all wrong: one error line names all three
    (a user fixed them one run, and one server restart, at a time), and `--discover` warns with
    the same list before anyone edits a catalog for LOG_BASED."""
    _admin(
        no_binlog_server,
        "SET GLOBAL binlog_format = 'STATEMENT'",
        "SET GLOBAL binlog_row_image = 'MINIMAL'",
    )
    try:
        config, cat = _log_based_stream(no_binlog_server, bin_path, tmp_path)
        every = (
            "log_bin is OFF (set log_bin in my.cnf and restart the server); "
            "binlog_format is STATEMENT (SET GLOBAL binlog_format = 'ROW', and in my.cnf); "
            "binlog_row_image is MINIMAL (SET GLOBAL binlog_row_image = 'FULL', and in my.cnf)"
        )
        for _ in range(2):  # the same line on every run until the server is fixed
            proc = run_tap(bin_path, tmp_path, config, catalog=cat)
            assert proc.returncode == 2
            assert _one_error_line(proc) == f"tap-mysql: error: {CANNOT}: {every}"
            assert b'"type":"RECORD"' not in proc.stdout

        found = run_tap(bin_path, tmp_path, config, discover=True)
        assert found.returncode == 0, found.stderr.decode()
        assert _one_error_line(found) == (
            f"tap-mysql WARNING {CANNOT} (FULL_TABLE and INCREMENTAL are not affected): {every}"
        )
    finally:
        _admin(
            no_binlog_server,
            "SET GLOBAL binlog_format = 'MIXED'",
            "SET GLOBAL binlog_row_image = 'FULL'",
        )


def test_discover_is_quiet_on_a_server_ready_for_log_based(
    binlog_server: ThrowawayMariaDB, bin_path: Path, tmp_path: Path
) -> None:
    _admin(
        binlog_server, "SET GLOBAL binlog_format = 'ROW'", "SET GLOBAL binlog_row_image = 'FULL'"
    )
    config, _ = _log_based_stream(binlog_server, bin_path, tmp_path)
    found = run_tap(bin_path, tmp_path, config, discover=True)
    assert found.returncode == 0 and found.stderr == b"", found.stderr.decode()


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
