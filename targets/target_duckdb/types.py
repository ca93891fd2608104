"""JSON Schema -> DuckDB column types, and how each value is written to the staging file.

DuckDB's DECIMAL stops at 38 digits: a wider decimal is kept exactly, as text (VARCHAR), rather
than rounded. A `number` whose schema gives no precision becomes DOUBLE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapwell.schema import Logical, logical_type

SIMPLE = {
    "boolean": "BOOLEAN",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "string": "VARCHAR",
    "date-time": "TIMESTAMPTZ",
    "date": "DATE",
    "time": "TIME",
    "json": "JSON",
}


def duckdb_type(prop: dict[str, Any]) -> str:
    return sql_type(logical_type(prop))


def sql_type(logical: Logical) -> str:
    if logical.kind == "decimal":
        p, s = logical.precision or 38, logical.scale or 0
        if p > 38:
            return "VARCHAR"
        if s == 0 and p > 18:
            return "HUGEINT"
        return f"DECIMAL({p},{s})"
    return SIMPLE[logical.kind]


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    return str(value)


def staging_transform(sqltype: str) -> Callable[[Any], Any] | None:
    """Numbers that must keep every digit travel as JSON strings (DuckDB's JSON reader would
    parse a bare number through double)."""
    if sqltype.startswith(("DECIMAL", "HUGEINT")) or sqltype == "VARCHAR":
        return _as_text
    return None


def staging_type(sqltype: str) -> str:
    """The type the staging file's column is read as before the cast into the table."""
    if sqltype in ("BOOLEAN", "BIGINT", "DOUBLE", "JSON"):
        return sqltype
    return "VARCHAR"


# How a column may change in place without losing a value.
WIDENS_TO = {
    "BIGINT": ("HUGEINT", "DECIMAL", "DOUBLE", "VARCHAR"),
    "HUGEINT": ("DECIMAL", "VARCHAR"),
    "DOUBLE": ("VARCHAR",),
    "BOOLEAN": ("VARCHAR",),
    "DATE": ("TIMESTAMPTZ", "VARCHAR"),
    "TIME": ("VARCHAR",),
    "TIMESTAMPTZ": ("VARCHAR",),
    "JSON": ("VARCHAR",),
}
