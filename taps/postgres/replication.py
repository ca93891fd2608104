"""The server side of LOG_BASED: the checks `--doctor` runs (and every LOG_BASED sync runs
first), creating the publication and the slot when they are missing, and the slot's lag.

Every problem is one line with the SQL that fixes it. The tap creates what is missing when the
user may; otherwise it stops with that SQL (ConfigError, exit 2) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tapwell.singer.errors import ConfigError, RetriableSyncError, SyncError

from .config import PgConfig
from .connection import literal, quote, server_version, translated
from .pgoutput import lsn_text, parse_lsn


@dataclass(frozen=True)
class SlotInfo:
    name: str
    plugin: str | None
    database: str | None
    confirmed_flush: int | None
    wal_status: str | None
    active_pid: int | None


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def _one(conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return row[0] if row else None


def server_problems(conn: Any, cfg: PgConfig) -> list[str]:
    """wal_level, the replication privilege, and room for a slot and a sender."""
    problems = []
    with translated(cfg, "reading the server's replication settings"):
        if _one(conn, "SHOW wal_level") != "logical":
            problems.append(
                "wal_level is not logical: run ALTER SYSTEM SET wal_level = logical; then restart "
                "PostgreSQL (on a managed service, set the logical replication parameter)"
            )
        if not _one(
            conn, "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user"
        ):
            problems.append(
                f"user {cfg.user!r} may not stream changes: run ALTER ROLE {quote(cfg.user)} REPLICATION;"
                " (on RDS: GRANT rds_replication TO ...)"
            )
        for setting in ("max_replication_slots", "max_wal_senders"):
            if int(_one(conn, f"SHOW {setting}") or 0) < 1:
                problems.append(
                    f"{setting} is 0: run ALTER SYSTEM SET {setting} = 10; then restart PostgreSQL"
                )
    conn.rollback()
    return problems


def publication_tables(conn: Any, cfg: PgConfig) -> set[tuple[str, str]] | None:
    """The tables the publication covers, or None when it does not exist."""
    with translated(cfg, "reading the publication"), conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (cfg.publication,))
        if cur.fetchone() is None:
            conn.rollback()
            return None
        cur.execute(
            "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s",
            (cfg.publication,),
        )
        out = {(r[0], r[1]) for r in cur.fetchall()}
    conn.rollback()
    return out


def publication_sql(
    conn: Any, cfg: PgConfig, tables: Iterable[tuple[str, str]], exists: bool
) -> str:
    names = ", ".join(qualified(s, t) for s, t in sorted(tables))
    if exists:
        return f"ALTER PUBLICATION {quote(cfg.publication)} ADD TABLE {names};"
    via_root = " WITH (publish_via_partition_root = true)" if server_version(conn) >= 130000 else ""
    return f"CREATE PUBLICATION {quote(cfg.publication)} FOR TABLE {names}{via_root};"


def ensure_publication(conn: Any, cfg: PgConfig, tables: Sequence[tuple[str, str]]) -> list[str]:
    """Make the publication cover `tables` (creating it when missing); returns what was done.
    Without the privilege: ConfigError with the SQL to run."""
    covered = publication_tables(conn, cfg)
    missing = [t for t in tables if covered is None or t not in covered]
    if not missing:
        return []
    sql = publication_sql(conn, cfg, missing, covered is not None)
    import psycopg2

    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.commit()
    except psycopg2.Error as exc:
        conn.rollback()
        why = " ".join(str(exc).split())
        raise ConfigError(
            f"publication {cfg.publication!r} does not cover {', '.join(f'{s}.{t}' for s, t in missing)} "
            f"and the tap cannot change it ({why}); run as its owner: {sql}"
        ) from None
    return [sql]


def replica_identity_problems(
    conn: Any, cfg: PgConfig, tables: Sequence[tuple[str, str, bool]]
) -> list[str]:
    """A table without a primary key needs REPLICA IDENTITY FULL for its updates and deletes."""
    out = []
    with translated(cfg, "reading replica identities"), conn.cursor() as cur:
        for schema, table, has_key in tables:
            cur.execute(
                "SELECT relreplident FROM pg_class WHERE oid = %s::regclass",
                (qualified(schema, table),),
            )
            row = cur.fetchone()
            ident = row[0] if row else "d"
            if ident == "n" or (ident == "d" and not has_key):
                out.append(
                    f"table {schema}.{table} has no primary key or replica identity: its updates and "
                    f"deletes cannot be streamed; run ALTER TABLE {qualified(schema, table)} REPLICA IDENTITY FULL;"
                )
    conn.rollback()
    return out


def slot_info(conn: Any, cfg: PgConfig) -> SlotInfo | None:
    version = server_version(conn)
    wal_status = "wal_status" if version >= 130000 else "NULL"
    with translated(cfg, "reading the replication slot"), conn.cursor() as cur:
        cur.execute(
            f"SELECT plugin, database, confirmed_flush_lsn::text, {wal_status}, active_pid "
            "FROM pg_replication_slots WHERE slot_name = %s",
            (cfg.replication_slot,),
        )
        row = cur.fetchone()
    conn.rollback()
    if row is None:
        return None
    plugin, database, flushed, status, pid = row
    return SlotInfo(
        cfg.replication_slot, plugin, database, parse_lsn(flushed) if flushed else None, status, pid
    )


def resync_text(cfg: PgConfig) -> str:
    return (
        "to resync, remove the LOG_BASED streams' bookmarks from the state (each table is copied "
        f"again), and drop the slot if it is lost: SELECT pg_drop_replication_slot({literal(cfg.replication_slot)});"
    )


def slot_problems(slot: SlotInfo | None, cfg: PgConfig, state_lsn: int | None) -> list[str]:
    """The slot must be ours (pgoutput, this database), not lost, and not past the state."""
    if slot is None:
        if state_lsn is not None:
            return [
                f"replication slot {cfg.replication_slot!r} is gone but the state streams from it; {resync_text(cfg)}"
            ]
        return []
    out = []
    if slot.plugin != "pgoutput" or slot.database != cfg.dbname:
        out.append(
            f"replication slot {slot.name!r} belongs to {slot.plugin or 'a physical replica'} on "
            f"database {slot.database!r}; set replication_slot to another name, or drop it: "
            f"SELECT pg_drop_replication_slot({literal(slot.name)});"
        )
    if slot.wal_status == "lost":
        out.append(
            f"replication slot {slot.name!r} lost WAL it needed (wal_status lost); {resync_text(cfg)}"
        )
    if (
        state_lsn is not None
        and slot.confirmed_flush is not None
        and slot.confirmed_flush > state_lsn
    ):
        out.append(
            f"replication slot {slot.name!r} has confirmed WAL up to {lsn_text(slot.confirmed_flush)}, "
            f"past the state's {lsn_text(state_lsn)}: the changes in between cannot be read again; "
            + resync_text(cfg)
        )
    return out


def check_slot(slot: SlotInfo | None, cfg: PgConfig, state_lsn: int | None) -> None:
    problems = slot_problems(slot, cfg, state_lsn)
    if problems:
        raise SyncError(problems[0])
    if slot is not None and slot.active_pid is not None:
        raise RetriableSyncError(
            f"replication slot {slot.name!r} is in use by process {slot.active_pid} (another sync "
            "still running?); retry when it has ended"
        )


def create_slot(repl_cur: Any, name: str, *, temporary: bool = False) -> tuple[int, str]:
    """Create a pgoutput slot on a replication connection; its consistent point and the snapshot
    it exports (valid until the connection runs its next command)."""
    temp = " TEMPORARY" if temporary else ""
    repl_cur.execute(
        f"CREATE_REPLICATION_SLOT {quote(name)}{temp} LOGICAL pgoutput EXPORT_SNAPSHOT"
    )
    _, point, snapshot, _ = repl_cur.fetchone()
    return parse_lsn(point), snapshot


def slot_lag(conn: Any, cfg: PgConfig) -> int | None:
    """Bytes of WAL the server keeps for the slot: current position - confirmed_flush_lsn."""
    value = _one(
        conn,
        "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s",
        (cfg.replication_slot,),
    )
    conn.rollback()
    return int(value) if value is not None else None


def current_lsn(conn: Any) -> int:
    value = _one(conn, "SELECT pg_current_wal_lsn()::text")
    conn.rollback()
    return parse_lsn(value)
