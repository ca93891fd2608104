"""Helpers for tap-mysql's integration tests: run SQL on the test database, run the tap as a
subprocess and read its messages back exactly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tapwell.wire import loads


def sql(cfg: dict[str, Any], *statements: str, db: str | None = None) -> list[tuple[Any, ...]]:
    """Run statements in the test database (autocommit); returns the last one's rows."""
    import MySQLdb

    conn = MySQLdb.connect(
        host=cfg["host"],
        port=cfg["port"],
        user=cfg["user"],
        passwd=cfg["password"],
        db=db or cfg["database"],
        charset="utf8mb4",
        autocommit=True,
    )
    rows: list[tuple[Any, ...]] = []
    try:
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        for s in statements:
            cur.execute(s)
            rows = list(cur.fetchall() or [])
    finally:
        conn.close()
    return rows


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def run_tap(
    bin_path: Path,
    tmp: Path,
    config: dict[str, Any],
    *,
    catalog: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    discover: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    args = [str(bin_path / "tap-mysql"), "--config", str(write_json(tmp / "config.json", config))]
    if discover:
        args.append("--discover")
    if catalog is not None:
        args += ["--catalog", str(write_json(tmp / "catalog.json", catalog))]
    if state is not None:
        args += ["--state", str(write_json(tmp / "state.json", state))]
    return subprocess.run(args, capture_output=True, timeout=300)


def messages(out: bytes) -> list[dict[str, Any]]:
    return [loads(line) for line in out.splitlines() if line.strip()]


def records(msgs: list[dict[str, Any]], stream: str | None = None) -> list[dict[str, Any]]:
    return [
        m["record"]
        for m in msgs
        if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
    ]


def states(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["value"] for m in msgs if m["type"] == "STATE"]


def discover(bin_path: Path, tmp: Path, config: dict[str, Any]) -> dict[str, Any]:
    proc = run_tap(bin_path, tmp, config, discover=True)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def select(
    catalog: dict[str, Any],
    table: str,
    method: str = "FULL_TABLE",
    replication_key: str | None = None,
) -> dict[str, Any]:
    """The catalog with only `table` selected, with the given replication method."""
    out = {"streams": []}
    for stream in catalog["streams"]:
        if stream["stream"] != table:
            continue
        for item in stream["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
                item["metadata"]["replication-method"] = method
                if replication_key:
                    item["metadata"]["replication-key"] = replication_key
        out["streams"].append(stream)
    assert out["streams"], f"table {table} not discovered"
    return out


def stream_entry(catalog: dict[str, Any], table: str) -> dict[str, Any]:
    return next(s for s in catalog["streams"] if s["stream"] == table)


def root_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    return next(i["metadata"] for i in entry["metadata"] if i["breadcrumb"] == [])


# ----------------------------------------------------------------------------- throwaway server


class ThrowawayMariaDB:
    """A private MariaDB server for tests that need server settings the shared one must keep
    (binlog off, STATEMENT format, purged binlogs): its own datadir, port and socket under
    `base`, root with an empty password, stopped (killed if need be) by `stop()`.

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
            import tempfile

            self.socket = Path(tempfile.mkdtemp(prefix="twdb")) / "s.sock"
        self.log = base / "server.log"
        self.server_args = server_args
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> dict[str, Any]:
        """A tap-mysql config for this server (no database: tests create their own)."""
        return {"host": "127.0.0.1", "port": self.port, "user": "root", "password": ""}

    @classmethod
    def missing(cls) -> str | None:
        """Why a throwaway server cannot run here, or None."""
        import shutil

        if not any(shutil.which(t) for t in cls.INSTALL):
            return f"none of {', '.join(cls.INSTALL)} is on PATH"
        if not any(shutil.which(s) for s in cls.SERVER):
            return f"none of {', '.join(cls.SERVER)} exists"
        return None

    def start(self, timeout: float = 60) -> None:
        import shutil
        import time

        import MySQLdb

        install = next(shutil.which(t) for t in self.INSTALL if shutil.which(t))
        server = next(shutil.which(s) for s in self.SERVER if shutil.which(s))
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
                    raise RuntimeError(
                        f"mariadbd did not answer in {timeout} s: {self.tail()}"
                    ) from None
                time.sleep(0.1)

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), killed after 30 s; safe to call more than once."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
