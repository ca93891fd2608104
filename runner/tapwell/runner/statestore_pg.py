"""The PostgreSQL state backend: state, state history and run history in three tables, and a
session advisory lock per integration (a 64-bit key; its holder in a fourth table), so runs on
many machines (Kubernetes pods) share one truth and never overlap. psycopg2 is imported only
when this backend is used.

Every driver error becomes one line with the DSN's password masked (libpq quotes pieces of a
DSN it cannot parse): exit 2 when the DSN or the credentials are wrong, 75 when the server is
unreachable or the connection broke (tapwell.singer.errors)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from tapwell.runner.guard import new_token, stop_leftovers, this_host
from tapwell.runner.history import (
    FINISHED,
    LATEST_KEPT,
    RunRecord,
    Totals,
    add_totals,
    new_run_id,
    totals_delta,
    utcnow,
)
from tapwell.runner.lock import Holder, take_over
from tapwell.runner.masking import secrets_of
from tapwell.runner.statestore_rules import check_state, state_problem
from tapwell.sdk.sql_names import quote_ident
from tapwell.singer.config import redact
from tapwell.singer.errors import ConfigError, TapwellError
from tapwell.singer.wire import dumps, loads

PRUNE_CLAIM = "tapwell:prune"  # the schedule claim (not an integration name) of an hour's prune


class PostgresStateStore:
    def __init__(self, dsn: str, schema: str = "tapwell") -> None:
        try:
            import psycopg2  # noqa: F401  (say at once when the extra is missing)
        except ImportError:  # pragma: no cover
            raise ConfigError(
                "the postgres state backend needs psycopg2: pip install 'tapwell[postgres]'"
            ) from None
        self.dsn = dsn
        self.secrets = secrets_of({"dsn": dsn})
        self.schema = quote_ident(schema)
        self.conn = self.connect()
        self._create()

    def where(self, integration: str) -> str:
        """Where a person finds the state of `integration`: its row in the state table."""
        return f"the PostgreSQL state store ({self.schema}.state)"

    def connect(self) -> Any:
        """A new autocommit connection; a failure is one masked line (see store_error)."""
        import psycopg2

        try:
            conn = psycopg2.connect(self.dsn)
        except psycopg2.Error as exc:
            raise store_error(exc, self.secrets, "cannot connect to PostgreSQL") from None
        conn.autocommit = True
        return conn

    @contextmanager
    def cursor(self, conn: Any = None) -> Iterator[Any]:
        import psycopg2

        if conn is None and self.conn.closed:
            # the connection broke (a server restart): a long-lived process (tapwell serve)
            # connects again rather than failing every later call
            self.conn = self.connect()
        try:
            with (conn or self.conn).cursor() as cur:
                yield cur
        except psycopg2.Error as exc:
            raise store_error(exc, self.secrets, "PostgreSQL failed") from None

    def _create(self) -> None:
        s = self.schema
        with self.cursor() as cur:
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
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS pid integer;
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS host text;
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS trigger text NOT NULL DEFAULT 'cli';
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS relaunch_of text;
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS full_refresh boolean NOT NULL DEFAULT false;
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS stages jsonb NOT NULL DEFAULT '{{}}';
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS targets jsonb NOT NULL DEFAULT '{{}}';
                CREATE TABLE IF NOT EXISTS {s}.run_log (
                    id bigserial PRIMARY KEY, run_id text NOT NULL, line text NOT NULL);
                CREATE INDEX IF NOT EXISTS run_log_run ON {s}.run_log (run_id, id);
                CREATE TABLE IF NOT EXISTS {s}.schedule_claims (
                    integration text NOT NULL, due_at timestamptz NOT NULL,
                    claimed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (integration, due_at));
                CREATE TABLE IF NOT EXISTS {s}.run_locks (
                    integration text PRIMARY KEY, holder text NOT NULL, taken_at timestamptz NOT NULL DEFAULT now());
                CREATE INDEX IF NOT EXISTS runs_integration_started ON {s}.runs (integration, started_at DESC);
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS counted boolean NOT NULL DEFAULT false;
                CREATE INDEX IF NOT EXISTS runs_uncounted ON {s}.runs (id) WHERE NOT counted;
                CREATE TABLE IF NOT EXISTS {s}.run_totals (
                    integration text NOT NULL, kind text NOT NULL, key text NOT NULL,
                    value double precision NOT NULL, PRIMARY KEY (integration, kind, key));
                """)
                self._count_finished(cur)
            finally:
                cur.execute("SELECT pg_advisory_unlock(hashtext('tapwell:ddl'))")

    def get(self, integration: str) -> dict[str, Any] | None:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT value::text FROM {self.schema}.state WHERE integration = %s",
                (integration,),
            )
            row = cur.fetchone()
        if not row:
            return None
        value = loads(row[0])
        problem = state_problem(value)
        if problem:
            raise ConfigError(
                f"the saved state of {integration!r} in PostgreSQL ({self.schema}.state) is broken: "
                f"{problem}; replace it with `tapwell state set {integration} FILE --force`"
            )
        return value

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
        with self.cursor() as cur:
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
        with self.cursor() as cur:
            cur.execute(f"DELETE FROM {self.schema}.state WHERE integration = %s", (integration,))
            cur.execute(
                f"INSERT INTO {self.schema}.state_history (integration, value, run_id) VALUES (%s, NULL, %s)",
                (integration, run_id),
            )

    def state_history(
        self, integration: str, limit: int = 20
    ) -> list[tuple[dt.datetime, str | None, dict[str, Any] | None]]:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT saved_at, run_id, value::text FROM {self.schema}.state_history "
                "WHERE integration = %s ORDER BY id DESC LIMIT %s",
                (integration, limit),
            )
            return [(r[0], r[1], loads(r[2]) if r[2] is not None else None) for r in cur.fetchall()]

    def lock(self, integration: str) -> PgLock:
        return PgLock(self, integration)

    def holder(self, integration: str) -> Holder | None:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT holder FROM {self.schema}.run_locks WHERE integration = %s", (integration,)
            )
            row = cur.fetchone()
        return Holder.parse(row[0].encode()) if row else None

    def set_holder(self, integration: str, holder: Holder) -> None:
        with self.cursor() as cur:
            cur.execute(
                f"INSERT INTO {self.schema}.run_locks (integration, holder) VALUES (%s, %s) "
                "ON CONFLICT (integration) DO UPDATE SET holder = EXCLUDED.holder, taken_at = now()",
                (integration, holder.to_bytes().decode()),
            )

    _COLUMNS = (
        "id, integration, started_at, ended_at, outcome, attempts, rows, error, log, "
        "attempt_rows, pid, host, trigger, relaunch_of, full_refresh, stages, targets"
    )

    def save_run(self, run: RunRecord) -> RunRecord:
        updated = [c.strip() for c in self._COLUMNS.split(",")][2:]  # a queued run's start moves
        run_id = run.id or new_run_id(run.started_at)
        with self.cursor() as cur:
            cur.execute(
                f"INSERT INTO {self.schema}.runs ({self._COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s::jsonb, "
                "%s::jsonb) "
                "ON CONFLICT (id) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in updated),
                (
                    run_id,
                    run.integration,
                    run.started_at,
                    run.ended_at,
                    run.outcome,
                    run.attempts,
                    orjson.dumps(run.rows).decode(),
                    run.error,
                    run.log,
                    orjson.dumps(run.attempt_rows).decode(),
                    run.pid,
                    run.host,
                    run.trigger,
                    run.relaunch_of,
                    run.full_refresh,
                    orjson.dumps(run.stages).decode(),
                    orjson.dumps(run.targets).decode(),
                ),
            )
            self._count(cur, run if run.id else dataclasses.replace(run, id=run_id))
        return run

    # run_totals: history.Totals as rows, added to once per run (runs.counted), by the same
    # statement that marks the run counted, so no crash or second writer counts a run twice.
    _ADD = (
        "ON CONFLICT (integration, kind, key) DO UPDATE SET value = CASE "
        "WHEN EXCLUDED.kind = 'last_success' THEN GREATEST({t}.value, EXCLUDED.value) "
        "ELSE {t}.value + EXCLUDED.value END"
    )

    def _count_finished(self, cur: Any) -> None:
        """Add every finished run not yet counted to the totals, in one transaction: at once for
        a history from before run_totals, then only the runs a crash left between save_run's two
        statements (on the connection of the constructor, before any other thread uses it)."""
        s = self.schema
        cur.execute("BEGIN")
        try:
            cur.execute(
                f"UPDATE {s}.runs SET counted = true WHERE NOT counted AND outcome = ANY(%s) "
                "RETURNING integration, started_at, ended_at, outcome, rows::text",
                (list(FINISHED),),
            )
            totals: Totals = {}
            for name, started, ended, outcome, rows in cur.fetchall():
                run = RunRecord("", name, started, ended, outcome, rows=orjson.loads(rows))
                add_totals(totals, name, totals_delta(run))
            values = [
                (name, kind, key, value)
                for name, kinds in totals.items()
                for kind, keyed in kinds.items()
                for key, value in keyed.items()
            ]
            if values:
                t = f"{s}.run_totals"
                cur.executemany(
                    f"INSERT INTO {t} (integration, kind, key, value) VALUES (%s, %s, %s, %s) "
                    + self._ADD.format(t=t),
                    values,
                )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def _count(self, cur: Any, run: RunRecord) -> None:
        """Add `run` to the totals when it is finished and not counted yet (one statement)."""
        if run.outcome not in FINISHED:
            return
        delta = totals_delta(run)
        t = f"{self.schema}.run_totals"
        rows = ", ".join(["(%s, %s, %s, %s::float8)"] * len(delta))
        cur.execute(
            f"WITH c AS (UPDATE {self.schema}.runs SET counted = true "
            "WHERE id = %s AND NOT counted AND outcome = ANY(%s) RETURNING id) "
            f"INSERT INTO {t} (integration, kind, key, value) "
            f"SELECT v.integration, v.kind, v.key, v.value FROM (VALUES {rows}) "
            "AS v(integration, kind, key, value) CROSS JOIN c " + self._ADD.format(t=t),
            (
                run.id,
                list(FINISHED),
                *(x for kind, key, amount in delta for x in (run.integration, kind, key, amount)),
            ),
        )

    def totals(self) -> Totals:
        totals: Totals = {}
        with self.cursor() as cur:
            cur.execute(f"SELECT integration, kind, key, value FROM {self.schema}.run_totals")
            for name, kind, key, value in cur.fetchall():
                totals.setdefault(name, {}).setdefault(kind, {})[key] = value
        return totals

    def latest(self, names: list[str], per: int = 1) -> dict[str, list[RunRecord]]:
        """The newest `per` runs of each of `names`, newest first, brief: one index scan each."""
        found = self._records(
            f"WHERE id IN (SELECT l.id FROM unnest(%s::text[]) AS n(name) CROSS JOIN LATERAL "
            f"(SELECT r.id FROM {self.schema}.runs r WHERE r.integration = n.name "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT %s) l)",
            (names, per),
            max(len(names) * per, 1),
            brief=True,
        )
        out: dict[str, list[RunRecord]] = {}
        for run in found:
            out.setdefault(run.integration, []).append(run)
        return out

    def _records(
        self, where: str, args: tuple[Any, ...], limit: int, brief: bool = False
    ) -> list[RunRecord]:
        columns = (
            self._COLUMNS.replace(" rows,", " rows::text,")
            .replace("attempt_rows,", "attempt_rows::text,")
            .replace("stages", "stages::text")
            .replace("targets", "targets::text")
        )
        if brief:  # listings: neither the log nor the stage samples leave the server
            columns = columns.replace(" log,", " '' AS log,").replace(
                "stages::text",
                "jsonb_strip_nulls(jsonb_build_object('summary', stages->'summary'))::text",
            )
        with self.cursor() as cur:
            cur.execute(
                f"SELECT {columns} FROM {self.schema}.runs {where} "
                "ORDER BY started_at DESC, id DESC LIMIT %s",
                (*args, limit),
            )
            return [
                RunRecord(
                    id=r[0],
                    integration=r[1],
                    started_at=r[2],
                    ended_at=r[3],
                    outcome=r[4],
                    attempts=r[5],
                    rows=orjson.loads(r[6]),
                    error=r[7],
                    log=r[8],
                    attempt_rows=orjson.loads(r[9]),
                    pid=r[10],
                    host=r[11],
                    trigger=r[12],
                    relaunch_of=r[13],
                    full_refresh=r[14],
                    stages=orjson.loads(r[15]),
                    targets=orjson.loads(r[16]),
                )
                for r in cur.fetchall()
            ]

    def runs(
        self,
        integration: str | None = None,
        limit: int = 20,
        *,
        status: str | None = None,
        before: str | None = None,
        brief: bool = False,
    ) -> list[RunRecord]:
        """Newest first; `before` a run id: only runs that started before it (the next page).
        `brief`: for listings, without the log and the stage samples (never to be saved back)."""
        clauses, args = [], []
        for clause, value in (
            ("integration = %s", integration),
            ("outcome = %s", status),
            (
                f"(started_at, id) < (SELECT started_at, id FROM {self.schema}.runs WHERE id = %s)",
                before,
            ),
        ):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._records(where, tuple(args), limit, brief)

    def run(self, run_id: str) -> RunRecord | None:
        found = self._records("WHERE id = %s", (run_id,), 1)
        return found[0] if found else None

    def append_log(self, run_id: str, lines: list[str]) -> None:
        """Append timestamped lines to the run's live log (the run_log table)."""
        with self.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self.schema}.run_log (run_id, line) VALUES (%s, %s)",
                [(run_id, line) for line in lines],
            )

    def read_log(self, run_id: str, start: int = 0) -> list[str]:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT line FROM {self.schema}.run_log WHERE run_id = %s ORDER BY id OFFSET %s",
                (run_id, start),
            )
            return [r[0] for r in cur.fetchall()]

    def claim(self, integration: str, due: dt.datetime) -> bool:
        """True for the first caller only, for one scheduled time of one integration: several
        `tapwell serve` processes sharing this database start each scheduled run once."""
        with self.cursor() as cur:
            cur.execute(
                f"INSERT INTO {self.schema}.schedule_claims (integration, due_at) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                (integration, due),
            )
            return bool(cur.rowcount)

    def prune_runs(self, before: dt.datetime) -> int:
        """Remove the finished, counted runs started before `before` and their logs, except each
        integration's newest LATEST_KEPT, and the schedule claims before it; how many runs. The
        totals stay (they are counters). One process an hour does it (a claim on the hour)."""
        hour = utcnow().replace(minute=0, second=0, microsecond=0)
        if not self.claim(PRUNE_CLAIM, hour):
            return 0
        s = self.schema
        with self.cursor() as cur:
            cur.execute(
                f"WITH old AS (SELECT id FROM (SELECT id, started_at, outcome, counted, row_number() "
                f"OVER (PARTITION BY integration ORDER BY started_at DESC, id DESC) AS newest "
                f"FROM {s}.runs) r WHERE newest > %s AND started_at < %s AND counted "
                f"AND outcome = ANY(%s)), "
                f"logs AS (DELETE FROM {s}.run_log WHERE run_id IN (SELECT id FROM old)) "
                f"DELETE FROM {s}.runs WHERE id IN (SELECT id FROM old)",
                (LATEST_KEPT, before, list(FINISHED)),
            )
            removed = max(cur.rowcount, 0)
            cur.execute(
                f"DELETE FROM {s}.schedule_claims WHERE due_at < %s AND NOT "
                "(integration = %s AND due_at = %s)",
                (before, PRUNE_CLAIM, hour),
            )
        return removed

    def close(self) -> None:
        self.conn.close()


def lock_key(integration: str) -> int:
    """The advisory lock key of an integration: 64 bits of SHA-256 (hashtext's 32 bits made two
    integration names share one lock)."""
    digest = hashlib.sha256(f"tapwell:run:{integration}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class StoreUnavailable(TapwellError):
    """The PostgreSQL state backend cannot be reached or its connection broke: temporary."""

    retriable = True
    exit_code = 75


def store_error(exc: Exception, secrets: list[str], what: str) -> TapwellError:
    """One line for a driver error, the DSN's password masked: ConfigError (exit 2) for a DSN
    or credentials the server refuses, StoreUnavailable (exit 75) for the rest."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = redact(text, secrets)
    config = any(
        word in text.lower() for word in ("password", "authentication", "invalid", "does not exist")
    )
    kind: type[TapwellError] = ConfigError if config else StoreUnavailable
    hint = "" if config else " (temporary: the run is retried later)"
    return kind(f"state backend: {what}: {text}{hint}")


class PgLock:
    """A session advisory lock on a connection of its own, held for the whole run; the
    connectors inherit the connection's socket, so the session (and the lock) lasts until the
    last of them is gone even when the runner is killed (tapwell.runner.guard)."""

    def __init__(self, store: PostgresStateStore, integration: str) -> None:
        self.store = store
        self.integration = integration
        self.token = new_token()
        self.conn: Any = None

    def __enter__(self) -> PgLock:
        conn = self.store.connect()
        key = lock_key(self.integration)

        def try_lock() -> bool:
            with self.store.cursor(conn) as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                return bool(cur.fetchone()[0])

        try:
            if not try_lock():
                where = "PostgreSQL advisory lock held"
                take_over(self.store.holder(self.integration), try_lock, self.integration, where)
            previous = self.store.holder(self.integration)
            if previous is not None and previous.host == this_host():
                stop_leftovers(previous.token)
            self.store.set_holder(self.integration, Holder(os.getpid(), this_host(), self.token))
        except BaseException:
            conn.close()
            raise
        self.conn = conn
        return self

    def inherit_fds(self) -> list[int]:
        return [] if self.conn is None else [self.conn.fileno()]

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.close()  # closing the session releases the lock
            self.conn = None
