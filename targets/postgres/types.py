"""JSON Schema -> PostgreSQL column types, and how a column's type may widen in place.

Numbers are never floats unless the config asks for it (`number_type: "double precision"`): a
`number` with a known precision and scale becomes numeric(p, s), any other `number` an unconstrained
numeric, which keeps every digit. An `integer` that may pass 64 bits becomes numeric.

A string marked `contentEncoding: x-bytea-hex` (tap-postgres's bytea, PostgreSQL's hex text
`\\x00ff`) becomes bytea: COPY reads that text as the bytes themselves.
"""

from __future__ import annotations

from typing import Any

from tapwell.singer.schema import Logical, logical_type

NUMERIC_MAX_PRECISION = 1000  # PostgreSQL's limit for numeric(p, s)
BYTEA_HEX = "x-bytea-hex"  # the contentEncoding of bytes written as PostgreSQL's hex text

SIMPLE = {
    "boolean": "boolean",
    "integer": "bigint",
    "string": "text",
    "date-time": "timestamp with time zone",
    "date": "date",
    "time": "time without time zone",
    "json": "jsonb",
}


def pg_type(prop: dict[str, Any], number_type: str = "numeric") -> str:
    """The PostgreSQL type for one JSON Schema property, spelled as `format_type()` spells it."""
    logical = logical_type(prop)
    if logical.kind == "string" and prop.get("contentEncoding") == BYTEA_HEX:
        return "bytea"
    return sql_type(logical, number_type)


def sql_type(logical: Logical, number_type: str = "numeric") -> str:
    if logical.kind == "decimal":
        p, s = logical.precision, logical.scale or 0
        if p is None or p > NUMERIC_MAX_PRECISION or s > p or s < 0:
            return "numeric"
        return f"numeric({p},{s})"
    if logical.kind == "number":
        return number_type
    return SIMPLE[logical.kind]


def family(sqltype: str) -> str:
    """The base name of a type: numeric(12,2) -> numeric."""
    return sqltype.split("(", 1)[0].strip()


# How a column may change in place without losing a value: each family lists what it can become.
WIDENS_TO: dict[str, tuple[str, ...]] = {
    "smallint": ("integer", "bigint", "numeric", "text"),
    "integer": ("bigint", "numeric", "text"),
    "bigint": ("numeric", "text"),
    "numeric": ("text",),
    "real": ("double precision", "text"),
    "double precision": ("text",),
    "boolean": ("text",),
    "date": ("timestamp with time zone", "text"),
    "timestamp without time zone": ("timestamp with time zone", "text"),
    "timestamp with time zone": ("text",),
    "time without time zone": ("text",),
    "jsonb": ("text",),
    "json": ("jsonb", "text"),
    "bytea": ("text",),  # its hex text, `\x00ff`, which the tap sent
}


def wider(existing: str, wanted: str) -> str | None:
    """The type an `existing` column must become so it also holds `wanted` values; None when
    it already can. Never narrows: a text column stays text whatever the schema says next."""
    if existing == wanted:
        return None
    e, w = family(existing), family(wanted)
    if e == "text":
        return None
    if e == "character varying":
        return "text"
    if e == "numeric" and w == "numeric":
        return _wider_numeric(existing, wanted)
    if e == "numeric" and w in ("bigint", "integer", "smallint"):
        return _wider_numeric(existing, "numeric(19,0)")
    if e in ("bigint", "integer", "smallint") and w == "numeric":
        return (
            "numeric"
            if wanted == "numeric"
            else _wider_numeric("numeric(19,0)", wanted, at_least=wanted)
        )
    if e in ("numeric", "bigint", "integer") and w in ("double precision", "real"):
        return None if e == "numeric" and existing == "numeric" else "numeric"
    if e in ("double precision", "real") and w in ("numeric", "bigint", "integer"):
        return "numeric"
    if w in WIDENS_TO.get(e, ()):
        return wanted
    if e in WIDENS_TO.get(w, ()):
        return None  # the column is already the wider of the two
    return "text"


def _precision_scale(sqltype: str) -> tuple[int, int] | None:
    if "(" not in sqltype:
        return None
    inside = sqltype[sqltype.index("(") + 1 : sqltype.index(")")]
    p, _, s = inside.partition(",")
    return int(p), int(s or 0)


def _wider_numeric(existing: str, wanted: str, at_least: str | None = None) -> str | None:
    e, w = _precision_scale(existing), _precision_scale(wanted)
    if e is None:
        return None  # unconstrained numeric holds any number
    if w is None:
        return "numeric"
    scale = max(e[1], w[1])
    precision = max(e[0] - e[1], w[0] - w[1]) + scale
    if precision > NUMERIC_MAX_PRECISION:
        return "numeric"
    new = f"numeric({precision},{scale})"
    if at_least is None and (precision, scale) == e:
        return None
    return new
