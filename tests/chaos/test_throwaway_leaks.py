"""A throwaway server (tests/helpers) dies with the pytest that started it, even under kill -9:
its port closes and its temp folder goes. And when its watchdog was killed as well, the next
start's stale sweep stops it and removes the folder.

The victim is a pytest in a subprocess whose one test starts a server, writes where it is and
then waits to be killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.mariadb_server import ThrowawayMariaDB
from helpers.pg_server import ThrowawayPostgres
from helpers.watchdog import remove_stale

pytestmark = [pytest.mark.services, pytest.mark.slow]
TESTS = Path(__file__).resolve().parents[1]

VICTIMS = {
    "postgres": """
        from helpers.pg_server import ThrowawayPostgres
        server = ThrowawayPostgres()
        server.start()
        port, base, pid_file = server.port, server.base, server.datadir / "postmaster.pid"
    """,
    "mariadb": """
        from helpers.mariadb_server import shared_binlog_server
        server = shared_binlog_server()
        port, base, pid_file = server.port, server.base, server.base / "server.pid"
    """,
}
STALE = {"postgres": ("twpg", "postmaster.pid"), "mariadb": ("tw-mariadb-", "server.pid")}


def _missing(kind: str) -> str | None:
    return ThrowawayPostgres.missing() if kind == "postgres" else ThrowawayMariaDB.missing()


def _victim(tmp_path: Path, kind: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    info = tmp_path / "info.json"
    body = textwrap.indent(textwrap.dedent(VICTIMS[kind]).strip(), "    ")
    (tmp_path / "test_victim.py").write_text(
        "import json, threading\n\n"
        "def test_victim():\n"
        f"{body}\n"
        "    json.dump({'port': port, 'base': str(base), 'pid_file': str(pid_file),\n"
        "               'watchdog': server.watchdog.proc.pid},\n"
        f"              open({str(info)!r} + '.tmp', 'w'))\n"
        f"    __import__('os').replace({str(info)!r} + '.tmp', {str(info)!r})\n"
        "    threading.Event().wait()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         str(tmp_path / "test_victim.py")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 180  # a hang guard: initdb on a loaded machine is slow
    while not info.exists():
        assert proc.poll() is None, f"the victim pytest exited with {proc.returncode}"
        assert time.monotonic() < deadline, "the victim never started its server"
        time.sleep(0.1)
    return proc, json.loads(info.read_text())


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_gone(server_pid: int, port: int, base: Path) -> None:
    deadline = time.monotonic() + 60  # a hang guard, not a measure
    while _pid_alive(server_pid) or _answers(port) or base.exists():
        assert time.monotonic() < deadline, (
            f"still there: server pid {server_pid} alive={_pid_alive(server_pid)}, "
            f"port {port} answers={_answers(port)}, {base} exists={base.exists()}"
        )
        time.sleep(0.1)


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_server_dies_with_killed_pytest(tmp_path: Path, kind: str) -> None:
    if _missing(kind):
        pytest.skip(str(_missing(kind)))
    proc, info = _victim(tmp_path, kind)
    server_pid = int(Path(info["pid_file"]).read_text().split()[0])
    assert _answers(info["port"]) and _pid_alive(server_pid)
    proc.kill()
    proc.wait()
    _wait_gone(server_pid, info["port"], Path(info["base"]))


def test_stale_server_is_stopped_at_next_start(tmp_path: Path) -> None:
    """Watchdog and pytest both killed: the PostgreSQL server keeps running (pg_ctl put it in a
    session of its own) until the next start's sweep, which finds its owner gone."""
    if ThrowawayPostgres.missing():
        pytest.skip(str(ThrowawayPostgres.missing()))
    proc, info = _victim(tmp_path, "postgres")
    server_pid = int(Path(info["pid_file"]).read_text().split()[0])
    os.kill(info["watchdog"], signal.SIGKILL)
    proc.kill()
    proc.wait()
    assert _answers(info["port"]) and Path(info["base"]).exists()  # left behind, as before
    remove_stale(*STALE["postgres"], signal.SIGQUIT)
    _wait_gone(server_pid, info["port"], Path(info["base"]))
