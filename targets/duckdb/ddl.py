"""Tables from SCHEMA messages: create, add columns, widen types, and the record of which stream
owns a table. Every identifier is quoted.

DuckDB compares identifiers without regard to case (`Orders` and `orders` are one table), so
tables and schemas are looked up the same way. A table's owning stream and its key properties are
kept in the table's comment (`tapwell: {"stream": ..., "key_properties": [...]}`), so they travel
with the table across runs, renames and type changes.

Identifiers are quoted by tapwell.sdk.sql_names.quote_ident (any character, double quotes doubled);
names are checked for NUL bytes (`nul_free`) before they reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import orjson
from tapwell.sdk.sql_names import quote_ident

from .types import (
    INTEGER_DIGITS,
    WIDENS_TO,
    canonical,
    decimal_text_sql,
    duckdb_type,
    text_scale,
)

OWNER_MARK = "tapwell: "


def key_match(keys: list[str], same: str = "=") -> str:
    """The join of a table `t` and its staged rows `s` on the key columns, for the delete by key:
    `=` where no key is NULL (a stream's key properties are refused when null on every lane),
    which lets DuckDB push the staged keys' min/max into the table's scan; `IS NOT DISTINCT
    FROM` for a nested child table, whose key is all of its columns."""
    return " AND ".join(f"t.{quote_ident(k)} {same} s.{quote_ident(k)}" for k in keys)


def literal(text: str) -> str:
    """A SQL string literal (for COMMENT ON, which takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Found:
    """An existing table: its name as DuckDB spells it, and its comment."""

    name: str
    comment: str | None

    @property
    def owner(self) -> dict[str, Any] | None:
        """{"stream": ..., "key_properties": [...]} when tapwell marked the table, else None."""
        if not self.comment or not self.comment.startswith(OWNER_MARK):
            return None
        try:
            value = orjson.loads(self.comment[len(OWNER_MARK) :])
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


def owner_comment(stream: str, key_properties: list[str]) -> str:
    return OWNER_MARK + orjson.dumps({"stream": stream, "key_properties": key_properties}).decode()


def fold(name: str) -> str:
    """A name as DuckDB compares identifiers: ASCII letters ignore case, other letters do not
    (`Orders` is `orders`, `Ünï` is not `ünï`)."""
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def find_table(
    con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str
) -> Found | None:
    """The table DuckDB would resolve `schema.table` to (case-insensitively), if any; `schema`
    as DuckDB spells it."""
    rows = con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name = ? AND lower(table_name) = lower(?)",
        [catalog, schema, table],
    ).fetchall()
    for name, comment in rows:
        if fold(str(name)) == fold(table):
            return Found(str(name), comment)
    return None


def existing_columns(
    con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str
) -> dict[str, str]:
    """Column -> canonical type of an existing table (schema and table spelled as DuckDB
    spells them), in column order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    return {str(name): canonical(str(dtype)) for name, dtype in rows}


def qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def nul_free(kind: str, name: str) -> str | None:
    """A problem with a name DuckDB cannot store (a NUL byte), else None."""
    return (
        f"{kind} name {name!r} contains a NUL byte, which DuckDB cannot store"
        if "\x00" in name
        else None
    )


def case_clash(stream: str, first: str, second: str) -> str:
    """Two properties whose names differ only in case, and how to load them: rename one on the
    way (singer-sdk stream maps, mapper-stream-maps) or leave it out of the tap's selection."""
    maps = orjson.dumps({stream: {f"{second}_2": second, second: None}}).decode()
    return (
        f"columns {first!r} and {second!r} differ only in case, which DuckDB cannot tell apart: "
        f"rename one before this target with mapper-stream-maps (tapwell.yml transform:), "
        f"stream_maps {maps}, or deselect one in the tap's catalog"
    )


def columns_of(schema: dict[str, Any]) -> dict[str, str]:
    """Column name -> DuckDB type for every property of a stream's schema."""
    return {name: duckdb_type(prop) for name, prop in (schema.get("properties") or {}).items()}


def base_type(sqltype: str) -> str:
    return sqltype.split("(", 1)[0].upper()


def wider(existing: str, wanted: str) -> str | None:
    """The type an `existing` column must become to hold `wanted` values; None if it already can.

    `existing` may be spelled as DuckDB reports it (`TIMESTAMP WITH TIME ZONE`): both sides are
    compared in their canonical spelling, so the same schema loaded twice changes nothing."""
    existing, wanted = canonical(existing), canonical(wanted)
    if existing == wanted:
        return None
    e, w = base_type(existing), base_type(wanted)
    if e == "VARCHAR":
        return None
    if e == "DECIMAL" and w == "DOUBLE":
        return None  # a plain number's column made exact stays so (plainnumber.py checks values)
    if e == "DECIMAL" and w == "DECIMAL":
        return _decimal_holding(existing, *_ps(wanted))
    if e == "DECIMAL" and w in INTEGER_DIGITS:
        return _decimal_holding(existing, INTEGER_DIGITS[w], 0)
    if e in INTEGER_DIGITS and w == "DECIMAL":
        wp, ws = _ps(wanted)
        return _decimal_of(max(INTEGER_DIGITS[e], wp - ws), ws)
    if e in INTEGER_DIGITS and w == "DOUBLE":
        # a plain number's column (plainnumber.py): a DOUBLE would round the integers stored past
        # 2^53; the DECIMAL holding them is made wider by the values that need it
        return _decimal_of(INTEGER_DIGITS[e], 0)
    if w in WIDENS_TO.get(e, ()):
        return wanted
    if e in WIDENS_TO.get(w, ()):
        return None  # the column is already the wider of the two
    return "VARCHAR"


NUMBER_TYPES = ("DOUBLE", "FLOAT", "DECIMAL", *INTEGER_DIGITS)


def alter_type(target: str, column: str, old: str, new: str, prop: Any) -> str:
    """The ALTER of `column` from type `old` to the wider `new` (ddl.wider). A number column made
    text keeps its values as a number's text column writes them (types.decimal_text: at the
    property's scale, never an exponent; DuckDB's own cast writes a DOUBLE's 1e+22)."""
    sql = f"ALTER TABLE {target} ALTER COLUMN {quote_ident(column)} TYPE {new}"
    if new != "VARCHAR" or base_type(old) not in NUMBER_TYPES:
        return sql
    scale = text_scale(prop)
    return sql + f" USING {decimal_text_sql(f'CAST({quote_ident(column)} AS VARCHAR)', scale)}"


def _decimal_holding(existing: str, precision: int, scale: int) -> str | None:
    """The DECIMAL holding both `existing` and DECIMAL(precision, scale) values; None when
    `existing` already does."""
    ep, es = _ps(existing)
    wanted = _decimal_of(max(ep - es, precision - scale), max(es, scale))
    return None if wanted == f"DECIMAL({ep},{es})" else wanted


def _decimal_of(integer_digits: int, scale: int) -> str:
    """DECIMAL with this many digits before and after the point; VARCHAR (exact text) past
    DuckDB's 38 digits."""
    precision = integer_digits + scale
    return "VARCHAR" if precision > 38 else f"DECIMAL({precision},{scale})"


def _ps(sqltype: str) -> tuple[int, int]:
    inside = sqltype[sqltype.index("(") + 1 : sqltype.index(")")]
    p, _, s = inside.partition(",")
    return int(p), int(s or 0)
