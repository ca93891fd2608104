"""JSON Schema -> DuckDB column types, the one spelling of each type, and the values each column
refuses.

DuckDB's DECIMAL stops at 38 digits: a wider decimal is kept exactly, as text (VARCHAR), rather
than rounded. A `number` whose schema gives no precision starts as DOUBLE and becomes exact
(DECIMAL(38,s), else VARCHAR) at the first value a double would not give back as written
(plainnumber.py).

DuckDB reports a type in another spelling than the one it was created with
(`information_schema` says `TIMESTAMP WITH TIME ZONE` for TIMESTAMPTZ): `canonical` maps every
spelling onto the one this target creates and compares, so a second load of the same schema
finds nothing to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tapwell.singer.number_steps import number_step, ten_to_minus
from tapwell.singer.schema import Logical, logical_type, property_types
from tapwell.singer.wire import JsonNumber, dumps

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

# Every other name DuckDB accepts or reports for a type, and the name this target uses for it.
SPELLINGS = {
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "TIMESTAMP_TZ": "TIMESTAMPTZ",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "DATETIME": "TIMESTAMP",
    "TIME WITH TIME ZONE": "TIMETZ",
    "TIME WITHOUT TIME ZONE": "TIME",
    "INT8": "BIGINT",
    "LONG": "BIGINT",
    "INT128": "HUGEINT",
    "INT4": "INTEGER",
    "INT": "INTEGER",
    "SIGNED": "INTEGER",
    "INT2": "SMALLINT",
    "SHORT": "SMALLINT",
    "INT1": "TINYINT",
    "FLOAT8": "DOUBLE",
    "DOUBLE PRECISION": "DOUBLE",
    "FLOAT4": "FLOAT",
    "REAL": "FLOAT",
    "NUMERIC": "DECIMAL",
    "TEXT": "VARCHAR",
    "STRING": "VARCHAR",
    "CHAR": "VARCHAR",
    "BPCHAR": "VARCHAR",
    "BOOL": "BOOLEAN",
    "LOGICAL": "BOOLEAN",
}

# Decimal digits each integer type holds (HUGEINT: 39), for widening to or from DECIMAL.
INTEGER_DIGITS = {"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19, "HUGEINT": 39}

INT64 = (-(2**63), 2**63 - 1)
DOUBLE_MAX = Decimal("1.7976931348623157E+308")
# The smallest normal double: below it a DOUBLE holds 0 or a neighbour (1e-400 -> 0.0,
# 2.5e-324 -> 5e-324), so a smaller non-zero number that is not itself a double (5e-324 is) is
# refused as one past the top is.
DOUBLE_MIN = Decimal("2.2250738585072014E-308")


def double_refusal(value: Any) -> str | None:
    """Why a DOUBLE column cannot hold a number (None when it can): past either end of a
    double's range. Numbers read as floats pass (the wire reads the others exactly, as Decimal).
    A value a double would not give back as written is not refused: it makes a plain number's
    column exact (plainnumber.py)."""
    if type(value) is int:
        try:
            float(value)
        except OverflowError:
            return f"{value} is outside the range of a DOUBLE column (about ±1.8e308)"
        return None
    if isinstance(value, Decimal) and value:
        size = abs(value)
        if size > DOUBLE_MAX:
            return f"{value} is outside the range of a DOUBLE column (about ±1.8e308)"
        if size < DOUBLE_MIN and Decimal(repr(float(value))) != value:  # 5e-324 is a double
            return (
                f"{value} is too close to 0 for a DOUBLE column (smallest about ±2.2e-308): "
                "it would be stored as 0 or a neighbour"
            )
    return None


def exact_double(value: Any) -> Any:
    """A number as the float a DOUBLE column stores, when the double gives it back as written
    (`Decimal(repr(float(v))) == v`: 0.1, 0.30000000000000004, 2^53, 5e-324, 1E+2); else the
    value itself (123456789012345678901234.5678, 2^53 + 1), which makes a plain number's column
    exact (plainnumber.py), as does one past a double's range (1e400, 10**400, 1e-400). A float
    is its own double."""
    try:
        f = float(value)
    except OverflowError:  # an int past 1.8e308
        return value
    if type(value) is int:
        return f if int(f) == value else value
    if type(value) is float:
        return f
    text = repr(f)  # a float source's own spelling, most often: one string compare
    return f if text == str(value) or Decimal(text) == value else value


def canonical(sqltype: str) -> str:
    """The spelling of `sqltype` this target creates and compares: `TIMESTAMP WITH TIME ZONE`
    -> `TIMESTAMPTZ`, `NUMERIC(12, 2)` -> `DECIMAL(12,2)`, `VARCHAR(10)` -> `VARCHAR`."""
    text = " ".join(sqltype.strip().upper().split())
    base, paren, args = text.partition("(")
    base = base.strip()
    base = SPELLINGS.get(base, base)
    if base == "DECIMAL" and paren:
        return "DECIMAL(" + args.replace(" ", "")
    if base == "DECIMAL":
        return "DECIMAL(18,3)"  # DuckDB's default precision and scale
    return base if base == "VARCHAR" or not paren else f"{base}({args.replace(' ', '')}"


def duckdb_type(prop: dict[str, Any]) -> str:
    return sql_type(logical_type(prop))


def is_plain(prop: dict[str, Any]) -> bool:
    """A `number` property whose schema gives no precision: its column starts as DOUBLE and is
    made exact as its values need (plainnumber.py)."""
    return duckdb_type(prop) == "DOUBLE"


def minus_zero_pattern(prop: str) -> str:
    """The regular expression (Python's and DuckDB's RE2 alike) of `"prop":-0` as a JSON line
    may write it, blanks around the colon: the JSON readers read `-0` as the integer 0, and a
    plain number's DOUBLE keeps the sign (plainnumber.widen, raw.column)."""
    return re.escape(dumps(prop).decode()) + "[ \t\n\r]*:[ \t\n\r]*-0[ \t\n\r,}]"


def sql_type(logical: Logical) -> str:
    if logical.kind == "decimal":
        p, s = logical.precision or 38, logical.scale or 0
        if p > 38:
            return "VARCHAR"
        if s == 0 and p > 18:
            return "HUGEINT"
        return f"DECIMAL({p},{s})"
    return SIMPLE[logical.kind]


# What to do about a refused value, as the record check's refusals say it (tapwell.sdk.nested_check).
FIX_WIDER = (
    "fix the value at the source, or declare the field's maximum (and minimum) in the SCHEMA "
    "beyond 64 bits for a wider column"
)
FIX_DIGITS = (
    "fix the value at the source, or change the field's type in the SCHEMA (a larger maximum, "
    "or fewer decimal places, for a wider column)"
)


class Refused(Exception):
    """A value its column cannot hold; the loader names the stream, line and field."""


def as_text(value: Any) -> Any:
    """A value for a VARCHAR column: text as it is, anything else as its JSON text. A number in
    a union's text column (`["string", "number"]`: `number_union`) keeps its source's text:
    a JsonNumber its spelling (`1.50`, `1E+3`, `-0`, `1e400`: stage.respell reads the lines
    that spell one otherwise than the wire writes it back), a float the wire's writing of it
    (its line's text), an int its digits."""
    if value is None or isinstance(value, str):
        return value
    if type(value) is JsonNumber:
        return value.text
    if isinstance(value, float):
        return dumps(value).decode()
    if isinstance(value, (bool, dict, list)):
        return dumps(value).decode()
    return str(value)


def number_scale(prop: dict[str, Any]) -> int | None:
    """The scale a number property's text column (a decimal past 38 digits, a plain number made
    VARCHAR) writes its values at: a declared decimal's (x-scale, or multipleOf 10^-s with a
    maximum), a plain number's multipleOf 10^-s, 0 for an integer; None when the schema gives
    none (each value then keeps the digits its source spelled)."""
    logical = logical_type(prop)
    if logical.kind == "decimal":
        return logical.scale or 0
    if logical.kind == "integer":
        return 0
    step = number_step(prop)
    return None if step is None else ten_to_minus(step)


def is_number(prop: Any) -> bool:
    """A property of number or integer values (and null) only."""
    real = set(property_types(prop)) - {"null"} if isinstance(prop, dict) else set()
    return bool(real) and real <= {"integer", "number"}


def text_scale(prop: Any) -> int | None:
    """The scale a number property's values are written at in a text column (number_scale);
    None for a property that is not a number's, or whose schema gives no scale."""
    return number_scale(prop) if is_number(prop) else None


def decimal_text(value: Any, scale: int | None = None) -> str | None:
    """A number as a text column keeps it (a decimal wider than DuckDB's 38 digits), as
    PostgreSQL's NUMERIC and DuckDB's DECIMAL print one: positional, never an exponent. At
    `scale` places (1.5 -> `1.500`, a zero unsigned: `0.000`; a non-zero digit past the scale is
    kept, never rounded), else with the digits its source spelled (`1.50`, `1E5` -> `100000`,
    `-0`). A value may be an int, a float (its shortest repr), a Decimal (a JsonNumber: its
    spelling) or a number's text; None stays. decimal_text_sql is the same in SQL."""
    if value is None:
        return None
    if type(value) is int and not scale:
        return str(value)
    number = (
        value
        if isinstance(value, Decimal)
        else Decimal(repr(value) if type(value) is float else value)
    )
    text = format(number, "f")
    if scale is None:
        return text
    whole, _, places = text.partition(".")
    places = (
        places.ljust(scale, "0")
        if len(places) < scale
        else places[:scale] + places[scale:].rstrip("0")
    )
    if not number:
        whole = whole.lstrip("-")
    return whole + "." + places if places else whole


def decimal_text_sql(text: str, scale: int | None = None) -> str:
    """SQL of decimal_text for a number's text (`text`, an expression): as DuckDB writes a DOUBLE
    (`1e+22`, `-0.0`), a DECIMAL (`1.50`) or an integer, or as a csv file spells it (`1E5`)."""
    body = f"lower(ltrim({text}, '+-'))"
    mantissa = f"split_part({body}, 'e', 1)"
    power = f"coalesce(TRY_CAST(nullif(split_part({body}, 'e', 2), '') AS INTEGER), 0)"
    whole_digits = f"split_part({mantissa}, '.', 1)"
    digits = f"({whole_digits} || split_part({mantissa}, '.', 2))"
    point = f"(CAST(length({whole_digits}) AS INTEGER) + {power})"  # digits before the point
    whole = f"coalesce(nullif(ltrim(rpad({digits}, greatest({point}, 0), '0'), '0'), ''), '0')"
    places = (
        f"CASE WHEN {point} < 0 THEN repeat('0', -{point}) || {digits} "
        f"ELSE substr({digits}, {point} + 1) END"
    )
    minus = f"starts_with({text}, '-')"
    if scale is not None:
        s = int(scale)
        places = f"rpad(left({places}, {s}), {s}, '0') || rtrim(substr({places}, {s + 1}), '0')"
        minus += f" AND ltrim({digits}, '0') <> ''"
    return (
        f"CASE WHEN {minus} THEN '-' ELSE '' END || {whole} || "
        f"CASE WHEN {places} = '' THEN '' ELSE '.' || {places} END"
    )


def as_json(value: Any) -> Any:
    """A value for a JSON column: its JSON text, every digit kept (DuckDB keeps the text it is
    cast from; its own JSON reader would parse a number through double). A JSON string stays a
    JSON string (`"just a string"`); null is SQL NULL."""
    return None if value is None else dumps(value).decode()


def _finite_double(value: Any) -> Any:
    """A DOUBLE column's value; a number past double's range would become infinity (or 0 below
    it): refused."""
    problem = double_refusal(value)
    if problem is not None:
        raise Refused(problem)
    return value


def _bigint(value: Any) -> Any:
    """A BIGINT column's value; an integer past 64 bits is refused rather than a failed batch."""
    if (
        isinstance(value, (int, Decimal))
        and not isinstance(value, bool)
        and not INT64[0] <= value <= INT64[1]
    ):
        raise Refused(f"{value} is outside the range of a BIGINT column (64 bits): {FIX_WIDER}")
    return value


def value_check(sqltype: str) -> Callable[[Any], Any] | None:
    """For a column DuckDB would load a value into wrongly (DOUBLE: infinity) or refuse with a
    whole-batch error (BIGINT, DECIMAL past its digits): the check that names the value. Run
    only when DuckDB's load shows one is there, so the usual batch pays nothing for it."""
    if sqltype.startswith("DECIMAL("):
        p, _, s = sqltype[len("DECIMAL(") : -1].partition(",")
        return _decimal_digits(int(p) - int(s or 0), sqltype)
    return {"DOUBLE": _finite_double, "BIGINT": _bigint}.get(sqltype)


def _decimal_digits(integer_digits: int, sqltype: str) -> Callable[[Any], Any]:
    limit = Decimal(10) ** integer_digits

    def check(value: Any) -> Any:
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            if number.is_finite() and abs(number) >= limit:
                raise Refused(
                    f"{value} has more than {integer_digits} digits before the point, which a "
                    f"{sqltype} column cannot hold: {FIX_DIGITS}"
                )
        return value

    return check


# How a column may change in place without losing a value (DECIMAL <-> integers: see ddl.wider).
WIDENS_TO = {
    "TINYINT": ("SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "VARCHAR"),
    "SMALLINT": ("INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "VARCHAR"),
    "INTEGER": ("BIGINT", "HUGEINT", "DOUBLE", "VARCHAR"),
    "BIGINT": ("HUGEINT", "DOUBLE", "VARCHAR"),
    "HUGEINT": ("VARCHAR",),
    "FLOAT": ("DOUBLE", "VARCHAR"),
    "DOUBLE": ("VARCHAR",),
    "BOOLEAN": ("VARCHAR",),
    "DATE": ("TIMESTAMP", "TIMESTAMPTZ", "VARCHAR"),
    "TIMESTAMP": ("TIMESTAMPTZ", "VARCHAR"),
    "TIME": ("VARCHAR",),
    "TIMETZ": ("VARCHAR",),
    "TIMESTAMPTZ": ("VARCHAR",),
    "JSON": ("VARCHAR",),
}
