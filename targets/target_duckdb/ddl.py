"""Tables from SCHEMA messages: create, add columns, widen types. Every identifier is quoted."""

from __future__ import annotations

from typing import Any

from target_duckdb.types import WIDENS_TO, duckdb_type


def quote(name: str) -> str:
    """A DuckDB identifier, quoted: any character is allowed, double quotes are doubled."""
    if "\x00" in name:
        raise ValueError(f"identifier {name!r} contains a NUL byte")
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def columns_of(schema: dict[str, Any]) -> dict[str, str]:
    """Column name -> DuckDB type for every property of a stream's schema."""
    return {name: duckdb_type(prop) for name, prop in (schema.get("properties") or {}).items()}


def base_type(sqltype: str) -> str:
    return sqltype.split("(", 1)[0].upper()


def wider(existing: str, wanted: str) -> str | None:
    """The type an `existing` column must become to hold `wanted` values; None if it already can."""
    if existing.upper() == wanted.upper():
        return None
    e, w = base_type(existing), base_type(wanted)
    if e == "VARCHAR":
        return None
    if e == "DECIMAL" and w == "DECIMAL":
        ep, es = _ps(existing)
        wp, ws = _ps(wanted)
        scale = max(es, ws)
        precision = max(ep - es, wp - ws) + scale
        if precision > 38:
            return "VARCHAR"
        return None if (precision, scale) == (ep, es) else f"DECIMAL({precision},{scale})"
    if e == "DECIMAL" and w in ("BIGINT", "HUGEINT"):
        return (
            None
            if _ps(existing)[0] - _ps(existing)[1] >= 19
            else "VARCHAR"
            if w == "HUGEINT"
            else None
        )
    if w in WIDENS_TO.get(e, ()):
        return wanted
    if e in WIDENS_TO.get(w, ()):
        return None  # the column is already the wider of the two
    return "VARCHAR"


def _ps(sqltype: str) -> tuple[int, int]:
    inside = sqltype[sqltype.index("(") + 1 : sqltype.index(")")]
    p, _, s = inside.partition(",")
    return int(p), int(s or 0)
