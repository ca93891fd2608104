"""PostgreSQL column types -> JSON Schema, and the expressions that turn each value into its
exact JSON form.

A snapshot or incremental read lets the server build each record (`row_to_json` over one select
expression per column, see `select_expression`): numbers keep their digits, timestamps their
microseconds, and no value passes through a Python object. Changes read from the WAL arrive as
each type's text; `text_converter` gives the same JSON from that text. The README's mapping table
documents this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from tapwell.singer.schema import property_types

INT_RANGES = {"int2": 16, "int4": 32, "int8": 64}
INT_TYPES = {**INT_RANGES, "oid": 0, "xid": 0, "cid": 0}
FLOAT_TYPES = {"float4", "float8"}
STRING_TYPES = {"text", "varchar", "bpchar", "citext", "name", "char"}
DATE_TIME = {"date", "time", "timetz", "timestamp", "timestamptz", "interval"}
# A json/jsonb column holds any JSON value (a document, an array or a scalar).
JSON_TYPES = ["null", "object", "array", "string", "number", "boolean"]
REPLICATION_KEY_KINDS = {
    "int", "decimal", "float", "money", "date", "time", "timestamp", "timestamptz", "string", "uuid",
}  # fmt: skip
# bytea travels as PostgreSQL's hex text, `\x00ff`; the marker lets a target store the bytes
# (target-postgres: a bytea column). An x- token (RFC 2045): the text is not plain base16.
BYTEA_SCHEMA = {"type": ["null", "string"], "contentEncoding": "x-bytea-hex"}
# Values PostgreSQL prints for numbers JSON cannot hold; they become null (README: NaN and infinity).
NOT_FINITE = {"NaN", "Infinity", "-Infinity", "inf", "-inf"}
# The kinds whose values may be sent as null so (those `held_condition` tests).
NULLABLE_KINDS = {"decimal", "float", "date", "timestamp", "timestamptz", "time"}


@dataclass(frozen=True)
class PgType:
    """A column's type, domains resolved to their base type."""

    name: str  # base type's typname: int4, numeric, _text (an array), mood (an enum), ...
    sql: str  # format_type(): integer, numeric(12,2), text[], "public.mood"
    typtype: str  # b base, e enum, r range, m multirange, c composite, p pseudo
    typmod: int = -1
    schema: str = "pg_catalog"  # the type's schema (hstore's functions live there)
    element: PgType | None = None  # an array's element type
    enum_values: tuple[str, ...] = ()
    dims: int = 1  # an array's declared dimensions (int[][] has 2; not enforced by PostgreSQL)

    @property
    def kind(self) -> str:
        """int, decimal, float, money, bool, string, uuid, date, time, timetz, timestamp,
        timestamptz, interval, json, bytea, hstore, enum, array, text (any other type, as text)."""
        n = self.name
        if self.element is not None:
            return "array"
        if self.typtype == "e":
            return "enum"
        if n in INT_TYPES:
            return "int"
        if n == "numeric":
            return "decimal"
        if n in FLOAT_TYPES:
            return "float"
        if n in ("money", "bool", "uuid", "bytea", "hstore"):
            return {"bool": "bool"}.get(n, n)
        if n in STRING_TYPES:
            return "string"
        if n in DATE_TIME:
            return n
        if n in ("json", "jsonb"):
            return "json"
        return "text"

    @property
    def precision_scale(self) -> tuple[int, int] | None:
        if self.name != "numeric" or self.typmod < 4:
            return None
        mod = self.typmod - 4
        scale = mod & 0xFFFF
        return (mod >> 16) & 0xFFFF, scale if scale < 0x8000 else scale - 0x10000


@dataclass(frozen=True)
class Column:
    name: str
    type: PgType
    nullable: bool = True
    generated: bool = False
    position: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def kind(self) -> str:
        return self.type.kind

    @property
    def sql_datatype(self) -> str:
        return self.type.sql


def json_schema(col: Column) -> dict[str, Any]:
    """The property schema of a column: nullable always (a later row may hold NULL)."""
    return _schema(col.type)


def _schema(t: PgType) -> dict[str, Any]:
    kind = t.kind
    if kind == "int":
        out: dict[str, Any] = {"type": ["null", "integer"]}
        bits = INT_RANGES.get(t.name)
        if bits:
            out.update(minimum=-(2 ** (bits - 1)), maximum=2 ** (bits - 1) - 1)
        return out
    if kind == "decimal":
        return _decimal_schema(t.precision_scale)
    if kind in ("float", "money"):
        return {"type": ["null", "number"]}
    if kind == "bool":
        return {"type": ["null", "boolean"]}
    if kind == "string":
        out = {"type": ["null", "string"]}
        if t.name in ("varchar", "bpchar") and t.typmod > 4:
            out["maxLength"] = t.typmod - 4
        return out
    if kind == "uuid":
        return {"type": ["null", "string"], "format": "uuid"}
    if kind == "date":
        return {"type": ["null", "string"], "format": "date"}
    if kind in ("timestamp", "timestamptz"):
        return {"type": ["null", "string"], "format": "date-time"}
    if kind == "time":
        return {"type": ["null", "string"], "format": "time"}
    if kind == "json":
        return {"type": list(JSON_TYPES)}
    if kind == "hstore":
        return {"type": ["null", "object"], "additionalProperties": {"type": ["null", "string"]}}
    if kind == "enum":
        return {"type": ["null", "string"], "enum": [*t.enum_values, None]}
    if kind == "bytea":
        return dict(BYTEA_SCHEMA)
    if kind == "array":
        assert t.element is not None
        items = _element_schema(t.element)
        for _ in range(t.dims - 1):
            items = {"type": ["null", "array"], "items": items}
        return {"type": ["null", "array"], "items": items}
    return {"type": ["null", "string"]}


def catalog_typed(live: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any] | None:
    """The property sent for a column the catalog types `declared` (the column's own schema:
    `live`): the catalog's JSON type, with null (a later row, or a deleted one, may hold NULL),
    and the column's other keywords (format, bounds, length: they say what the values are, and
    a catalog written by another tap may say otherwise, e.g. date-time for a date). The
    column's values must fit that type (an integer is a number; a json/jsonb column may be
    narrowed); None when they do not. A catalog property without a type leaves the column's."""
    wanted = property_types(declared)
    if not wanted:
        return live
    kinds = set(property_types(live)) - {"null"}
    allowed = set(wanted) | ({"integer"} if "number" in wanted else set())
    narrowed_json = kinds >= {"object", "array"} and bool(kinds & allowed)
    if not narrowed_json and not kinds <= allowed:
        return None
    types = wanted if "null" in wanted else ["null", *wanted]
    return {**live, "type": types}


def _element_schema(t: PgType) -> dict[str, Any]:
    """An array element's schema: its type's, but hstore elements travel as their text (the
    server's JSON of an hstore[] holds strings)."""
    return {"type": ["null", "string"]} if t.kind == "hstore" else _schema(t)


def _decimal_schema(ps: tuple[int, int] | None) -> dict[str, Any]:
    """numeric(p,s) as tap-mysql writes DECIMAL(p,s) (draft 7 bounds, `x-precision`/`x-scale`,
    `multipleOf` only up to 28 digits); unconstrained numeric: any number, every digit kept."""
    out: dict[str, Any] = {"type": ["null", "number"]}
    if ps is None or not 0 <= ps[1] <= ps[0]:
        return out
    p, s = ps
    top: int | float = 10 ** (p - s) if p - s < 19 else float(10 ** (p - s))
    if p <= 28:
        out["multipleOf"] = 1 if s == 0 else float(f"1e-{s}")
    out |= {"exclusiveMaximum": top, "exclusiveMinimum": -top, "x-precision": p, "x-scale": s}
    return out


def is_supported(col: Column) -> bool:
    """Every type has a JSON form (any other type travels as its text); pseudo types do not."""
    return col.type.typtype != "p"


# ----------------------------------------------------------------------------- snapshot values


def select_expression(col: Column, src: str, quote: Callable[[str], str], version: int) -> str:
    """The SQL giving a column's value in the form `row_to_json` writes exactly.

    `src` is the quoted table alias. NaN and infinite numbers, dates outside 0001..9999
    (BC, year 10000+, ±infinity) and the time 24:00:00 become NULL; timestamp without time zone
    is read as UTC."""
    c = f"{src}.{quote(col.name)}"
    kind = col.kind
    if kind == "array":
        return _array_expression(col.type, c)
    if col.type.typtype == "c":
        return f"{c}::text"  # a composite's text, as the WAL sends it (row_to_json would nest it)
    if kind == "money":
        return f"{c}::numeric"
    held = held_condition(col, c, version)
    if kind == "timestamp":
        return f"CASE WHEN {held} THEN {c} AT TIME ZONE 'UTC' END"
    if held is not None:
        return f"CASE WHEN {held} THEN {c} END"
    if kind == "hstore":
        return f"{quote(col.type.schema)}.hstore_to_json({c})"
    return c


def held_condition(col: Column, c: str, version: int) -> str | None:
    """The SQL condition under which the value `c` of `col` has a JSON form (NaN, ±infinity,
    dates outside 0001..9999 and 24:00:00 have none and become null), or None: every value has."""
    kind = col.kind
    if kind == "decimal":
        bad = "'NaN', 'Infinity', '-Infinity'" if version >= 140000 else "'NaN'"
        return f"{c} NOT IN ({bad})"
    if kind == "float":
        return f"{c} NOT IN ('NaN', 'Infinity', '-Infinity')"
    if kind == "date":
        return f"{c} BETWEEN '0001-01-01' AND '9999-12-31'"
    if kind == "timestamptz":
        return f"{c} >= '0001-01-01 00:00:00+00' AND {c} < '10000-01-01 00:00:00+00'"
    if kind == "timestamp":
        return f"{c} >= '0001-01-01' AND {c} < '10000-01-01'"
    if kind == "time":
        return f"{c} < '24:00:00'"
    return None


# In the JSON text of an array: elements JSON cannot hold as numbers, dates outside
# 0001..9999 (BC, year 10000+, ±infinity) and the time 24:00:00 (which `format: time` and the
# targets' time types refuse); each becomes null, at any depth.
_NOT_FINITE_JSON = r'"(NaN|-?Infinity)"'
_OUT_OF_RANGE_JSON = r'"(-?infinity|[^"]* BC|[0-9]{5,}[^"]*)"'
_END_OF_DAY_JSON = r'"24:00:00"'


def _array_expression(t: PgType, c: str) -> str:
    """An array's value as JSON with its elements in their scalar form (the same as
    `text_converter` gives from the WAL), for any number of dimensions."""
    assert t.element is not None
    kind = t.element.kind
    if t.element.typtype == "c":
        return f"{c}::text[]"
    if kind == "money":
        return f"{c}::numeric[]"
    if kind == "timestamp":
        c = f"{c}::timestamptz[]"  # the session's TimeZone is UTC: read as UTC, as the scalar is
    bad = {"decimal": _NOT_FINITE_JSON, "float": _NOT_FINITE_JSON}.get(kind)
    if kind in ("date", "timestamp", "timestamptz"):
        bad = _OUT_OF_RANGE_JSON
    if kind == "time":
        bad = _END_OF_DAY_JSON
    if bad is None:
        return c
    return f"regexp_replace(to_json({c})::text, '{bad}', 'null', 'g')::json"


def has_raw_json(columns: list[Column]) -> bool:
    """Whether row_to_json may copy a `json` value's own line breaks into the record."""
    return any(
        c.type.name == "json" or (c.type.element and c.type.element.name == "json") for c in columns
    )


# ----------------------------------------------------------------------------- WAL text values


def text_converter(t: PgType, nulled: Callable[[], None] | None = None) -> Callable[[str], Any]:
    """A function from a value's text (as pgoutput sends it) to its JSON value, the same as the
    snapshot's for that type; it calls `nulled` for each value (or array element) it sends as
    null (NaN, infinity, 24:00:00, ...)."""
    kind = t.kind
    if kind == "array":
        assert t.element is not None
        element = _same if t.element.kind == "hstore" else text_converter(t.element, nulled)
        delim = ";" if t.element.name == "box" else ","
        return lambda text: parse_array(text, element, delim)
    convert = _SCALAR.get(kind, _same)
    if nulled is None or kind not in NULLABLE_KINDS:
        return convert
    told = nulled

    def counted(text: str) -> Any:
        value = convert(text)
        if value is None:
            told()
        return value

    return counted


def _same(text: str) -> Any:
    return text


def _number(text: str) -> Any:
    return None if text in NOT_FINITE else orjson.Fragment(text.encode())


def _money(text: str) -> Any:
    neg = text.startswith("-") or text.startswith("(")
    digits = "".join(ch for ch in text if ch.isdigit() or ch == ".")
    return orjson.Fragment((("-" if neg else "") + (digits or "0")).encode())


def _date(text: str) -> Any:
    if text.endswith(" BC") or len(text) != 10 or text[4] != "-":
        return None  # BC, year 10000+, infinity
    return text


def _timestamp(text: str, offset: str = "+00:00") -> Any:
    if text.endswith(" BC") or len(text) < 19 or text[4] != "-":
        return None
    base = text[:10] + "T" + text[11:]
    if offset:
        return base + offset
    # timestamptz in a UTC session: "...+00"; keep any other offset PostgreSQL printed
    if base[-3] in "+-":
        return base + ":00"
    return base


def _time(text: str) -> Any:
    return None if text.startswith("24") else text  # 24:00:00, the only hour past 23


def _timestamptz(text: str) -> Any:
    return _timestamp(text, "")


def _json(text: str) -> Any:
    return orjson.Fragment(text.replace("\n", " ").replace("\r", " ").encode())


_SCALAR: dict[str, Callable[[str], Any]] = {
    "int": int,
    "decimal": _number,
    "float": _number,
    "money": _money,
    "bool": lambda text: text == "t",
    "date": _date,
    "time": _time,
    "timestamp": _timestamp,
    "timestamptz": _timestamptz,
    "json": _json,
    "hstore": lambda text: parse_hstore(text),
}


def parse_array(text: str, element: Callable[[str], Any], delim: str = ",") -> Any:
    """A PostgreSQL array literal (`{1,2,NULL}`, `{{"a b","c\\"d"}}`, `[0:1]={..}`) as nested
    lists, each element through `element`."""
    if text.startswith("["):
        text = text[text.index("=") + 1 :]
    pos = 0

    def parse() -> list[Any]:
        nonlocal pos
        assert text[pos] == "{"
        pos += 1
        out: list[Any] = []
        if text[pos] == "}":
            pos += 1
            return out
        while True:
            ch = text[pos]
            if ch == "{":
                out.append(parse())
            elif ch == '"':
                pos += 1
                buf = []
                while text[pos] != '"':
                    if text[pos] == "\\":
                        pos += 1
                    buf.append(text[pos])
                    pos += 1
                pos += 1
                out.append(element("".join(buf)))
            else:
                end = pos
                while text[end] not in (delim, "}"):
                    end += 1
                raw = text[pos:end].strip()
                out.append(None if raw == "NULL" else element(raw))
                pos = end
            if text[pos] == delim:
                pos += 1
                continue
            assert text[pos] == "}"
            pos += 1
            return out

    return parse()


def parse_hstore(text: str) -> dict[str, str | None]:
    """hstore's text (`"a"=>"1", "b"=>NULL`) as an object of strings."""
    out: dict[str, str | None] = {}
    pos, n = 0, len(text)

    def token() -> str | None:
        nonlocal pos
        while pos < n and text[pos] in " ,":
            pos += 1
        if text.startswith("NULL", pos):
            pos += 4
            return None
        assert text[pos] == '"'
        pos += 1
        buf = []
        while text[pos] != '"':
            if text[pos] == "\\":
                pos += 1
            buf.append(text[pos])
            pos += 1
        pos += 1
        return "".join(buf)

    while True:
        while pos < n and text[pos] in " ,":
            pos += 1
        if pos >= n:
            return out
        key = token()
        pos = text.index("=>", pos) + 2
        out[str(key)] = token()
