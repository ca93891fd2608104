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


@dataclass(frozen=True)
class Publication:
    """What a publication holds: the tables pgoutput names in its changes (`listed`; with
    publish_via_partition_root off, a partitioned table's partitions, not the table), and the
    tables that are members (`members`: FOR TABLE; `all_tables`: FOR ALL TABLES; `schemas`:
    FOR TABLES IN SCHEMA)."""

    via_root: bool  # publish_via_partition_root (PostgreSQL 13+)
    listed: frozenset[tuple[str, str]]
    members: frozenset[tuple[str, str]]
    all_tables: bool = False
    schemas: frozenset[str] = frozenset()

    def member(self, table: tuple[str, str]) -> bool:
        return self.all_tables or table in self.members or table[0] in self.schemas


_MEMBERS = """
SELECT n.nspname, c.relname FROM pg_publication_rel r
JOIN pg_publication p ON p.oid = r.prpubid JOIN pg_class c ON c.oid = r.prrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = %s
"""
_SCHEMAS = """
SELECT n.nspname FROM pg_publication_namespace s
JOIN pg_publication p ON p.oid = s.pnpubid JOIN pg_namespace n ON n.oid = s.pnnspid
WHERE p.pubname = %s
"""


def publication(conn: Any, cfg: PgConfig) -> Publication | None:
    """The configured publication, or None when it does not exist."""
    version = server_version(conn)
    via_root = "pubviaroot" if version >= 130000 else "false"
    name = (cfg.publication,)
    with translated(cfg, "reading the publication"), conn.cursor() as cur:
        cur.execute(f"SELECT {via_root}, puballtables FROM pg_publication WHERE pubname = %s", name)
        row = cur.fetchone()
        if row is None:
            conn.rollback()
            return None
        cur.execute(
            "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s", name
        )
        listed = frozenset((r[0], r[1]) for r in cur.fetchall())
        cur.execute(_MEMBERS, name)
        members = frozenset((r[0], r[1]) for r in cur.fetchall())
        schemas: frozenset[str] = frozenset()
        if version >= 150000:
            cur.execute(_SCHEMAS, name)
            schemas = frozenset(r[0] for r in cur.fetchall())
    conn.rollback()
    return Publication(bool(row[0]), listed, members, bool(row[1]), schemas)


def publication_tables(conn: Any, cfg: PgConfig) -> set[tuple[str, str]] | None:
    """The tables the publication sends changes under their own names, or None when it does
    not exist."""
    pub = publication(conn, cfg)
    return None if pub is None else set(pub.listed)


def partitioned(
    conn: Any, cfg: PgConfig, tables: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of `tables` are partitioned tables."""
    out = set()
    with translated(cfg, "reading the tables' kinds"), conn.cursor() as cur:
        for schema, table in tables:
            cur.execute(
                "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
                (qualified(schema, table),),
            )
            row = cur.fetchone()
            if row and row[0] == "p":
                out.add((schema, table))
    conn.rollback()
    return out


def publication_fixes(
    conn: Any, cfg: PgConfig, tables: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """What keeps the publication from sending the changes of `tables` under their own names:
    (the problem, the SQL that fixes it), in the order to run them; [] when nothing does. A
    partitioned table must be a member itself, with publish_via_partition_root on."""
    if not tables:
        return []
    pub = publication(conn, cfg)
    if pub is None:
        return [(_not_covering(cfg, tables), publication_sql(conn, cfg, tables, False))]
    roots = partitioned(conn, cfg, [t for t in tables if t not in pub.listed])
    missing = [t for t in tables if (not pub.member(t) if t in roots else t not in pub.listed)]
    out = []
    if missing:
        out.append((_not_covering(cfg, missing), publication_sql(conn, cfg, missing, True)))
    if roots and not pub.via_root and server_version(conn) >= 130000:
        out.append(
            (
                f"publication {cfg.publication!r} would send the changes of "
                f"{', '.join(f'{s}.{t}' for s, t in sorted(roots))} under its partitions' names "
                "(publish_via_partition_root is off)",
                f"ALTER PUBLICATION {quote(cfg.publication)} SET (publish_via_partition_root = true);",
            )
        )
    return out


def _not_covering(cfg: PgConfig, tables: Iterable[tuple[str, str]]) -> str:
    return (
        f"publication {cfg.publication!r} does not cover {', '.join(f'{s}.{t}' for s, t in tables)}"
    )


def publication_sql(
    conn: Any, cfg: PgConfig, tables: Iterable[tuple[str, str]], exists: bool
) -> str:
    names = ", ".join(qualified(s, t) for s, t in sorted(tables))
    if exists:
        return f"ALTER PUBLICATION {quote(cfg.publication)} ADD TABLE {names};"
    via_root = " WITH (publish_via_partition_root = true)" if server_version(conn) >= 130000 else ""
    return f"CREATE PUBLICATION {quote(cfg.publication)} FOR TABLE {names}{via_root};"


def ensure_publication(conn: Any, cfg: PgConfig, tables: Sequence[tuple[str, str]]) -> list[str]:
    """Make the publication send the changes of `tables` under their own names (creating it
    when missing); returns what was run. Without the privilege: ConfigError with the SQL to run."""
    fixes = publication_fixes(conn, cfg, tables)
    if not fixes:
        return []
    import psycopg2

    done: list[str] = []
    for problem, sql in fixes:
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
            conn.commit()
        except psycopg2.Error as exc:
            conn.rollback()
            why = " ".join(str(exc).split())
            todo = " ".join(sql for _, sql in fixes[len(done) :])
            raise ConfigError(
                f"{problem} and the tap cannot change it ({why}); run as its owner: {todo}"
            ) from None
        done.append(sql)
    return done


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
