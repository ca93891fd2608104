"""Tables from SCHEMA messages: names, create, add columns, widen types.

Every statement is composed with psycopg's `sql` module: names are `sql.Identifier`s and values
`sql.Literal`s, and a composed statement is executed without parameters. Names are untrusted:
the driver would read a `%` inside a quoted name as a parameter marker if the statement also
carried `%s` parameters (stream `q%%b` once deleted the rows of table `q%b`).

PostgreSQL keeps 63 bytes of an identifier and silently cuts the rest, so two long names could
land on one column. A longer name is shortened instead, deterministically (tapwell.sdk.sql_names.shorten:
its first bytes, an underscore and 8 hex digits of its SHA-1). Two names that still end up alike
are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import sql
from tapwell.sdk.sql_names import shorten  # the kit's one rule for names over 63 bytes
from tapwell.singer.errors import SyncError

from .config import PostgresConfig, parse, split_stream


def ident(name: str) -> sql.Identifier:
    """A column, schema or table name, quoted by libpq: any character is allowed."""
    return sql.Identifier(name)


def qualified(schema: str, table: str) -> sql.Identifier:
    return sql.Identifier(schema, table)


def idents(names: Iterable[str]) -> sql.Composed:
    """`"a", "b", "c"`: a column list."""
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def check_identifier(name: str, what: str, stream: str) -> None:
    if "\x00" in name:
        raise SyncError(
            f"stream {stream!r}: {what} {name!r} contains a NUL byte, which PostgreSQL cannot store"
        )
    if not name:
        raise SyncError(f"stream {stream!r}: {what} name is empty")


def column_names(properties: Iterable[str], stream: str) -> dict[str, str]:
    """Property -> column name, shortened where needed; two properties on one column is an error."""
    out: dict[str, str] = {}
    taken: dict[str, str] = {}
    for prop in properties:
        check_identifier(prop, "property", stream)
        col = shorten(prop)
        if col in taken:
            raise SyncError(
                f"stream {stream!r}: properties {taken[col]!r} and {prop!r} both map to column {col!r} "
                "(PostgreSQL names are at most 63 bytes); rename one of them in the tap or a stream map"
            )
        taken[col] = prop
        out[prop] = col
    return out


def target_of(stream: str, config: PostgresConfig | dict[str, Any]) -> tuple[str, str]:
    """(schema, table) a stream loads into.

    `schema_mapping` may be keyed by the whole stream name or by its source schema; a value is
    `{"target_schema": ..., "target_table": ...}` (PipelineWise's shape) or a schema name.
    Otherwise `default_target_schema` (default `public`) and the table part of the stream name.
    """
    config = parse(config)
    source, table = split_stream(stream)
    schema = config.default_target_schema
    mapping = config.schema_mapping
    entry = mapping.get(stream, mapping.get(source) if source is not None else None)
    if isinstance(entry, str):
        schema = entry
    elif isinstance(entry, dict):
        schema = str(entry.get("target_schema") or schema)
        if entry.get("target_table") and stream in mapping:
            table = str(entry["target_table"])
    check_identifier(table, "table", stream)
    check_identifier(schema, "schema", stream)
    return shorten(schema), shorten(table)


def existing_columns(cur: Any, schema: str, table: str) -> dict[str, str]:
    """Column -> type (as format_type spells it) of a table; {} when it does not exist."""
    cur.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (schema, table),
    )
    return {name: sqltype for name, sqltype in cur.fetchall()}


def primary_key(cur: Any, schema: str, table: str) -> list[str]:
    cur.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
        "WHERE n.nspname = %s AND c.relname = %s AND i.indisprimary",
        (schema, table),
    )
    return sorted(r[0] for r in cur.fetchall())


def create_table(target: sql.Composable, columns: dict[str, str], keys: list[str]) -> sql.Composed:
    """CREATE TABLE from column -> type; types are our own spellings (types.py), never input."""
    cols: list[sql.Composable] = [
        sql.SQL("{} {}").format(ident(c), sql.SQL(t)) for c, t in columns.items()
    ]
    if keys:
        cols.append(sql.SQL("PRIMARY KEY ({})").format(idents(keys)))
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(target, sql.SQL(", ").join(cols))


def add_column(target: sql.Composable, column: str, sqltype: str) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
        target, ident(column), sql.SQL(sqltype)
    )


def alter_type(target: sql.Composable, column: str, sqltype: str) -> sql.Composed:
    """Widen a column in place; the USING cast keeps every row (text takes any value's text form)."""
    return sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
        target, ident(column), sql.SQL(sqltype), ident(column), sql.SQL(sqltype)
    )
