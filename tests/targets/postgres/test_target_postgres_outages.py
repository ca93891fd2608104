"""target-postgres when the server goes away mid-load (issue 20.5): a PostgreSQL restart and a
connection reset each end in one line and exit 75 (the runner retries), nothing committed past
the last STATE it printed, and the rerun from that state loads every row exactly once."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_server import ThrowawayPostgres
from helpers.pg_target import BIN, messages_text, query, run_target
from helpers.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.services, pytest.mark.slow]

BATCH = 3000
PROPS = {"id": {"type": "integer"}, "v": {"type": "string"}}
# Append-only: a row committed past the saved state would be loaded twice by the rerun.
SETTINGS = {"batch_size_rows": BATCH, "load_method": "append-only"}


def schema() -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": "orders",
        "schema": {"type": "object", "properties": PROPS},
        "key_properties": ["id"],
    }


def rows(ids: range) -> list[Any]:
    return [{"type": "RECORD", "stream": "orders", "record": {"id": i, "v": f"v{i}"}} for i in ids]


def state(pos: int) -> dict[str, Any]:
    return {"type": "STATE", "value": {"pos": pos}}


class Target:
    """target-postgres fed message by message, as a tap's pipe feeds it."""

    def __init__(self, config: dict[str, Any], tmp_path: Path) -> None:
        cfg = tmp_path / "outage-config.json"
        cfg.write_text(json.dumps(config))
        self.proc = subprocess.Popen(
            [str(BIN / "target-postgres"), "--config", str(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.states: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.states.put(line)

    def send(self, messages: list[Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(messages_text(messages))
        self.proc.stdin.flush()

    def next_state(self) -> Any:
        return json.loads(self.states.get(timeout=120))

    def finish(self) -> tuple[int, str, list[Any]]:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        err = self.proc.stderr.read()
        code = self.proc.wait(timeout=300)
        left = []
        while not self.states.empty():
            left.append(json.loads(self.states.get()))
        return code, err, left


@pytest.fixture
def server() -> Iterator[ThrowawayPostgres]:
    why = ThrowawayPostgres.missing()
    if why:
        pytest.skip(why)
    pg = ThrowawayPostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


def outage_then_rerun(config: dict[str, Any], tmp_path: Path, outage: Callable[[], None]) -> None:
    """Load a batch and see its STATE, start the next batch (its COPY already streaming),
    have the outage, send the rest: exit 75 with one line; then rerun from the saved state."""
    target = Target(config, tmp_path)
    target.send([schema(), *rows(range(0, BATCH)), state(BATCH - 1)])
    assert target.next_state() == {"pos": BATCH - 1}  # committed
    target.send(rows(range(BATCH, BATCH + 2500)))  # the server is receiving this batch's COPY
    outage()
    target.send([*rows(range(BATCH + 2500, 2 * BATCH + 500)), state(2 * BATCH + 499)])
    code, err, states = target.finish()
    assert code == 75, err
    errors = [x for x in err.splitlines() if ": error: " in x]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert errors[0].startswith("target-postgres: error: ") and "retrying may help" in errors[0]
    assert states == []
    reader = {k: v for k, v in config.items() if k in ("host", "port", "user", "dbname")}
    assert query(reader, "SELECT count(*) FROM orders") == [(BATCH,)]
    assert query(reader, "SELECT value FROM tapwell_state") == [({"pos": BATCH - 1},)]
    # The rerun: the tap resumes after the saved bookmark.
    done = run_target(
        config, [schema(), *rows(range(BATCH, 3 * BATCH)), state(3 * BATCH - 1)], tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['{"pos":8999}']
    assert query(reader, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM orders") == [
        (3 * BATCH, 3 * BATCH, 0, 3 * BATCH - 1)
    ]
    assert query(reader, "SELECT count(*) FROM orders WHERE v <> 'v' || id") == [(0,)]


def test_a_postgresql_restart_mid_load_exits_75_and_the_rerun_loads_each_row_once(
    server: ThrowawayPostgres, tmp_path: Path
) -> None:
    outage_then_rerun({**server.config, **SETTINGS}, tmp_path, server.restart)


def test_a_connection_reset_mid_load_exits_75_and_the_rerun_loads_each_row_once(
    server: ThrowawayPostgres, tmp_path: Path
) -> None:
    with TcpProxy(("127.0.0.1", server.port)) as proxy:
        config = {**server.config, **SETTINGS, "port": proxy.port}

        def cut() -> None:
            assert proxy.cut() >= 1

        outage_then_rerun(config, tmp_path, cut)


def test_sessions_have_keepalives_and_timeouts(server: ThrowawayPostgres) -> None:
    from tapwell.targets.postgres.connection import connect

    conn = connect({**server.config, "lock_timeout": 7})
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'), "
                "current_setting('tcp_keepalives_idle'), current_setting('client_encoding')"
            )
            assert cur.fetchone() == ("7s", "1h", "30", "UTF8")
        assert conn.info.get_parameters()["keepalives"] == "1"
    finally:
        conn.close()
