"""Throwaway MariaDB servers for tests that need server settings the shared one does not have
and must keep (the shared server on 127.0.0.1:3306 runs with `log_bin=OFF`, as it comes, and is
never reconfigured or restarted by the project).

- `ThrowawayMariaDB`: one private server (own datadir, port and socket under a temp dir), for
  tests that change server globals or need binlog off / STATEMENT format.
- `binlog_db`: a fixture that gives a fresh database on ONE session-wide server with a ROW binlog
  (log_bin, ROW, FULL row image, server_id), for every binlog / CDC / LOG_BASED test. The server
  starts on first use, stops when the test process exits, and dies with the test process even
  when that is killed (PR_SET_PDEATHSIG, and helpers.watchdog, which also removes its folders),
  so no server is left behind.

Use it from a test module with `from helpers.mariadb_server import binlog_db` and a `binlog_db`
argument; it yields a tap-mysql config with `database` and `filter_dbs` set, like `mysql_db`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.tiers import require_services_marker
from helpers.watchdog import Watchdog, mark_owner, remove_stale

ROW_BINLOG = (
    "--log-bin=tw-bin",
    "--binlog-format=ROW",
    "--binlog-row-image=FULL",
    "--server-id=1",
)


class ThrowawayMariaDB:
    """A private MariaDB server: its own datadir, port and socket under `base`, root with an
    empty password, stopped (killed if need be) by `stop()`, and killed by the kernel if the
    process that started it dies first.

    `server_args` are extra mariadbd options, e.g. `--log-bin=...`. Raises `RuntimeError` with
    the server's log when it cannot be installed or does not answer."""

    INSTALL = ("mariadb-install-db", "mysql_install_db")
    SERVER = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld", "mariadbd", "mysqld")
    SMALL = ("--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M")

    def __init__(self, base: Path, *server_args: str) -> None:
        self.base = base
        self.datadir = base / "data"
        self.socket = base / "s.sock"
        if len(str(self.socket)) > 100:  # a Unix socket path has a ~107-byte limit
            self.socket = Path(tempfile.mkdtemp(prefix="twdb")) / "s.sock"
        self.log = base / "server.log"
        self.server_args = server_args
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # what the watchdog removes if the test process dies (the caller may add `base`)
        self.remove_on_death = [self.socket.parent] if self.socket.parent != base else []
        self.watchdog: Watchdog | None = None

    @property
    def config(self) -> dict[str, Any]:
        """A tap-mysql config for this server (no database: tests create their own)."""
        return {"host": "127.0.0.1", "port": self.port, "user": "root", "password": ""}

    @classmethod
    def missing(cls) -> str | None:
        """Why a throwaway server cannot run here, or None."""
        if not any(shutil.which(t) for t in cls.INSTALL):
            return f"none of {', '.join(cls.INSTALL)} is on PATH"
        if not any(shutil.which(s) for s in cls.SERVER):
            return f"none of {', '.join(cls.SERVER)} exists"
        return None

    def start(self, timeout: float = 60) -> None:
        """Install a datadir and start the server; returns once it answers on its port."""
        import MySQLdb

        install = next(shutil.which(t) for t in self.INSTALL if shutil.which(t))
        server = next(shutil.which(s) for s in self.SERVER if shutil.which(s))
        self.watchdog = Watchdog(self.base / "server.pid", self.remove_on_death)
        done = subprocess.run(
            [
                str(install),
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
                *self.SMALL,
            ],
            capture_output=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{install} failed: {(done.stdout + done.stderr).decode()[-2000:]}")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(server),
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--socket={self.socket}",
                    f"--pid-file={self.base / 'server.pid'}",
                    "--user=root",
                    "--skip-name-resolve",
                    *self.SMALL,
                    *self.server_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.proc.returncode}: {self.tail()}")
            try:
                MySQLdb.connect(host="127.0.0.1", port=self.port, user="root", passwd="").close()
                return
            except MySQLdb.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"mariadbd did not answer in {timeout} s: {self.tail()}"
                    ) from None
                time.sleep(0.1)

    def execute(self, *statements: str) -> list[tuple[Any, ...]]:
        """Run statements as root (autocommit, no database); returns the last one's rows."""
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", port=self.port, user="root", passwd="")
        rows: list[tuple[Any, ...]] = []
        try:
            conn.autocommit(True)
            cur = conn.cursor()
            for statement in statements:
                cur.execute(statement)
                rows = list(cur.fetchall() or [])
        finally:
            conn.close()
        return rows

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), killed after 30 s; safe to call more than once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if self.watchdog is not None:
            self.watchdog.release()
            self.watchdog = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGKILL it when the test process dies (kill -9
    of pytest included), so a throwaway server never outlives its tests."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def unavailable(why: str) -> None:
    """Skip (or, with TAPWELL_REQUIRE_SERVICES=1 as in CI, fail) a test that needs a server."""
    if os.environ.get("TAPWELL_REQUIRE_SERVICES") == "1":
        pytest.fail(why + "; TAPWELL_REQUIRE_SERVICES=1 makes this a failure")
    pytest.skip(why)


# ----------------------------------------------------------------- the session's ROW binlog server

_PREFIX = "tw-mariadb-"
_shared: ThrowawayMariaDB | None = None
_shared_error: str | None = None


def shared_binlog_server() -> ThrowawayMariaDB:
    """The test process's one ROW-binlog server, started on first use and stopped at exit.

    A module-level singleton rather than a session fixture: a fixture imported into several
    test modules is a separate fixture in each, and would start one server per module."""
    global _shared, _shared_error
    if _shared is not None:
        return _shared
    if _shared_error is not None:
        unavailable(_shared_error)
    why = ThrowawayMariaDB.missing()
    if why is None:
        remove_stale(_PREFIX, "server.pid")
        base = Path(tempfile.mkdtemp(prefix=_PREFIX))
        mark_owner(base)
        server = ThrowawayMariaDB(base, *ROW_BINLOG)
        server.remove_on_death.append(base)
        try:
            server.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            shutil.rmtree(base, ignore_errors=True)
            why = str(exc)
        else:
            atexit.register(_stop_shared, server)
            _shared = server
            return server
    _shared_error = f"cannot start a throwaway MariaDB with a ROW binlog: {why}"
    unavailable(_shared_error)
    raise AssertionError("unreachable")  # pragma: no cover


def _stop_shared(server: ThrowawayMariaDB) -> None:
    server.stop()
    shutil.rmtree(server.base, ignore_errors=True)
    if server.socket.parent != server.base:
        shutil.rmtree(server.socket.parent, ignore_errors=True)


@pytest.fixture
def binlog_db(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A fresh database on the session's ROW-binlog MariaDB; yields a tap-mysql config with
    `database` and `filter_dbs` set (as `mysql_db` does for the shared server)."""
    require_services_marker(request, "binlog_db")
    server = shared_binlog_server()
    name = f"tw_{uuid.uuid4().hex[:10]}"
    server.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield {**server.config, "database": name, "filter_dbs": name}
    finally:
        server.execute(f"DROP DATABASE IF EXISTS `{name}`")
