"""tap-postgres's LOG_BASED tests' source: a throwaway PostgreSQL with wal_level=logical (its own
port, socket and data directory; the shared server is never reconfigured), and a fresh database
on it per test, dropped with its replication slots at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import pytest

from helpers.pg_server import ThrowawayPostgres
from helpers.pg_tap import sql

LOGICAL = {"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10"}


def throwaway_server(settings: dict[str, str] | None = None) -> Iterator[ThrowawayPostgres]:
    """For a fixture (`yield from`): a started throwaway server (default: LOGICAL), stopped
    after; the test is skipped where PostgreSQL's binaries are missing."""
    if ThrowawayPostgres.missing():
        pytest.skip(str(ThrowawayPostgres.missing()))
    s = ThrowawayPostgres(settings=LOGICAL if settings is None else settings)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _admin(server: ThrowawayPostgres, statement: str, params: tuple[Any, ...] = ()) -> None:
    conn = psycopg2.connect(**server.config)  # a new one each time: a test may restart the server
    conn.autocommit = True
    try:
        conn.cursor().execute(statement, params)
    finally:
        conn.close()


@contextmanager
def source_database(server: ThrowawayPostgres, name: str) -> Iterator[dict[str, Any]]:
    """Database `name` with schema `src` on `server`; yields a tap config reading `src`."""
    _admin(server, f'CREATE DATABASE "{name}"')
    cfg = {**server.config, "dbname": name, "filter_schemas": "src"}
    try:
        sql(cfg, "CREATE SCHEMA src")
        yield cfg
    finally:
        _admin(
            server,
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = %s",
            (name,),
        )
        _admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')
