"""A throwaway PostgreSQL server for tests that restart it, or need a setting the shared one must
keep (password authentication): initdb + pg_ctl from the machine's PostgreSQL binaries, its own
data directory, free port and socket directory under a temp dir, stopped by `stop()`.

The shared server on 127.0.0.1:5432 is never touched. PostgreSQL refuses to run as root, so
when the tests run as root the server runs as the `postgres` system user.

pg_ctl starts the server in a session of its own, so it would outlive a killed pytest: a
watchdog (helpers.watchdog) stops it and removes its temp dir when the test process is gone,
and the next start removes what a killed watchdog left (folders whose owner is gone).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from helpers.watchdog import Watchdog, mark_owner, remove_stale

BIN_DIRS = [Path(p) for p in ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ThrowawayPostgres:
    """`ThrowawayPostgres(password="...")` requires that password over TCP (scram-sha-256);
    without one, every connection is trusted. `settings` adds server settings
    (`{"wal_level": "logical"}` for logical replication tests)."""

    def __init__(self, password: str | None = None, settings: dict[str, str] | None = None) -> None:
        self.bin = next((d for d in BIN_DIRS if (d / "pg_ctl").exists()), None)
        _remove_stale_once()
        self.base = Path(tempfile.mkdtemp(prefix=PREFIX))  # short: a socket path is <108 bytes
        mark_owner(self.base)
        self.datadir = self.base / "data"
        self.log = self.base / "server.log"
        self.port = free_port()
        self.password = password
        self.user = "postgres" if os.geteuid() == 0 else None
        self.started = False
        self.settings = dict(settings or {})  # more `-c name=value` (wal_level=logical, ...)
        self.watchdog: Watchdog | None = None

    @classmethod
    def missing(cls) -> str | None:
        """Why a throwaway server cannot run here, or None."""
        if not any((d / "pg_ctl").exists() for d in BIN_DIRS):
            return f"no pg_ctl in {', '.join(map(str, BIN_DIRS))}"
        return None

    @property
    def config(self) -> dict[str, Any]:
        """A target-postgres config for database `postgres` on this server."""
        out: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": "postgres",
            "dbname": "postgres",
        }
        if self.password:
            out["password"] = self.password
        return out

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        assert self.bin is not None
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            timeout=timeout,
            user=self.user,
            cwd=self.base,
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {(done.stdout + done.stderr).decode()} {log}")
        return done

    def start(self) -> None:
        # SIGQUIT: PostgreSQL's immediate shutdown (the postmaster takes its backends along)
        self.watchdog = Watchdog(self.datadir / "postmaster.pid", [self.base], signal.SIGQUIT)
        if self.user:
            shutil.chown(self.base, self.user)
        init = ["initdb", "-D", str(self.datadir), "-U", "postgres", "--no-sync", "-E", "UTF8"]
        if self.password:
            pwfile = self.base / "pw"
            pwfile.write_text(self.password + "\n")
            if self.user:
                shutil.chown(pwfile, self.user)
            init += ["--auth-host=scram-sha-256", "--auth-local=trust", f"--pwfile={pwfile}"]
        else:
            init += ["--auth=trust"]
        self._run(*init)
        self._pg_ctl("start")
        self.started = True

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c shared_buffers=16MB -c max_connections=20"
        ) + "".join(f" -c {k}={v}" for k, v in self.settings.items())
        self._run(
            "pg_ctl", action, "-D", str(self.datadir), "-l", str(self.log), "-w", "-t", "60",
            "-o", options, *extra,
        )  # fmt: skip

    def restart(self) -> None:
        """A fast restart: every session is terminated, as on an operator's restart. On a loaded
        machine a fast shutdown can outwait pg_ctl (a walsender still sending); the server is then
        stopped immediately and started again, so the tests after it find it up."""
        try:
            self._pg_ctl("restart", "-m", "fast")
        except (RuntimeError, subprocess.TimeoutExpired):
            # it may be down already: the restart stopped it and its start timed out
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "immediate", "-w")
            self._pg_ctl("start")

    def stop(self) -> None:
        if self.started:
            try:
                self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "immediate", "-w")
            except (RuntimeError, subprocess.TimeoutExpired):
                pid_file = self.datadir / "postmaster.pid"
                if pid_file.exists():
                    os.kill(int(pid_file.read_text().split()[0]), 9)
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)
        if self.watchdog is not None:
            self.watchdog.release()
            self.watchdog = None


PREFIX = "twpg"
_stale_checked = False


def _remove_stale_once() -> None:
    """Once per test process: the servers and folders of killed test processes."""
    global _stale_checked
    if not _stale_checked:
        _stale_checked = True
        remove_stale(PREFIX, "postmaster.pid", signal.SIGQUIT)
