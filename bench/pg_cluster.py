"""The PostgreSQL -> PostgreSQL series' source: a throwaway cluster with wal_level=logical (its own
port and data directory under a temp dir, stopped at the end) and the small SQL helpers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

PG_BIN = next(
    (
        p
        for p in (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))
        if p.exists()
    ),
    Path("/usr/lib/postgresql/15/bin"),
)
SRC_DB = "bench_src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _plugin_setting() -> str:
    """Builds that restrict output plugins (an `output_plugin_libraries` setting) must allow
    wal2json for the anchors; a stock PostgreSQL has no such setting and allows any."""
    described = subprocess.run(
        [str(PG_BIN / "postgres"), "--describe-config"], capture_output=True, text=True
    ).stdout
    if "output_plugin_libraries" not in described:
        return ""
    return " -c output_plugin_libraries=pgoutput,test_decoding,wal2json"


class Cluster:
    """A throwaway source server with wal_level=logical (as the root user: run as `postgres`)."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="twbpg"))
        self.data = self.base / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(PG_BIN / args[0]), *args[1:]], capture_output=True, user=self.user, cwd=self.base
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]}: {(done.stdout + done.stderr).decode()[-800:]}")

    def start(self) -> None:
        if self.user:
            shutil.chown(self.base, self.user)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        opts = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c wal_level=logical "
            "-c max_replication_slots=10 -c max_wal_senders=10 -c fsync=off -c synchronous_commit=off "
            "-c shared_buffers=128MB -c max_wal_size=4GB"
        ) + _plugin_setting()
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.base / "log"), "-w", "-o", opts
        )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "user": "postgres",
            "password": "",
            "dbname": SRC_DB,
        }


def sql(
    cfg: dict[str, Any], *statements: str, dbname: str | None = None, params: Any = None
) -> list[Any]:
    import psycopg2

    keys = ("host", "port", "user", "password")
    conn = psycopg2.connect(
        **{k: cfg[k] for k in keys}, dbname=dbname or cfg.get("dbname") or "postgres"
    )
    conn.autocommit = True
    rows: list[Any] = []
    try:
        with conn.cursor() as cur:
            for s in statements:
                cur.execute(s, params)
                rows = cur.fetchall() if cur.description else []
    finally:
        conn.close()
    return rows


def checksum(
    cfg: dict[str, Any], table: str, dbname: str, up_to: int | None = None
) -> tuple[int, str]:
    """(rows, exact sum of amount), of the rows with id <= `up_to` when given: what every load
    is compared on (a CDC load on the rows it changed: a tap may stream changes without a copy)."""
    where = f" WHERE id <= {int(up_to)}" if up_to is not None else ""
    count, total = sql(
        cfg, f"SELECT count(*), coalesce(sum(amount), 0)::text FROM {table}{where}", dbname=dbname
    )[0]
    return int(count), str(total)
