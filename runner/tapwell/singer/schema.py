"""JSON Schema, the parts Singer uses: property types, a logical column type, a compiled checker.

Everything here runs once per SCHEMA message. `compile_checker` returns a function that checks one
record in a few attribute look-ups per field, instead of walking the schema (or calling
jsonschema) for every record.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from tapwell.singer.codegen import build_function
from tapwell.singer.errors import ProtocolError

JSON_KINDS = ("null", "boolean", "integer", "number", "string", "object", "array")


def property_types(prop: dict[str, Any]) -> list[str]:
    """The JSON types a property admits, `anyOf`/`oneOf` flattened; [] means anything."""
    kind = prop.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    out: list[str] = []
    for key in ("anyOf", "oneOf"):
        for sub in prop.get(key) or []:
            for k in property_types(sub):
                if k not in out:
                    out.append(k)
    return out


def property_format(prop: dict[str, Any]) -> str | None:
    if isinstance(prop.get("format"), str):
        return prop["format"]
    for key in ("anyOf", "oneOf"):
        for sub in prop.get(key) or []:
            if sub.get("format"):
                return str(sub["format"])
    return None


def decimal_spec(prop: dict[str, Any]) -> tuple[int, int] | None:
    """(precision, scale) of a number property, read from singer-io's convention
    (`multipleOf` 10^-scale and an exclusive `maximum` of 10^(precision-scale)) or from
    tapwell's explicit `x-precision`/`x-scale`. None when the schema does not say."""
    if "x-precision" in prop:
        return int(prop["x-precision"]), int(prop.get("x-scale", 0))
    step, top = prop.get("multipleOf"), prop.get("maximum")
    if step is None or top is None:
        return None
    try:
        scale = max(0, -Decimal(str(step)).normalize().as_tuple().exponent)  # type: ignore[operator]
        whole = round(math.log10(float(top)))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return whole + scale, scale


@dataclass(frozen=True, slots=True)
class Logical:
    """What a column holds, independent of any database. Targets map it to their own SQL type.

    kind: boolean | integer | decimal | number | string | date-time | date | time | json
    """

    kind: str
    nullable: bool = True
    precision: int | None = None
    scale: int | None = None
    max_length: int | None = None


INT64_MAX = 2**63 - 1


def logical_type(prop: dict[str, Any]) -> Logical:
    """Map one JSON Schema property onto a logical column type, choosing the type that holds
    every value the schema admits: a union of unrelated kinds becomes a string or JSON."""
    kinds = property_types(prop)
    nullable = not kinds or "null" in kinds
    real = [k for k in kinds if k != "null"]
    if not real:
        return Logical("json" if not kinds else "string", True)
    if set(real) <= {"integer", "number"}:
        if real == ["integer"]:
            top = prop.get("maximum")
            bottom = prop.get("minimum")
            big = (isinstance(top, (int, float, Decimal)) and top > INT64_MAX) or (
                isinstance(bottom, (int, float, Decimal)) and bottom < -INT64_MAX - 1
            )
            if big:
                return Logical(
                    "decimal",
                    nullable,
                    precision=38 if top is None else max(20, len(str(int(top)))),
                    scale=0,
                )
            return Logical("integer", nullable)
        spec = decimal_spec(prop)
        if spec:
            return Logical("decimal", nullable, precision=spec[0], scale=spec[1])
        return Logical("number", nullable)
    if len(real) > 1:
        if set(real) & {"object", "array"}:
            return Logical("json", nullable)
        return Logical("string", nullable)
    kind = real[0]
    if kind == "boolean":
        return Logical("boolean", nullable)
    if kind in ("object", "array"):
        return Logical("json", nullable)
    fmt = property_format(prop)
    if fmt in ("date-time", "date", "time"):
        return Logical(fmt, nullable)
    length = prop.get("maxLength")
    return Logical("string", nullable, max_length=length if isinstance(length, int) else None)


# ----------------------------------------------------------------------------- record checks

Check = Callable[[Any], str | None]  # returns a problem, or None when the value is fine


def _is_int(v: Any) -> bool:
    if isinstance(v, int):
        return not isinstance(v, bool)
    if isinstance(v, float):
        return v.is_integer()
    return isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value()


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, Decimal)):
        return not isinstance(v, Decimal) or v.is_finite()
    return isinstance(v, float) and math.isfinite(v)


# The one rule for a date-time, the same on every path (the record check, the targets' SQL and csv
# reads): RFC 3339's date-time (JSON Schema's `format: date-time`) as our taps and singer-sdk's
# write it (`datetime.isoformat`), with the leeway every target reads alike and tapwell has taken
# so far: a space for the `T` (RFC 3339 5.6 allows it), the seconds or the offset left out (a
# naive time is UTC), a bare date (midnight), an offset with seconds (an LMT zone, +00:19:32) and
# any number of fraction digits (cut to 6, see cut_fraction). Python's fromisoformat reads much
# more (a trailing NUL, `.Z`, `,5`, `T00`, `T0000`, `+0530`, `+05`, `00:00 Z`, junk after a 7th
# fraction digit) which the targets' casts read otherwise or not at all: refused here.
# target-duckdb's raw.DATETIME is this with at most 6 fraction digits, files.LONG_DATETIME this.
DATETIME_RULE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?)?"
)
# A time (`format: time`): RFC 3339's partial-time or full-time, with the same leeway.
TIME_RULE = re.compile(
    r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?"
)


def parse_datetime(value: str) -> datetime:
    """A date-time by DATETIME_RULE, read by fromisoformat (which checks the ranges: month 13,
    February 30, hour 24 are refused); anything else is a ValueError."""
    if not DATETIME_RULE.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    return datetime.fromisoformat(value)


def parse_date(value: str) -> date:
    """A date as `YYYY-MM-DD` only (Python also reads `2024-W01-1`, `2024-001`, `20240101`)."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError(f"{value!r} is not an ISO 8601 calendar date")
    return date.fromisoformat(value)


def parse_time(value: str) -> time:
    """A time by TIME_RULE, read by time.fromisoformat; anything else is a ValueError."""
    if not TIME_RULE.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 time")
    return time.fromisoformat(value)


_FORMAT_PARSERS: dict[str, Callable[[str], Any]] = {
    "date-time": parse_datetime,
    "date": parse_date,
    "time": parse_time,
}


def format_parser(prop: dict[str, Any]) -> Callable[[str], Any] | None:
    """The reader of a string property's `format` (parse_datetime, parse_date, parse_time), or
    None when the property admits no string or has no format tapwell reads."""
    if "string" not in property_types(prop):
        return None
    return _FORMAT_PARSERS.get(property_format(prop) or "")


# The generated check's inline form of a format parser: (a test of `{x}`'s shape, the C parser it
# guards). When the test passes, the parser alone decides, and its yes is the rule's
# (parse_datetime, parse_date): no Python call and no regular expression per value (the rule's
# regex costs 4x the parser). Any other value goes through the full check (the rule), then the
# cut. The test passes only forms with at most 6 fraction digits, so they need no cut guard: on
# isoformat's forms it costs less than the lenient test and guard it replaced.
#
# Why the parser's yes is then the rule's: fromisoformat (Python 3.11+, C) reads the digits it
# expects by position and refuses anything else there, but it decides the shape itself: the date
# and time separators, where the fraction ends and the offset begins (the first `Z`, `+` or `-`
# after the date), and it reads a C string (stops at a NUL). So the test fixes every separator:
# - without a fraction, v[4::3] (the characters at 4, 7, 10, 13, ...) are all separators
#   (`2024-05-01T12:00:00+00:00` gives `--T::+:`) and the length is the form's (shape);
# - with one, v[4:20:3] is `--T::.` and the value ends in `Z` or `+HH:MM` (v[-6::3] is `+:`) a
#   length that leaves 1 to 6 digits for the fraction (isoformat's 6 first, v[26::3]): the
#   offset can begin nowhere before (a `+` or `Z` the parser reads as part of an offset refuses
#   it), so the fraction is the digits the parser reads; a naive one is digits and nothing else
#   (the parser reads `.1+0200` as an offset);
# - no NUL: `...T12:Z\x00...` would end the text at the `Z` for the parser.
# Longer fractions and an offset with seconds after a fraction go the full check's way.
# test_datetime_rule fuzzes this against the rule.
_INLINE_PARSERS: dict[Any, tuple[str, Callable[[str], Any]]] = {
    parse_datetime: (
        "({x}[4:20:3] in {fraction} and ({x}[26::3] in {zone} "
        "or {x}[-1] == 'Z' and 21 < len({x}) < 28 "
        "or {x}[-6::3] in {offset} and 26 < len({x}) < 33 "
        "or len({x}) < 27 and {x}[20:].isdigit()) "
        "or {shape}.get({x}[4::3]) == len({x})) and '\\x00' not in {x}",
        datetime.fromisoformat,
    ),
    parse_date: ("len({x}) == 10 and {x}[4:8:3] == '--'", date.fromisoformat),
}


def _shapes() -> dict[str, int]:
    """v[4::3] of each DATETIME_RULE form without a fraction, for its T and its space: its
    length."""
    times = {":": 16, "::": 19}  # HH:MM, HH:MM:SS: the separators at 13 and 16
    offsets = {"": 0, "Z": 1, "+:": 6, "-:": 6, "+::": 9, "-::": 9}  # none, Z, +HH:MM, +HH:MM:SS
    out = {"--": 10}
    for sep in "T ":
        for t, end in times.items():
            out.update({f"--{sep}{t}{o}": end + size for o, size in offsets.items()})
    return out


_INLINE_CONSTANTS: dict[str, Any] = {
    "shape": _shapes(),
    "fraction": frozenset({"--T::.", "-- ::."}),  # v[4:20:3] of a date-time with a fraction
    "zone": frozenset({"Z", "+:", "-:"}),  # v[26::3] after 6 fraction digits
    "offset": frozenset({"+:", "-:"}),  # v[-6::3] of a value ending in +HH:MM
}


def inline_parser(
    parse: Any, x: str, bind: Callable[[str, Any], str]
) -> tuple[str, Callable[[str], Any]] | None:
    """The inline form of format parser `parse` for the value in variable `x` (see
    _INLINE_PARSERS): (the test's source, the C parser), or None when it has none. `bind(key,
    value)` puts a constant the test uses into the generated function's scope and names it."""
    found = _INLINE_PARSERS.get(parse)
    if found is None:
        return None
    test, c_parser = found
    names = {
        key: bind(key, value) for key, value in _INLINE_CONSTANTS.items() if f"{{{key}}}" in test
    }
    return test.format(x=x, **names), c_parser


# ----------------------------------------------------------------------------- fraction digits

# A date-time or time may carry more fraction digits than a column holds (.NET and SQL Server
# write 7, Java and Go up to 9; every target column holds microseconds). Python reads them
# (dropping the extra digits), PostgreSQL rounds them (`23:59:59.9999999` into the next day), so
# every target cuts the text to 6 digits before it loads it, and says so once per stream and field.
# The test per value is on the text's shape, no regex: the 7th fraction digit of an extended
# time sits at a fixed place; any other time form (basic `T235959.1234567`, a leading `T`) is
# looked at whole. `'' in ':'` holds, so a value too short to have a time is not.
CUT_GUARDS: dict[Any, tuple[str, int]] = {  # parser -> (test of `v`, where its time begins)
    parse_datetime: ("v[26:27].isdigit() or v[13:14] not in ':'", 10),
    parse_time: ("v[15:16].isdigit() or v[2:3] not in ':'", 0),
}


def cut_fraction(text: str, start: int = 0) -> str | None:
    """`text` with the first fraction of a second after `start` cut to 6 digits (truncated, never
    rounded: the instant moves by less than a microsecond and never into the next second), or
    None when it has at most 6. Python reads `.` and `,` as the separator; kept as written."""
    dot, comma = text.find(".", start), text.find(",", start)
    if dot < 0 or 0 <= comma < dot:
        dot = comma
    if dot < 0:
        return None
    end = dot + 1
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    if end - dot <= 7:
        return None
    return text[: dot + 7] + text[end:]


def _stderr_warning(text: str) -> None:
    sys.stderr.write(f"WARNING {text}\n")


class FractionNotes:
    """Values cut to the microsecond (see cut_fraction), said once per stream and field per run:
    one line naming the first input line, the value as it came and as it is kept. A target's
    loop points `say` at its logger."""

    def __init__(
        self,
        say: Callable[[str], None] = _stderr_warning,
        source: str = "stdin",
        done: str = "stored",
    ) -> None:
        self.say = say
        self.source = source
        self.done = done  # what becomes of the value: stored (a target), sent (a tap)
        self.said: set[tuple[str, str]] = set()

    def cut(
        self,
        text: str,
        start: int,
        stream: str,
        field: str,
        line: int | None,
        key: str = "",
        where: Callable[[], str] | None = None,
    ) -> str:
        """`text` cut to 6 fraction digits (itself when it has at most 6); `key` is the field
        as said once (`items[].at` for every `items[n].at`), `field` by default; `where()`
        names the place (a BATCH file's row) when the input line alone does not."""
        kept = cut_fraction(text, start)
        if kept is None:
            return text
        if (stream, key or field) not in self.said:
            self.said.add((stream, key or field))
            if line is None and where is not None:
                where_ = where()
            else:
                where_ = self.source if line is None else f"{self.source} line {line}"
                where_ += f" ({where()})" if where is not None else ""
            digits = len(text) - len(kept) + 6
            self.say(
                f"{where_}, stream {stream!r}, field {field!r}: {text!r} has {digits} fraction "
                f"digits; {self.done} to the microsecond ({kept!r}), as is every later value with "
                "more than 6 fraction digits in this field"
            )
        return kept


FRACTIONS = FractionNotes()  # the process's (a target process is one run)


def exact_step(step: Any) -> Decimal | None:
    """`multipleOf`'s value as an exact Decimal, or None when it is not a positive number."""
    try:
        exact = Decimal(str(step))
    except (InvalidOperation, ValueError):
        return None
    if isinstance(step, bool) or not exact.is_finite() or exact <= 0:
        return None
    return exact


def number_step(prop: dict[str, Any]) -> Any:
    """The step a number property's values must be multiples of: `multipleOf`, or 10^-s for a
    number with `x-scale` s and no `multipleOf` (our taps' spelling of a DECIMAL(p,s) past
    singer-sdk's 28 digits): a value with more digits after the point than the column keeps is
    refused, not rounded by the target's cast. None when the schema gives neither."""
    if "multipleOf" in prop:
        return prop["multipleOf"]
    scale = prop.get("x-scale")
    if type(scale) is int and scale >= 0 and "number" in property_types(prop):
        return Decimal(1).scaleb(-scale)
    return None


def step_problem(prop: dict[str, Any], value: Any) -> str:
    """What is wrong with `value`, which is no multiple of number_step(prop)."""
    if "multipleOf" in prop:
        return f"{value} is not a multiple of {prop['multipleOf']} (the schema's multipleOf)"
    scale = prop["x-scale"]
    return f"{value} has more than {scale} digits after the point (the schema's x-scale {scale})"


def normalized(number: Decimal) -> Decimal:
    """`number` without its fraction's trailing zeros (Decimal.normalize), never rounded:
    normalize() rounds to the context's 28 digits, so 12345678901234567890.123456789 lost its
    last place (two keys of 29 digits became one; a column's scale came out one short)."""
    return number.normalize(Context(prec=max(len(number.as_tuple().digits), 1)))


def ten_to_minus(step: Any) -> int | None:
    """s when `step` (a multipleOf, or number_step's) is 10^-s with s >= 0, as a DECIMAL's scale
    is; None for any other step."""
    exact = exact_step(step)
    if exact is None:
        return None
    shape = exact.normalize().as_tuple()
    if shape.digits != (1,) or not isinstance(shape.exponent, int) or shape.exponent > 0:
        return None
    return -shape.exponent


def multiple_of(step: Any) -> Callable[[Any], bool] | None:
    """An exact test of `multipleOf: step` for a number (int, float read from JSON text, or
    Decimal), never through float arithmetic: 1239008.43 is a multiple of 0.01, 1.005 is not.
    None when `step` is not a positive number (the schema's own problem, left to jsonschema)."""
    exact = exact_step(step)
    if exact is None:
        return None
    shape = exact.normalize().as_tuple()
    if shape.digits == (1,) and isinstance(shape.exponent, int):  # 10^e, as decimals are
        e = shape.exponent
        unit = 10**e if e > 0 else 1
        scale = 10.0**-e

        def power_of_ten(v: Any) -> bool:
            if type(v) is float:
                return float_on_step(v, scale)
            if type(v) is int:
                return v % unit == 0
            return not isinstance(v, Decimal) or _exponent(v) >= e

        setattr(power_of_ten, "scale", scale)  # noqa: B010 - for CheckCode's inline test
        return power_of_ten
    ratio = Fraction(exact)

    def any_step(v: Any) -> bool:
        x = Decimal(repr(v)) if type(v) is float else Decimal(v) if type(v) is int else v
        if not isinstance(x, Decimal) or abs(x.adjusted()) > 4300:
            return False  # too large to test exactly in reasonable time: refused
        return (Fraction(x) / ratio).denominator == 1

    return any_step


def text_off_step(test: Callable[[Any], bool], text: str) -> bool:
    """Whether a csv field's `text` is a finite number that `test` (multiple_of's) refuses; a
    text that is no number is not judged here (the loader's own checks refuse it)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return False
    return value.is_finite() and not test(value)


# A float is read only from a JSON number of at most 15 significant digits (longer ones are
# Decimals, see tapwell.singer.wire), N / 10^d with N < 10^15. Times 10^s it is an integer when d <= s;
# when d > s it is at least 10^-(d-s) away from one, while |v * 10^s| < 10^(15-(d-s)): float
# error (< 3.4e-16 relative) stays below the tolerance and the tolerance below that distance.
# So this is exact on such floats, and it costs a multiplication instead of round(v, s).
FLOAT_ON_STEP = "abs((k := v * {scale}) - round(k)) <= abs(k) * 4e-16"


def float_on_step(v: float, scale: float) -> bool:
    """Whether float `v` (read from JSON text) times `scale` (10^s) is an integer."""
    k = v * scale
    return abs(k - round(k)) <= abs(k) * 4e-16


def _exponent(value: Decimal) -> int:
    """The exponent of `value`'s last non-zero digit (0 has every exponent)."""
    shape = value.as_tuple()
    if not isinstance(shape.exponent, int) or not any(shape.digits):
        return 10**9
    digits = "".join(map(str, shape.digits))
    return shape.exponent + len(digits) - len(digits.rstrip("0"))


def _check_for(prop: dict[str, Any]) -> Check | None:
    kinds = set(property_types(prop))
    if not kinds or kinds >= {"boolean", "integer", "number", "string", "object", "array"}:
        return None
    nullable = "null" in kinds
    tests: list[Callable[[Any], bool]] = []
    if "integer" in kinds and "number" not in kinds:
        tests.append(_is_int)
    if "number" in kinds:
        tests.append(_is_number)
    if "boolean" in kinds:
        tests.append(lambda v: isinstance(v, bool))
    if "object" in kinds:
        tests.append(lambda v: isinstance(v, dict))
    if "array" in kinds:
        tests.append(lambda v: isinstance(v, list))
    parse = _FORMAT_PARSERS.get(property_format(prop) or "") if kinds & {"string"} else None
    if "string" in kinds:
        tests.append(lambda v: isinstance(v, str))
    expected = " or ".join(sorted(kinds - {"null"})) or "null"
    if parse is not None:
        expected = f"{property_format(prop)} string"
    step = number_step(prop)
    multiple = multiple_of(step) if step is not None else None

    def check(value: Any) -> str | None:
        if value is None:
            return None if nullable else "is null but the schema does not allow null"
        for test in tests:
            if test(value):
                if parse is not None and isinstance(value, str):
                    try:
                        parse(value)
                    except ValueError:
                        return f"{value!r} is not a valid {expected}"
                if multiple is not None and _is_number(value) and not multiple(value):
                    return step_problem(prop, value)
                return None
        return f"{shown(value)} is not {expected}"

    return check


def shown(value: Any) -> str:
    """A refused value as the error line shows it: a number as JSON writes it (`1.50`, not
    `Decimal('1.50')`: the user wrote JSON), anything else as Python's repr, cut at 60."""
    if isinstance(value, Decimal):  # wire.JsonNumber keeps the source's text
        text = getattr(value, "text", None) or str(value)
    else:
        text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


_EXACT_TYPES: dict[str, frozenset[type]] = {
    "integer": frozenset({int}),
    "number": frozenset({int, float, Decimal}),
    "string": frozenset({str}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}


def value_check(prop: dict[str, Any]) -> Check | None:
    """The check of one value against property schema `prop` (a problem, or None when the value
    is fine), as a record check makes it of each field; None when `prop` admits anything."""
    return _check_for(prop)


def fast_types(prop: dict[str, Any]) -> frozenset[type]:
    """See _fast_types (for a check generated elsewhere, e.g. of values inside documents)."""
    return _fast_types(prop)


def _fast_types(prop: dict[str, Any]) -> frozenset[type]:
    """Python types that are certainly valid for a property (type(v) in this set), so the common
    case costs one set look-up; anything else goes through the full check."""
    out: set[type] = set()
    for kind in property_types(prop):
        out |= _EXACT_TYPES.get(kind, frozenset())
    if "number" in property_types(prop):
        out.discard(float)  # NaN and infinity are not JSON numbers: check floats fully
    return frozenset(out)


def compile_checker(
    stream: str, schema: dict[str, Any], key_properties: list[str] | None = None
) -> Callable[[dict[str, Any], int | None], None]:
    """A function that raises ProtocolError (with stream, line and field) for a record that
    breaks `schema`: wrong type, unparseable date, a required field or key property missing."""
    return check_code(stream, schema, key_properties).compile()


FIX_VALUE = "fix the value at the source, or change the field's type in the SCHEMA"
FIX_KEY = "every record needs its key properties: fix the source, or the SCHEMA's key_properties"
FIX_REQUIRED = "fix the source, or take the field out of the SCHEMA's required"


def with_fix(problem: str) -> str:
    """A record check's problem with what to do about it, for the one error line."""
    if problem.startswith("key property"):
        return f"{problem} ({FIX_KEY})"
    if problem.startswith("required field"):
        return f"{problem} ({FIX_REQUIRED})"
    return f"{problem} ({FIX_VALUE})"


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    fast: frozenset[type]  # types certainly valid (one look-up)
    parse: Any  # the format's parser for strings, or None
    check: Check  # the full check, which names the problem
    nullable: bool
    number: bool
    multiple: Any = None  # multiple_of's test, when the property has a step (number_step)


# Types a branch may name in generated source (builtins, so no look-up through the environment).
_NAMED = {int: "int", float: "float", str: "str", bool: "bool", dict: "dict", list: "list"}

Then = Callable[[type | None], list[str]]


class CheckCode:
    """The record check of one SCHEMA as straight-line source, one block per field, specialised
    once (a loop over the fields cost twice as much per record). The common case for each field
    is a type look-up; anything else goes to the field's full check, which names the problem.

    A target that does its own work per field (encoding a row for its destination) can fuse it
    into the same function with `field_block`, so each value is fetched and its type tested once.
    Names reach the code only as values in the function's environment, never as source text."""

    def __init__(
        self,
        stream: str,
        schema: dict[str, Any],
        keys: list[str],
        notes: FractionNotes = FRACTIONS,
    ) -> None:
        props: dict[str, Any] = schema.get("properties") or {}
        self.fields: list[_Field] = []
        for name, prop in props.items():
            check = _check_for(prop)
            if check is None:
                continue
            kinds = property_types(prop)
            parse = _FORMAT_PARSERS.get(property_format(prop) or "") if "string" in kinds else None
            nullable = not kinds or "null" in kinds
            step = number_step(prop)
            multiple = multiple_of(step) if step is not None else None
            fast = _fast_types(prop) - ({int, Decimal} if multiple else set())
            numeric = bool(set(kinds) & {"number", "integer"})
            self.fields.append(
                _Field(
                    name,
                    fast,
                    parse,
                    check,
                    nullable,
                    "number" in kinds,
                    multiple if numeric else None,
                )
            )
        self.index = {f.name: i for i, f in enumerate(self.fields)}
        required = [name for name in schema.get("required") or [] if name not in keys]
        names = tuple(f.name for f in self.fields)
        checks = tuple(f.check for f in self.fields)

        def fail(problem: str, line: int | None, name: str) -> None:
            raise ProtocolError(with_fix(problem), line=line, stream=stream, field=name)

        def slow(i: int, value: Any, line: int | None) -> None:
            problem = checks[i](value)
            if problem is not None:
                fail(problem, line, names[i])

        self.env: dict[str, Any] = {"fail": fail, "slow": slow}
        self.head: list[str] = []  # key properties, then required fields
        for i, key in enumerate(keys):
            self.env[f"_k{i}"] = key
            self.head += [
                f"if get(_k{i}) is None:",
                f"    fail('key property is missing or null', line, _k{i})",
            ]
        for i, name in enumerate(required):
            self.env[f"_r{i}"] = name
            self.head += [
                f"if _r{i} not in record:",
                f"    fail('required field is missing', line, _r{i})",
            ]
        for i, f in enumerate(self.fields):
            self.env.update({f"_n{i}": f.name, f"_t{i}": f.fast, f"_p{i}": f.parse})
            if f.multiple:
                self.env[f"_m{i}"] = f.multiple
            if f.parse in CUT_GUARDS:
                self.env[f"_c{i}"] = _cutter(stream, f.name, CUT_GUARDS[f.parse][1], notes)
        self.env["_D"] = Decimal

    def _bind(self, key: str, value: Any) -> str:
        self.env[f"_dt_{key}"] = value
        return f"_dt_{key}"

    def field_block(self, i: int, then: Then | None = None) -> list[str]:
        """Source that fetches field `i` into `v` and checks it; `then(t)` gives the lines to run
        once `v` passed: t is type(None) for null, a builtin type when the branch pins `v`'s type,
        None when it does not."""
        f = self.fields[i]
        after: Then = then or (lambda t: [])

        def branch(lines: list[str]) -> list[str]:
            return ["    " + line for line in lines] or ["    pass"]

        out = [f"v = get(_n{i})", "if v is None:"]
        out += branch(
            ([] if f.nullable else [f"if _n{i} in record: slow({i}, v, line)"]) + after(type(None))
        )
        rest = f.fast
        inline = inline_parser(f.parse, "v", self._bind)
        # a date-time or time past microseconds: cut, said once, and the record holds the cut text
        guard = CUT_GUARDS.get(f.parse)
        cut = [f"if {guard[0]}: v = _c{i}(record, v, line)"] if guard else []
        if f.parse is not None and str in f.fast and inline is not None:
            self.env[f"_q{i}"] = inline[1]
            out += [
                "elif type(v) is str:",
                f"    if {inline[0]}:",  # at most 6 fraction digits: no cut
                "        try:",
                f"            _q{i}(v)",
                "        except ValueError:",
                f"            slow({i}, v, line)",
                "    else:",
                f"        slow({i}, v, line)",
                *["        " + line for line in cut],
                *["    " + line for line in after(str)],
            ]
            rest = f.fast - {str}
        elif f.parse is not None and str in f.fast:
            out += [
                "elif type(v) is str:",
                "    try:",
                f"        _p{i}(v)",
                "    except ValueError:",
            ]
            out += [f"        slow({i}, v, line)", *["    " + line for line in cut]]
            out += ["    " + line for line in after(str)]
            rest = f.fast - {str}
        if rest or f.parse is None:
            for t in sorted(rest & _NAMED.keys(), key=_NAMED.__getitem__):
                if after(t) != after(None):
                    out += [f"elif type(v) is {_NAMED[t]}:", *branch(after(t))]
            out += [f"elif type(v) in _t{i}:", *branch(after(None))]
        if f.multiple:  # numbers pass only as exact multiples of multipleOf
            out += [f"elif type(v) is int and _m{i}(v):", *branch(after(int))]
            if f.number:
                out += [f"elif type(v) is _D and _m{i}(v):", *branch(after(None))]
        if f.number:
            scale = getattr(f.multiple, "scale", None)
            if scale is not None:  # multipleOf 10^-s: the test inline, see FLOAT_ON_STEP
                self.env[f"_s{i}"] = scale
                extra = " and " + FLOAT_ON_STEP.format(scale=f"_s{i}")
            else:
                extra = f" and _m{i}(v)" if f.multiple else ""
            out += [f"elif type(v) is float and v - v == 0.0{extra}:  # finite (NaN, inf: NaN)"]
            out += branch(after(float))
        out += ["else:", f"    slow({i}, v, line)", *["    " + line for line in after(None)]]
        return out

    def compile(self) -> Callable[[dict[str, Any], int | None], None]:
        body = ["get = record.get", *self.head]
        for i in range(len(self.fields)):
            body += self.field_block(i)
        checker: Callable[[dict[str, Any], int | None], None] = build_function(
            "check_record", "record, line=None", body, self.env, "schema-check"
        )
        return checker


def check_code(
    stream: str, schema: dict[str, Any], key_properties: list[str] | None = None
) -> CheckCode:
    """The check of `schema`'s records as source, to compile or to fuse with a target's encoding."""
    return CheckCode(stream, schema, list(key_properties or []))


def _cutter(
    stream: str, name: str, start: int, notes: FractionNotes
) -> Callable[[dict[str, Any], str, int | None], str]:
    """The record check's cut of field `name` (see FractionNotes): the record is given the cut
    text too, so a batch kept as dicts, a key, a dedupe, a nested split all see what is stored."""

    def cut(record: dict[str, Any], value: str, line: int | None) -> str:
        kept = notes.cut(value, start, stream, name, line)
        if kept is not value:
            record[name] = kept
        return kept

    return cut
