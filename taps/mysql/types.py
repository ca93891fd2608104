"""MySQL column types -> JSON Schema, and the value conversions that keep every value exact.

The README's mapping table documents this module. Values are converted as little as possible:
most arrive from the driver already in their final form (see `driver_conversions`), and only
columns that need it get a per-row converter (see `row_plan`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from tapwell.singer.errors import SyncError
from tapwell.singer.schema import property_format, property_types

INTEGER_RANGES = {
    "tinyint": 8,
    "smallint": 16,
    "mediumint": 24,
    "int": 32,
    "integer": 32,
    "bigint": 64,
}
STRING_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"}
BINARY_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
SPATIAL_TYPES = {
    "geometry",
    "point",
    "linestring",
    "polygon",
    "multipoint",
    "multilinestring",
    "multipolygon",
    "geometrycollection",
    "geomcollection",
}
DATETIME_TYPES = {"datetime", "timestamp"}
# A JSON column holds any JSON value: a document, an array, or a scalar ('"just a string"', 1.5,
# true, null), so its schema admits every JSON type (targets store it in their JSON column).
JSON_TYPES = ("null", "object", "array", "string", "number", "boolean")


@dataclass(frozen=True)
class Column:
    """One column as information_schema describes it."""

    name: str
    data_type: str  # lower case: int, varchar, decimal, json, ...
    column_type: str  # full: int(10) unsigned, tinyint(1), enum('a','b'), ...
    nullable: bool = True
    char_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    datetime_precision: int | None = None
    key: str = ""  # PRI, UNI, MUL
    is_json: bool = False  # MariaDB's JSON is LONGTEXT with a json_valid() check

    @property
    def unsigned(self) -> bool:
        return "unsigned" in self.column_type.lower()

    @property
    def sql_datatype(self) -> str:
        return "json" if self.is_json and self.data_type != "json" else self.column_type

    @property
    def kind(self) -> str:
        """How the value is handled: int, bool, bit, decimal, float, string, binary, json,
        date, datetime, time, year, spatial, unsupported."""
        t = self.data_type
        if self.is_json or t == "json":
            return "json"
        if t == "tinyint" and self.column_type.lower().startswith("tinyint(1)"):
            return "bool"
        if t in INTEGER_RANGES:
            return "int"
        if t == "bit":
            return "bool" if (self.precision or 1) == 1 else "bit"
        if t == "decimal":
            return "decimal"
        if t in ("float", "double", "real"):
            return "float"
        if t in STRING_TYPES:
            return "string"
        if t in BINARY_TYPES:
            return "binary"
        if t == "date":
            return "date"
        if t in DATETIME_TYPES:
            return "datetime"
        if t == "time":
            return "time"
        if t == "year":
            return "year"
        if t in SPATIAL_TYPES:
            return "spatial"
        return "unsupported"


def json_schema(col: Column) -> dict[str, Any]:
    """The JSON Schema of one column (nullable always: a NOT NULL column can still be added or
    relaxed upstream, and deletes in LOG_BASED carry nulls)."""
    kind = col.kind
    if kind == "int":
        bits = INTEGER_RANGES[col.data_type]
        if col.unsigned:
            return {"type": ["null", "integer"], "minimum": 0, "maximum": 2**bits - 1}
        return {
            "type": ["null", "integer"],
            "minimum": -(2 ** (bits - 1)),
            "maximum": 2 ** (bits - 1) - 1,
        }
    if kind == "bool":
        return {"type": ["null", "boolean"]}
    if kind == "bit":
        return {
            "type": ["null", "integer"],
            "minimum": 0,
            "maximum": 2 ** (col.precision or 64) - 1,
        }
    if kind == "year" and col.column_type.lower() == "year(2)":
        return {"type": ["null", "integer"]}  # 0..99 in a snapshot, 1970..2069 from the binlog
    if kind == "year":  # 1901..2155, and 0000: its zero, what a bad value becomes
        return {"type": ["null", "integer"], "minimum": 0, "maximum": 2155}
    if kind == "decimal":
        return decimal_schema(col.precision or 10, col.scale or 0)
    if kind == "float":
        return {"type": ["null", "number"]}
    if kind == "string":
        out: dict[str, Any] = {"type": ["null", "string"]}
        if col.char_length is not None:
            out["maxLength"] = col.char_length
        if col.data_type == "enum":
            # '' is the value MariaDB stores for a value not in the list (outside strict mode)
            values = enum_values(col.column_type)
            out["enum"] = [*values, *([] if "" in values else [""]), None]
        return out
    if kind == "binary":
        out = {"type": ["null", "string"], "contentEncoding": "base64"}
        if col.char_length is not None:
            out["maxLength"] = (col.char_length + 2) // 3 * 4
        return out
    if kind == "json":
        return {"type": list(JSON_TYPES)}
    if kind == "date":
        return {"type": ["null", "string"], "format": "date"}
    if kind == "datetime":
        return {"type": ["null", "string"], "format": "date-time"}
    if kind == "time":
        return {
            "type": ["null", "string"],
            "description": "MySQL TIME as text, [-]HHH:MM:SS[.ffffff]",
        }
    if kind == "spatial":
        return {"type": ["null", "string"], "description": "WKT (well-known text)"}
    return {"description": f"unsupported MySQL type {col.column_type}"}


# MySQL's escapes in an ENUM or SET's COLUMN_TYPE text (a quote is doubled: '')
_ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "Z": "\x1a"}


def enum_values(column_type: str) -> list[str]:
    """The values of an ENUM or SET column, in order, from its COLUMN_TYPE text, where a quote
    is doubled ('') and a backslash, a newline or a NUL is escaped as in a MySQL string."""
    inner = column_type[column_type.index("(") + 1 : column_type.rindex(")")]
    out, buf, quoted, i = [], "", False, 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\" and quoted and i + 1 < len(inner):
            i += 1
            buf += _ESCAPES.get(inner[i], inner[i])
        elif ch == "'":
            if quoted and i + 1 < len(inner) and inner[i + 1] == "'":
                buf += "'"
                i += 1
            else:
                quoted = not quoted
        elif ch == "," and not quoted:
            out.append(buf)
            buf = ""
        else:
            buf += ch
        i += 1
    out.append(buf)
    return out


# Python's default decimal context: singer-sdk's validator checks `multipleOf` with Decimal `%`,
# which raises DivisionImpossible once value / step needs more digits than this.
_MULTIPLE_OF_MAX_PRECISION = 28


def decimal_schema(p: int, s: int) -> dict[str, Any]:
    """DECIMAL(p,s) as draft 7 readers understand it: numeric `exclusiveMaximum` and
    `exclusiveMinimum` of 10^(p-s), `x-precision`/`x-scale` (which our targets read first), and
    singer-io's `multipleOf` 10^-s only up to 28 digits, where every validator can evaluate it
    (singer-sdk's fails on DECIMAL(65,30) with DivisionImpossible)."""
    top: int | float = 10 ** (p - s) if p - s < 19 else float(10 ** (p - s))
    out: dict[str, Any] = {"type": ["null", "number"]}
    if p <= _MULTIPLE_OF_MAX_PRECISION:
        out["multipleOf"] = 1 if s == 0 else float(f"1e-{s}")
    out |= {"exclusiveMaximum": top, "exclusiveMinimum": -top, "x-precision": p, "x-scale": s}
    return out


def draft7_number(col: Column, prop: dict[str, Any]) -> dict[str, Any]:
    """A catalog's DECIMAL property in today's form: a catalog discovered by an older tap-mysql
    holds draft 4's boolean `exclusiveMaximum`/`exclusiveMinimum` (refused by draft 7 readers
    such as singer-sdk targets) and `multipleOf` past 28 digits; its other keys are kept."""
    if col.kind != "decimal":
        return prop
    out = dict(prop)
    for flag, bound in (("exclusiveMaximum", "maximum"), ("exclusiveMinimum", "minimum")):
        # draft 4: a boolean flag on `maximum`/`minimum`; draft 7: the bound itself
        if isinstance(out.get(flag), bool) and out.pop(flag) and bound in out:
            out[flag] = out.pop(bound)
    if (col.precision or 10) > _MULTIPLE_OF_MAX_PRECISION:
        out.pop("multipleOf", None)
    return out


def is_supported(col: Column) -> bool:
    return col.kind != "unsupported"


def select_expression(col: Column, quote: Callable[[str], str]) -> str:
    """What to SELECT for a column: itself, or ST_AsText() for spatial columns."""
    q = quote(col.name)
    if col.kind == "spatial":
        return f"ST_AsText({q}) AS {q}"
    return q


# ----------------------------------------------------------------------------- driver level


class ZeroDates:
    """Counts zero and invalid dates (`0000-00-00`, `2022-11-00`) turned into null, or refuses
    them when the config says `zero_dates: "error"`."""

    def __init__(self, mode: str = "null") -> None:
        if mode not in ("null", "error"):
            from tapwell.singer.errors import ConfigError

            raise ConfigError(f'config key zero_dates: {mode!r} is not "null" or "error"')
        self.mode = mode
        self.count = 0
        self.stream = ""

    def bad(self, raw: bytes | str) -> None:
        if self.mode == "error":
            text = raw.decode() if isinstance(raw, bytes) else raw
            raise SyncError(
                f'stream {self.stream!r}: invalid date {text!r}; set zero_dates to "null" to load it as null'
            )
        self.count += 1

    def bad_binlog(self, stream: str, column: str) -> None:
        """A zero or invalid date read from the binlog (which carries no text to quote)."""
        if self.mode == "error":
            raise SyncError(
                f"stream {stream!r}: column {column!r} has a zero or invalid date in the binlog; "
                'set zero_dates to "null" to load it as null'
            )

    def date(self, raw: str | bytes) -> date | None:
        try:
            return date.fromisoformat(raw if isinstance(raw, str) else raw.decode())
        except ValueError:
            self.bad(raw)
            return None

    def datetime(self, raw: str | bytes) -> datetime | None:
        try:
            return datetime.fromisoformat(raw if isinstance(raw, str) else raw.decode())
        except ValueError:
            self.bad(raw)
            return None


def _time_text(raw: str | bytes) -> str:
    return raw if isinstance(raw, str) else raw.decode()


def _bit(raw: str | bytes) -> int:
    return int.from_bytes(raw if isinstance(raw, bytes) else raw.encode("latin-1"), "big")


def driver_conversions(zero: ZeroDates) -> dict[Any, Any]:
    """mysqlclient's `conv` table: DECIMAL as the server's digits (an orjson Fragment, never a
    float and never a Decimal object), dates checked for zero dates, TIME as the server's text,
    BIT as an integer, MySQL's JSON type as its text."""
    from MySQLdb.constants import FIELD_TYPE
    from MySQLdb.converters import conversions

    conv = dict(conversions)
    conv[FIELD_TYPE.NEWDECIMAL] = orjson.Fragment
    conv[FIELD_TYPE.DECIMAL] = orjson.Fragment
    conv[FIELD_TYPE.DATE] = zero.date
    conv[FIELD_TYPE.DATETIME] = zero.datetime
    conv[FIELD_TYPE.TIMESTAMP] = zero.datetime
    conv[FIELD_TYPE.TIME] = _time_text
    conv[FIELD_TYPE.BIT] = _bit
    conv[FIELD_TYPE.JSON] = json_text
    return conv


# ----------------------------------------------------------------------------- row level

Converter = Callable[[Any], Any]


def _b64(value: Any) -> Any:
    return None if value is None else base64.b64encode(value).decode("ascii")


def json_text(raw: str | bytes) -> orjson.Fragment:
    """A JSON column's text as it goes into a RECORD line: exact (never parsed, so numbers keep
    every digit) and on one line. A raw line break in valid JSON can only be whitespace between
    tokens (inside a string it must be escaped), so it becomes a space; a pretty-printed document
    in MariaDB's LONGTEXT JSON would otherwise split the RECORD line in two."""
    if isinstance(raw, bytes):
        if b"\n" in raw or b"\r" in raw:
            raw = raw.replace(b"\n", b" ").replace(b"\r", b" ")
    elif "\n" in raw or "\r" in raw:
        raw = raw.replace("\n", " ").replace("\r", " ")
    return orjson.Fragment(raw)


def _json_text(value: Any) -> Any:
    if value is None or isinstance(value, orjson.Fragment):
        return value
    return json_text(value)


def _to_bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _date_as_datetime(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _str(value: Any) -> Any:
    return None if value is None else str(value)


# Written into the compiled row function instead of called (see records.compile_row).
_to_bool.inline = "{x} != 0"  # type: ignore[attr-defined]


def row_converter(col: Column, prop: dict[str, Any]) -> Converter | None:
    """The per-row conversion a column needs after the driver, or None (most columns).

    The catalog's property decides where a user may override: a TINYINT(1) or BIT(1) whose
    type was changed to integer stays an integer; a DATE declared date-time (singer-io's and
    PipelineWise's mapping) is written as midnight UTC."""
    kind = col.kind
    kinds = property_types(prop)
    if kind == "bool":
        return _to_bool if "boolean" in kinds else None
    if kind == "binary":
        return _b64
    if kind == "json":
        return _json_text
    if kind == "date" and property_format(prop) == "date-time":
        return _date_as_datetime
    if kind == "unsupported":
        return _str
    return None


def row_plan(columns: list[Column], props: dict[str, Any]) -> list[tuple[int, Converter]]:
    """(position, converter) for the columns of a SELECT that need a per-row conversion."""
    plan = []
    for i, col in enumerate(columns):
        conv = row_converter(col, props.get(col.name) or {})
        if conv is not None:
            plan.append((i, conv))
    return plan


# ----------------------------------------------------------------------------- binlog values


def time_text(value: timedelta, fsp: int) -> str:
    """A binlog TIME (timedelta) as the server would print it: [-]HH:MM:SS[.ffffff]."""
    micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    secs, frac = divmod(micros, 1_000_000)
    text = f"{sign}{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    if fsp:
        text += "." + f"{frac:06d}"[:fsp]
    return text


def binlog_time(value: timedelta) -> timedelta:
    """Undo mysql-replication's misreading of a negative TIME with fractional seconds.

    MySQL stores TIME(fsp) as a signed packed number whose integer part is floored, so
    -00:00:01.25 is stored as integer part -2 and fraction +0.75 written as -0.25; the library
    reads the integer part as |-2| = 2 s and the fraction as -0.25, giving -1.75 s. For a
    negative value with a fraction f' (0 < f' < 1 s) the true fraction is 1 s - f' on the same
    whole seconds; whole-second and non-negative values are read correctly."""
    micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
    if micros >= 0:
        return value
    secs, frac = divmod(-micros, 1_000_000)
    if frac == 0:
        return value
    return -timedelta(seconds=secs, microseconds=1_000_000 - frac)


def float32_text(value: float) -> float:
    """The shortest float that a FLOAT (single precision) column's binlog value stands for."""
    import struct

    target = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.unpack("f", struct.pack("f", candidate))[0] == target:
            return candidate
    return value


# information_schema DATA_TYPE -> the binlog (table map) type codes a column of it is written as
_BINLOG_TYPES: dict[str, tuple[int, ...]] = {
    "tinyint": (1,),
    "smallint": (2,),
    "mediumint": (9,),
    "int": (3,),
    "integer": (3,),
    "bigint": (8,),
    "float": (4,),
    "double": (5,),
    "real": (5,),
    "decimal": (246, 0),
    "date": (10, 14),
    "datetime": (12, 18),
    "timestamp": (7, 17),
    "time": (11, 19),
    "year": (13,),
    "bit": (16,),
    "enum": (247,),
    "set": (248,),
    "json": (245,),
    "char": (254, 253, 15),
    "varchar": (15, 253),
    "binary": (254, 253, 15),
    "varbinary": (15, 253),
    **dict.fromkeys(("tinytext", "text", "mediumtext", "longtext"), (252,)),
    **dict.fromkeys(("tinyblob", "blob", "mediumblob", "longblob"), (252,)),
    **dict.fromkeys(SPATIAL_TYPES, (255,)),
}
_FRACTIONAL = {17, 18, 19}  # TIMESTAMP2, DATETIME2, TIME2 carry their fsp


def binlog_column_mismatch(position: int, event_col: Any, col: Column) -> str | None:
    """Why a binlog event's column (a mysql-replication table-map column) cannot be the
    table's column `col` at the same position, or None when it can. Used to refuse events
    written before a column was added or changed in the middle of the table."""
    from pymysqlreplication.constants import FIELD_TYPE

    code = event_col.type
    names = {v: k for k, v in vars(FIELD_TYPE).items() if k.isupper() and isinstance(v, int)}
    found = names.get(code, str(code))
    expected = _BINLOG_TYPES.get(col.data_type)
    where = f"column {position + 1} of the event is {found}, the table's is {col.name!r} {col.column_type}"
    if expected is not None and code not in expected:
        return where
    if code == 246 and (event_col.precision, event_col.decimals) != (col.precision, col.scale):
        return f"{where} (precision {event_col.precision},{event_col.decimals})"
    if code in _FRACTIONAL and event_col.fsp != (col.datetime_precision or 0):
        return f"{where} (fractional digits {event_col.fsp})"
    return None
