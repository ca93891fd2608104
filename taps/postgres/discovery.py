"""`--discover`: every table, view, materialized view, foreign table and partitioned table (as its
root) the user can read, from pg_catalog, as catalog entries in the shape PipelineWise's
tap-postgres produces (tap_stream_id "<schema>-<table>", stream "<table>")."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from tapwell.singer.catalog import catalog_entry, standard_metadata
from tapwell.singer.errors import ConfigError

from .config import PgConfig
from .connection import translated
from .types import REPLICATION_KEY_KINDS, Column, PgType, is_supported, json_schema

LOG = logging.getLogger("tap-postgres")

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
RELKINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}  # fmt: skip

_TABLES = """
SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
  AND has_table_privilege(c.oid, 'SELECT')
"""
_COLUMNS = """
SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod,
       format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated <> '', a.attndims
FROM pg_attribute a
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
_KEYS = """
SELECT i.indrelid, a.attname
FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indisprimary AND i.indrelid = ANY(%s)
ORDER BY i.indrelid, k.ord
"""
_TYPES = """
SELECT t.oid, t.typname, t.typtype, t.typbasetype, t.typtypmod, t.typelem, t.typcategory,
       n.nspname
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
"""
_ENUMS = "SELECT enumtypid, enumlabel FROM pg_enum ORDER BY enumtypid, enumsortorder"


@dataclass
class Table:
    oid: int
    schema: str
    name: str
    relkind: str
    row_count: int | None
    columns: list[Column]
    primary_key: list[str]

    @property
    def tap_stream_id(self) -> str:
        return f"{self.schema}-{self.name}"

    @property
    def is_view(self) -> bool:
        return self.relkind in ("v", "m", "f")


class TypeResolver:
    """Column types from pg_type, domains resolved to their base type, arrays to their element."""

    def __init__(self, cur: Any) -> None:
        cur.execute(_TYPES)
        self.rows = {r[0]: r for r in cur.fetchall()}
        cur.execute(_ENUMS)
        enums: dict[int, list[str]] = defaultdict(list)
        for oid, label in cur.fetchall():
            enums[oid].append(label)
        self.enums = enums

    def resolve(self, oid: int, typmod: int, sql: str) -> PgType:
        _, name, typtype, base, basemod, elem, category, schema = self.rows[oid]
        if typtype == "d":
            inner = self.resolve(base, basemod if basemod != -1 else typmod, sql)
            return PgType(**{**inner.__dict__, "sql": sql})
        element = None
        if category == "A" and elem:
            element = self.resolve(elem, typmod, self.rows[elem][1])
        return PgType(
            name=name,
            sql=sql,
            typtype=typtype,
            typmod=typmod,
            schema=schema,
            element=element,
            enum_values=tuple(self.enums.get(oid, ())),
        )


def read_tables(conn: Any, cfg: PgConfig, only: set[tuple[str, str]] | None = None) -> list[Table]:
    """Tables and views with their columns and primary keys."""
    sql, params = _TABLES, []
    schemas = sorted({s for s, _ in only}) if only else list(cfg.filter_schemas)
    if schemas:
        sql += " AND n.nspname = ANY(%s)"
        params.append(schemas)
    sql += " ORDER BY n.nspname, c.relname"
    with translated(cfg, "reading pg_catalog"), conn.cursor() as cur:
        cur.execute(sql, params)
        rels = [r for r in cur.fetchall() if only is None or (r[1], r[2]) in only]
        oids = [r[0] for r in rels]
        types = TypeResolver(cur)
        cur.execute(_COLUMNS, (oids,))
        col_rows = cur.fetchall()
        cur.execute(_KEYS, (oids,))
        key_rows = cur.fetchall()
    conn.rollback()
    columns: dict[int, list[Column]] = defaultdict(list)
    for rel, num, name, typ, typmod, sqltype, notnull, generated, dims in col_rows:
        pgtype = types.resolve(typ, typmod, sqltype)
        if pgtype.element is not None and dims > 1:
            pgtype = replace(pgtype, dims=dims)
        columns[rel].append(Column(name, pgtype, not notnull, bool(generated), num))
    keys: dict[int, list[str]] = defaultdict(list)
    for rel, name in key_rows:
        keys[rel].append(name)
    return [
        Table(
            oid,
            schema,
            name,
            kind,
            rows if rows is not None and rows >= 0 else None,
            columns[oid],
            keys[oid],
        )
        for oid, schema, name, kind, rows in rels
    ]


def check_filter_schemas(conn: Any, cfg: PgConfig) -> None:
    """Every schema `filter_schemas` names must exist: a misspelt one would give an empty
    catalog and no word."""
    if not cfg.filter_schemas:
        return
    with translated(cfg, "listing the schemas"), conn.cursor() as cur:
        cur.execute("SELECT nspname FROM pg_namespace ORDER BY nspname")
        seen = [r[0] for r in cur.fetchall()]
    conn.rollback()
    missing = [s for s in cfg.filter_schemas if s not in seen]
    if missing:
        visible = [s for s in seen if not s.startswith("pg_") and s not in SYSTEM_SCHEMAS]
        raise ConfigError(
            f"config key filter_schemas: schema {', '.join(map(repr, missing))} not found in "
            f"database {cfg.dbname!r}; it has: {', '.join(visible) or 'no schema'} "
            "(names are case-sensitive)"
        )


def stream_names(tables: list[Table]) -> dict[str, str]:
    """tap_stream_id -> stream: the table name, or `<schema>-<table>` where two schemas share it."""
    count: dict[str, int] = defaultdict(int)
    for t in tables:
        count[t.name] += 1
    return {t.tap_stream_id: t.name if count[t.name] == 1 else t.tap_stream_id for t in tables}


def catalog_for(table: Table, cfg: PgConfig, stream: str) -> dict[str, Any]:
    """One catalog entry with its schema and Singer metadata."""
    props = {c.name: json_schema(c) for c in table.columns}
    schema = {"type": "object", "properties": props}
    md = standard_metadata(
        schema,
        key_properties=table.primary_key,
        root_extra={
            "valid-replication-keys": [
                c.name for c in table.columns if c.kind in REPLICATION_KEY_KINDS
            ],
            "schema-name": table.schema,
            "database-name": cfg.dbname,
            "is-view": table.is_view,
            "table-kind": RELKINDS[table.relkind],
            "row-count": table.row_count,
            "replication-methods": ["FULL_TABLE", "INCREMENTAL"]
            + ([] if table.is_view else ["LOG_BASED"]),
            "selected-by-default": False,
        },
        property_extra={
            c.name: {"sql-datatype": c.sql_datatype}
            | ({"generated": True} if c.generated else {})
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
        stream=stream,
        key_properties=table.primary_key,
        table_name=table.name,
    )


def discover(conn: Any, cfg: PgConfig) -> dict[str, Any]:
    """The catalog of every readable table and view of the configured schemas."""
    check_filter_schemas(conn, cfg)
    tables = read_tables(conn, cfg)
    names = stream_names(tables)
    return {"streams": [catalog_for(t, cfg, names[t.tap_stream_id]) for t in tables]}
