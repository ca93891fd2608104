"""The PostgreSQL state backend: state, state history and run history in three tables, and a
session advisory lock per integration, so runs on many machines (Kubernetes pods) share one
truth and never overlap. psycopg2 is imported only when this backend is used."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from tapwell.errors import ConfigError
from tapwell.history import RunRecord, new_run_id
from tapwell.lock import LockHeld
from tapwell.statestore import check_state
from tapwell.wire import dumps, loads


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresStateStore:
    def __init__(self, dsn: str, schema: str = "tapwell") -> None:
        try:
            import psycopg2
        except ImportError:  # pragma: no cover
            raise ConfigError(
                "the postgres state backend needs psycopg2: pip install 'tapwell[postgres]'"
            ) from None
        self.dsn = dsn
        self.schema = _q(schema)
        try:
            self.conn = psycopg2.connect(dsn)
        except psycopg2.OperationalError as exc:
            raise ConfigError(
                f"state backend: cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}"
            ) from None
        self.conn.autocommit = True
        self._create()

    def _create(self) -> None:
        s = self.schema
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtext('tapwell:ddl'))")
            try:
                cur.execute(f"""
                CREATE SCHEMA IF NOT EXISTS {s};
                CREATE TABLE IF NOT EXISTS {s}.state (
                    integration text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE IF NOT EXISTS {s}.state_history (
                    id bigserial PRIMARY KEY, integration text NOT NULL, value jsonb, run_id text,
                    saved_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE IF NOT EXISTS {s}.runs (
                    id text PRIMARY KEY, integration text NOT NULL, started_at timestamptz NOT NULL,
                    ended_at timestamptz, outcome text NOT NULL, attempts integer NOT NULL DEFAULT 0,
                    rows jsonb NOT NULL DEFAULT '{{}}', error text, log text NOT NULL DEFAULT '');
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS attempt_rows jsonb NOT NULL DEFAULT '[]';
                CREATE INDEX IF NOT EXISTS runs_integration_started ON {s}.runs (integration, started_at DESC);
                """)
            finally:
                cur.execute("SELECT pg_advisory_unlock(hashtext('tapwell:ddl'))")

    def get(self, integration: str) -> dict[str, Any] | None:
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT value::text FROM {self.schema}.state WHERE integration = %s",
                (integration,),
            )
            row = cur.fetchone()
        return loads(row[0]) if row else None

    def put(
        self,
        integration: str,
        state: dict[str, Any],
        *,
        run_id: str | None = None,
        record: bool = False,
        force: bool = False,
    ) -> None:
        if not force:
            check_state(state, self.get(integration))
        body = dumps(state).decode()
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO {self.schema}.state (integration, value, updated_at) VALUES (%s, %s::jsonb, now()) "
                "ON CONFLICT (integration) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                (integration, body),
            )
            if record:
                cur.execute(
                    f"INSERT INTO {self.schema}.state_history (integration, value, run_id) VALUES (%s, %s::jsonb, %s)",
                    (integration, body, run_id),
                )

    def clear(self, integration: str, *, run_id: str | None = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f"DELETE FROM {self.schema}.state WHERE integration = %s", (integration,))
            cur.execute(
                f"INSERT INTO {self.schema}.state_history (integration, value, run_id) VALUES (%s, NULL, %s)",
                (integration, run_id),
            )

    def state_history(
        self, integration: str, limit: int = 20
    ) -> list[tuple[dt.datetime, str | None, dict[str, Any] | None]]:
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT saved_at, run_id, value::text FROM {self.schema}.state_history "
                "WHERE integration = %s ORDER BY id DESC LIMIT %s",
                (integration, limit),
            )
            return [(r[0], r[1], loads(r[2]) if r[2] is not None else None) for r in cur.fetchall()]

    @contextmanager
    def lock(self, integration: str) -> Iterator[None]:
        """A session advisory lock on a connection of its own, held for the whole run."""
        import psycopg2

        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_try_advisory_lock(hashtext(%s))", (f"tapwell:run:{integration}",)
                )
                if not cur.fetchone()[0]:
                    raise LockHeld(
                        f"integration {integration!r} is already running (PostgreSQL advisory lock held); "
                        "this start exits without running"
                    )
            yield
        finally:
            conn.close()  # closing the session releases the lock

    def save_run(self, run: RunRecord) -> RunRecord:
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO {self.schema}.runs (id, integration, started_at, ended_at, outcome, attempts, rows, error, log, attempt_rows) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s::jsonb) ON CONFLICT (id) DO UPDATE SET "
                "ended_at = EXCLUDED.ended_at, outcome = EXCLUDED.outcome, attempts = EXCLUDED.attempts, "
                "rows = EXCLUDED.rows, error = EXCLUDED.error, log = EXCLUDED.log, "
                "attempt_rows = EXCLUDED.attempt_rows",
                (
                    run.id or new_run_id(run.started_at),
                    run.integration,
                    run.started_at,
                    run.ended_at,
                    run.outcome,
                    run.attempts,
                    orjson.dumps(run.rows).decode(),
                    run.error,
                    run.log,
                    orjson.dumps(run.attempt_rows).decode(),
                ),
            )
        return run

    def _records(self, where: str, args: tuple[Any, ...], limit: int) -> list[RunRecord]:
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT id, integration, started_at, ended_at, outcome, attempts, rows::text, error, log, attempt_rows::text "
                f"FROM {self.schema}.runs {where} ORDER BY started_at DESC, id DESC LIMIT %s",
                (*args, limit),
            )
            return [
                RunRecord(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    orjson.loads(r[6]),
                    r[7],
                    r[8],
                    orjson.loads(r[9]),
                )
                for r in cur.fetchall()
            ]

    def runs(self, integration: str | None = None, limit: int = 20) -> list[RunRecord]:
        if integration is None:
            return self._records("", (), limit)
        return self._records("WHERE integration = %s", (integration,), limit)

    def run(self, run_id: str) -> RunRecord | None:
        found = self._records("WHERE id = %s", (run_id,), 1)
        return found[0] if found else None

    def close(self) -> None:
        self.conn.close()
