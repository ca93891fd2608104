"""`--discover`: every table and view the user can read, as Singer catalog entries in the shape
singer-io's and PipelineWise's tap-mysql produce (tap_stream_id "<db>-<table>", stream "<table>")."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tapwell.singer.catalog import catalog_entry, standard_metadata
from tapwell.singer.errors import ConfigError

from .binlog_settings import binlog_problems, problems_text
from .config import MySQLConfig
from .connection import quote, server_info, translated
from .types import Column, is_supported, json_schema

LOG = logging.getLogger("tap-mysql")

SYSTEM_SCHEMAS = ("information_schema", "performance_schema", "mysql", "sys")
REPLICATION_KEY_KINDS = {"int", "decimal", "float", "date", "datetime", "year"}


@dataclass
class Table:
    database: str
    name: str
    is_view: bool
    row_count: int | None
    columns: list[Column]
    primary_key: list[str]

    @property
    def tap_stream_id(self) -> str:
        return f"{self.database}-{self.name}"


def check_filter_dbs(conn: Any, config: MySQLConfig) -> None:
    """Every database `filter_dbs` names must exist: a misspelt one gave an empty catalog and
    no word. One line (exit 2) naming the missing ones and the databases the user can see."""
    wanted = list(config.filter_dbs)
    if not wanted:
        return
    cur = conn.cursor()
    with translated(config, "listing the databases"):
        cur.execute("SELECT schema_name FROM information_schema.schemata ORDER BY schema_name")
        seen = [str(r[0]) for r in cur.fetchall()]
    cur.close()
    missing = [d for d in wanted if d not in seen]
    if not missing:
        return
    visible = [d for d in seen if d.lower() not in SYSTEM_SCHEMAS]
    listed = ", ".join(visible[:10]) + (
        f" and {len(visible) - 10} more" if len(visible) > 10 else ""
    )
    names = ", ".join(repr(d) for d in missing)
    what, them = ("database", "it") if len(missing) == 1 else ("databases", "them")
    raise ConfigError(
        f"config key filter_dbs: {what} {names} not found on {config.where} (or the user "
        f"cannot see {them}); the user sees: {listed or 'no database'}. Check the spelling "
        "(names are case-sensitive)"
    )


def _where(dbs: Sequence[str], column: str) -> tuple[str, list[Any]]:
    if dbs:
        return f"{column} IN ({', '.join(['%s'] * len(dbs))})", list(dbs)
    return f"{column} NOT IN ({', '.join(['%s'] * len(SYSTEM_SCHEMAS))})", list(SYSTEM_SCHEMAS)


def _json_columns(cur: Any, dbs: Sequence[str], engine: str) -> set[tuple[str, str, str]]:
    """MariaDB's JSON columns: LONGTEXT with a `json_valid(col)` check named after the column."""
    if engine != "mariadb":
        return set()
    cond, params = _where(dbs, "constraint_schema")
    cur.execute(
        "SELECT constraint_schema, table_name, constraint_name, check_clause "
        f"FROM information_schema.check_constraints WHERE {cond}",
        params,
    )
    found = set()
    for db, table, name, clause in cur.fetchall():
        if str(clause).replace(" ", "").lower() == f"json_valid(`{name}`)".lower():
            found.add((db, table, name))
    return found


def read_tables(
    conn: Any, config: MySQLConfig, only: set[tuple[str, str]] | None = None
) -> list[Table]:
    """Tables and views (with columns and primary keys) from information_schema."""
    dbs = list(config.filter_dbs)
    if only:
        dbs = sorted({db for db, _ in only})
    engine = server_info(conn)["engine"]
    cur = conn.cursor()
    with translated(config, "reading information_schema"):
        cond, params = _where(dbs, "table_schema")
        cur.execute(
            "SELECT table_schema, table_name, table_type, table_rows FROM information_schema.tables "
            f"WHERE {cond} ORDER BY table_schema, table_name",
            params,
        )
        tables = {(r[0], r[1]): r for r in cur.fetchall()}
        cur.execute(
            "SELECT table_schema, table_name, column_name, data_type, column_type, is_nullable, "
            "character_maximum_length, numeric_precision, numeric_scale, datetime_precision, column_key "
            f"FROM information_schema.columns WHERE {cond} "
            "ORDER BY table_schema, table_name, ordinal_position",
            params,
        )
        col_rows = cur.fetchall()
        cur.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.statistics "
            f"WHERE {cond} AND index_name = 'PRIMARY' ORDER BY table_schema, table_name, seq_in_index",
            params,
        )
        pk_rows = cur.fetchall()
        json_cols = _json_columns(cur, dbs, engine)
    cur.close()
    columns: dict[tuple[str, str], list[Column]] = defaultdict(list)
    for db, table, name, dtype, ctype, nullable, clen, prec, scale, dprec, key in col_rows:
        columns[(db, table)].append(
            Column(
                name=name,
                data_type=str(dtype).lower(),
                column_type=str(ctype),
                nullable=nullable == "YES",
                char_length=int(clen) if clen is not None and int(clen) < 2**32 else None,
                precision=int(prec) if prec is not None else None,
                scale=int(scale) if scale is not None else None,
                datetime_precision=int(dprec) if dprec is not None else None,
                key=key or "",
                is_json=(db, table, name) in json_cols,
            )
        )
    pks: dict[tuple[str, str], list[str]] = defaultdict(list)
    for db, table, name in pk_rows:
        pks[(db, table)].append(name)
    out = []
    for key, (db, table, ttype, rows) in tables.items():
        if only is not None and key not in only:
            continue
        out.append(
            Table(
                db,
                table,
                ttype == "VIEW",
                int(rows) if rows is not None else None,
                columns.get(key, []),
                pks.get(key, []),
            )
        )
    return out


def catalog_for(table: Table) -> dict[str, Any]:
    """One catalog entry with its schema and Singer metadata."""
    props = {c.name: json_schema(c) for c in table.columns}
    schema = {"type": "object", "properties": props}
    md = standard_metadata(
        schema,
        key_properties=table.primary_key,
        selected_by_default=True,
        root_extra={
            "valid-replication-keys": [
                c.name for c in table.columns if c.kind in REPLICATION_KEY_KINDS
            ],
            "database-name": table.database,
            "is-view": table.is_view,
            "row-count": table.row_count,
            "selected-by-default": False,
        },
        property_extra={
            c.name: {"sql-datatype": c.sql_datatype}
            | (
                {}
                if is_supported(c)
                else {"inclusion": "unsupported", "selected-by-default": False}
            )
            for c in table.columns
        },
    )
    return catalog_entry(
        table.tap_stream_id,
        schema,
        md,
        stream=table.name,
        key_properties=table.primary_key,
        table_name=table.name,
    )


def discover(conn: Any, config: MySQLConfig) -> dict[str, Any]:
    """The catalog of every table and view the config's databases hold; a warning when the
    server's binlog settings rule out LOG_BASED (every wrong setting in one line)."""
    check_filter_dbs(conn, config)
    tables = read_tables(conn, config)
    streams = [catalog_for(t) for t in tables]
    problems = binlog_problems(conn)
    if problems and streams:
        LOG.warning("%s", problems_text(problems, " (FULL_TABLE and INCREMENTAL are not affected)"))
    note = unindexed_note(tables)
    if note:
        LOG.warning("%s", note)
    return {"streams": streams}


def index_advice(database: str, table: str, column: str) -> str:
    """The statement that gives `column` the index an INCREMENTAL sync on it needs."""
    name = quote(f"{table}_{column}"[:64])
    return f"CREATE INDEX {name} ON {quote(database)}.{quote(table)} ({quote(column)})"


def unindexed_key_warning(sid: str, database: str, table: str, column: str) -> str:
    """What a sync says, once, when its replication key leads no index."""
    return (
        f"stream {sid!r}: replication key {column!r} has no index, so every INCREMENTAL run "
        f"scans and sorts the whole table; add one: {index_advice(database, table, column)}"
    )


def unindexed_note(tables: Sequence[Table], shown: int = 5) -> str | None:
    """One line naming the date/time columns of tables (not views) that no index starts with:
    the usual replication keys, which make every INCREMENTAL run scan and sort the whole table
    until they get one. None when there are none."""
    found = [
        (t, c)
        for t in tables
        if not t.is_view
        for c in t.columns
        if c.kind in ("datetime", "date") and not c.key
    ]
    if not found:
        return None
    named = ", ".join(f"{t.database}.{t.name}.{c.name}" for t, c in found[:shown])
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    t, c = found[0]
    return (
        f"note: date/time columns without an index: {named}{more}. An INCREMENTAL stream on one "
        "scans and sorts its whole table on every run; if you choose one as replication key, "
        f"index it first, e.g. {index_advice(t.database, t.name, c.name)}"
    )
