"""CSV text to typed values, and the inference of column types from a sample.

Values are converted exactly: numbers become Decimal (never float), dates stay dates, date-times
keep their offset (naive ones are read as UTC). In a string column an empty field is the empty
string; only the configured `null_values` mean null there. In typed columns an empty field is null.
A column whose type has no "null" takes no null: an empty field in a typed one, or a null_values
text in any, is refused (`not_null`; sync.no_null_columns), as a value its type cannot read is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from tapwell.singer.codegen import build_function
from tapwell.singer.schema import decimal_spec, property_format, property_types
from tapwell.singer.wire import exact_instant, json_problem, loads

TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}


INT64 = (-(2**63), 2**63 - 1)


def to_int(text: str) -> int:
    """An integer's text: ASCII digits, a sign, blanks around them. Python's int() also reads
    '1_000' as 1000 and Arabic-Indic or full-width digits: a code column of '1_2', '3_4' was
    inferred an integer and loaded as 12, 34."""
    try:
        if text.isascii() and "_" not in text:
            return int(text)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not an integer")


def bounded_int(prop: dict[str, Any]) -> Converter | None:
    """For an integer column whose schema has a `maximum` or `minimum` (tap-csv infers them when
    the sample holds integers past 64 bits, so that targets make a wider column): the converter
    that also refuses a value past them, naming the fix. None when the schema gives no bound."""
    top, bottom = prop.get("maximum"), prop.get("minimum")
    if not isinstance(top, int) and not isinstance(bottom, int):
        return None

    def convert(text: str) -> int:
        value = to_int(text)
        if isinstance(top, int) and value > top:
            raise ValueError(f"{value} is above the column's maximum {top}{_BOUND_FIX}")
        if isinstance(bottom, int) and value < bottom:
            raise ValueError(f"{value} is below the column's minimum {bottom}{_BOUND_FIX}")
        return value

    return convert


_BOUND_FIX = (
    " (inferred from the sample rows, or declared): declare the column in column_types with a "
    'wider maximum and minimum, e.g. {"type": ["null", "integer"], "maximum": '
    '99999999999999999999999999999999999999, "minimum": -99999999999999999999999999999999999999}'
    ", or raise sample_rows (0: all rows)"
)


# A number column's precision is inferred as the narrowest of DuckDB's two decimal widths that
# holds the sample (DECIMAL(18,s) is a 64-bit integer inside, DECIMAL(38,s) a 128-bit one), else
# as wide as the sample needs: room for later rows, at no cost in the targets.
DECIMAL_WIDTHS = (18, 38)
# singer-sdk's validator checks `multipleOf` in Decimal's default 28 digits (DivisionImpossible past).
MULTIPLE_OF_MAX_PRECISION = 28


def digits_of(value: Decimal) -> tuple[int, int]:
    """(digits before the point, digits after it) of a finite decimal as written: 12.50 -> (2, 2),
    0.0001 -> (0, 4), 1E+5 -> (6, 0), 0 -> (0, 0)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 0, max(0, -exponent)
    return max(0, len(digits) + exponent), max(0, -exponent)


def decimal_room(whole: int, scale: int) -> tuple[int, int]:
    """(precision, scale) for values of up to `whole` digits before the point and `scale` after:
    the first of DECIMAL_WIDTHS that holds them, else exactly as many digits as they have."""
    need = whole + scale
    precision = next((w for w in DECIMAL_WIDTHS if need <= w), need)
    return precision, scale


def decimal_schema(precision: int, scale: int) -> dict[str, Any]:
    """DECIMAL(p,s) as tap-mysql and tap-postgres write it, which every target here and singer-sdk's
    validator read: draft 7's numeric `exclusiveMaximum`/`exclusiveMinimum` of 10^(p-s) (left out
    past a double's range), `multipleOf` 10^-s only up to 28 digits, and `x-precision`/`x-scale`,
    which our targets read first."""
    out: dict[str, Any] = {"type": ["null", "number"]}
    if precision <= MULTIPLE_OF_MAX_PRECISION:
        out["multipleOf"] = 1 if scale == 0 else float(f"1e-{scale}")
    whole = precision - scale
    if whole <= 308:
        top: int | float = 10**whole if whole < 19 else float(10**whole)
        out |= {"exclusiveMaximum": top, "exclusiveMinimum": -top}
    out |= {"x-precision": precision, "x-scale": scale}
    return out


def fits(value: Decimal, whole: int, scale: int) -> bool:
    """Whether a finite decimal has at most `whole` digits before the point and `scale` after,
    zeros at the end of its fraction not counted (1.500 fits a scale of 2: the same number)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    cut = -exponent - scale  # fraction digits past the scale: zeros only
    if cut > 0:
        if any(digits[-cut:]):
            return False
        digits, exponent = digits[:-cut], -scale
    return not any(digits) or len(digits) + exponent <= whole


def bounded_decimal(prop: dict[str, Any]) -> Converter | None:
    """For a number column whose schema gives a precision and scale (tap-csv infers them from the
    sample; declared: `x-precision`/`x-scale`, or singer-io's `multipleOf` and `maximum`, as the
    targets read them to make DECIMAL(p,s)): the converter that also refuses a value with more
    digits than the column holds, naming the fix. None when the schema gives no precision."""
    room = column_digits(prop)
    if room is None:
        return None
    whole, scale = room

    def convert(text: str) -> Decimal:
        value = to_decimal(text)
        if not fits(value, whole, scale):
            raise ValueError(_too_many_digits(text, value, whole + scale, scale))
        return value

    return convert


def column_digits(prop: dict[str, Any]) -> tuple[int, int] | None:
    """(digits before the point, digits after it) a number column holds, as the targets read its
    schema's precision and scale (decimal_spec); None when it gives none (any number)."""
    if "integer" in property_types(prop):
        return None  # an integer's bounds are its maximum and minimum (bounded_int)
    try:
        spec = decimal_spec(prop)
    except (ArithmeticError, ValueError, TypeError):
        return None
    if spec is None or not 0 <= spec[1] <= spec[0]:
        return None
    return spec[0] - spec[1], spec[1]


def _too_many_digits(text: str, value: Decimal, precision: int, scale: int) -> str:
    got_whole, got_scale = digits_of(value)
    if got_whole > precision - scale:
        problem = f"{got_whole} digits before the point, past the column's {precision - scale}"
    else:
        problem = f"{got_scale} digits after the point, past the column's {scale}"
    room = decimal_room(max(got_whole, precision - scale), max(got_scale, scale))
    return (
        f"{text!r} has {problem} (DECIMAL({precision},{scale}), as declared: an inferred column "
        "is widened instead): declare the column in column_types with room for it, e.g. "
        f'{{"type": ["null", "number"], "x-precision": {room[0]}, "x-scale": {room[1]}}}'
    )


def with_bounds(prop: dict[str, Any], convert: Converter) -> Converter:
    """`convert`, or for an integer or number column whose schema bounds it, the converter that
    also refuses a value past the bounds (bounded_int, bounded_decimal)."""
    if convert is to_int:
        return bounded_int(prop) or convert
    if convert is to_decimal:
        return bounded_decimal(prop) or convert
    return convert


def to_decimal(text: str) -> Decimal:
    """A number's exact value; its text ASCII without '_', as to_int's."""
    try:
        if not text.isascii() or "_" in text:
            raise InvalidOperation
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


def to_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean")


def to_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(_not_a(text, "date (YYYY-MM-DD)", exc)) from None


def _not_a(text: str, kind: str, exc: ValueError) -> str:
    """`'2024-02-30' is not a date (YYYY-MM-DD), day is out of range for month`: with Python's
    reason when it says more than that the text is not ISO 8601."""
    reason = str(exc)
    if reason.startswith("Invalid isoformat"):
        return f"{text!r} is not a {kind}"
    return f"{text!r} is not a {kind}, {reason}"


def to_document(text: str) -> Any:
    """A JSON document (an object or array column) with every number exact: never a float."""
    try:
        return loads(text)
    except ValueError as exc:
        raise ValueError(f"{_short(text)} is not a JSON document ({json_problem(exc)})") from None


_KIND = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    Decimal: "number",
    type(None): "null",
}
_A = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}


def document_kinds(prop: dict[str, Any]) -> frozenset[str] | None:
    """The JSON kinds an object/array column's documents may be (None: any)."""
    kinds = set(property_types(prop))
    if "number" in kinds:
        kinds.add("integer")
    return frozenset(kinds) or None


def document_types(prop: dict[str, Any]) -> frozenset[type] | None:
    """The Python types (as tapwell.singer.wire.loads reads them) of the documents an
    object/array column takes (None: any)."""
    kinds = document_kinds(prop)
    return None if kinds is None else frozenset(t for t, k in _KIND.items() if k in kinds)


def fitted(value: Any, text: str, kinds: frozenset[str] | None) -> Any:
    """A document's value, when its kind is one its column's type names: `[1, 2]` in an object
    column would break the stream's own schema (target-duckdb refuses the RECORD, its csv lane
    took the text)."""
    kind = _KIND.get(type(value))
    if kinds is not None and kind not in kinds:
        want = " or ".join(_A[k] for k in sorted(kinds - {"null", "integer"} or kinds))
        raise ValueError(f"{_short(text)} is {_A.get(kind or '', 'a JSON value')}, not {want}")
    return value


def _short(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57]) + "..."


def one_line(text: str) -> str:
    """A valid JSON document's text as written, its line breaks (whitespace between tokens: JSON
    strings cannot hold them raw) turned into spaces so that it fits in a Singer line."""
    if "\n" in text or "\r" in text:
        return text.replace("\r", " ").replace("\n", " ")
    return text


def to_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(_not_a(text, "date-time (ISO 8601)", exc)) from None
    return exact_instant(value) if value.tzinfo else value.replace(tzinfo=UTC)


Converter = Callable[[str], Any]

# Tried in this order; the first kind every non-empty sample value parses as wins.
INFERENCE: list[tuple[dict[str, Any], Converter]] = [
    ({"type": ["null", "integer"]}, to_int),
    ({"type": ["null", "number"]}, to_decimal),
    ({"type": ["null", "boolean"]}, to_bool),
    ({"type": ["null", "string"], "format": "date"}, to_date),
    ({"type": ["null", "string"], "format": "date-time"}, to_datetime),
]


# A number written with a zero before another digit (`007`, `02134`, `-01.5`) is a code (a zip
# code, a product number): read as a number it would lose its zeros, and `02134` and `2134` would
# become one value (one row replacing another when the column is a key).
_LEADING_ZERO = re.compile(r"\s*[+-]?0[0-9]")


def infer_property(samples: list[str]) -> dict[str, Any]:
    """The narrowest JSON Schema property every sample value fits; string when nothing narrower
    does (or when there is nothing to go on). A column holding a code with leading zeros is a
    string (see _LEADING_ZERO)."""
    values = [v for v in samples if v != ""]
    if values:
        codes = any(map(_LEADING_ZERO.match, values))
        for prop, convert in INFERENCE:
            if codes and convert in (to_int, to_decimal):
                continue
            if prop.get("format") == "date" and any(len(v.strip()) != 10 for v in values):
                continue
            try:
                converted = [convert(v) for v in values]
            except (ValueError, TypeError):
                continue
            if convert is to_int:
                return _with_range(dict(prop), converted)
            if convert is to_decimal:
                return _with_digits(converted)
            return dict(prop)
    return {"type": ["null", "string"]}


def _with_range(prop: dict[str, Any], values: list[int]) -> dict[str, Any]:
    """An integer column's property with the sample's maximum (minimum) when past 64 bits: what
    targets read to make a column wider than BIGINT (HUGEINT, NUMERIC)."""
    top, bottom = max(values), min(values)
    if top > INT64[1]:
        prop["maximum"] = top
    if bottom < INT64[0]:
        prop["minimum"] = bottom
    return prop


def _with_digits(values: list[Decimal]) -> dict[str, Any]:
    """A number column's property with the precision and scale the sample needs (decimal_room):
    what targets read to make DECIMAL(p,s) rather than a DOUBLE, which would round a value's
    digits. The scale is the most digits after the point the sample wrote (12.50: 2)."""
    whole = scale = 0
    for value in values:
        w, s = digits_of(value)
        whole, scale = max(whole, w), max(scale, s)
    return decimal_schema(*decimal_room(whole, scale))


def not_null(prop: dict[str, Any]) -> bool:
    """Whether a column's type says it takes no null (a type without "null"; untyped: any)."""
    kinds = property_types(prop)
    return bool(kinds) and "null" not in kinds


def _no_null(text: str) -> Any:
    """In the compiled row of a column that takes no null: its null text refused (the caller
    names it, sync.name_bad_value)."""
    raise ValueError(f"{text!r} is null in a column that takes no null")


def converter_for(prop: dict[str, Any]) -> tuple[Converter | None, bool]:
    """(convert, is_string): convert is None for plain strings, which pass through unchanged."""
    kinds = set(property_types(prop)) - {"null"}
    fmt = property_format(prop)
    if kinds == {"integer"}:
        return to_int, False
    if kinds <= {"integer", "number"} and kinds:
        return to_decimal, False
    if kinds == {"boolean"}:
        return to_bool, False
    if "string" in kinds and fmt == "date":
        return to_date, False
    if "string" in kinds and fmt == "date-time":
        return to_datetime, False
    if kinds & {"object", "array"}:
        return to_document, False
    return None, True


# Every spelling `to_bool` takes, looked up as it is (no strip, no lower) on the hot path.
_BOOLS = {
    s: value
    for value, words in ((True, TRUE), (False, FALSE))
    for w in words
    for s in (w, w.upper(), w.capitalize())
}


def _json_decimal(text: str) -> Any:
    """A number column's value on the wire: the exact decimal as a JSON number fragment (what
    the writer would make of the Decimal, without a call back per value)."""
    return orjson.Fragment(str(to_decimal(text)))


def _json_document(text: str, kinds: frozenset[str] | None) -> Any:
    """An object/array column's value on the wire: the document's own text once it parses as
    a kind the column takes (every digit kept, nothing re-spelled), on one line."""
    fitted(loads(text), text, kinds)
    return orjson.Fragment(one_line(text).encode())


def _document(text: str, kinds: frozenset[str] | None) -> Any:
    return fitted(to_document(text), text, kinds)


def _datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return to_datetime(text)  # surrounding spaces, or the error to_datetime names
    # an offset with seconds (+00:19:32) in UTC: orjson would write it without them
    return exact_instant(value) if value.tzinfo else value.replace(tzinfo=UTC)


def _typed(prop: dict[str, Any], native: bool) -> str | None:
    """The expression converting text `t` of a column with `prop` (None: a plain string).
    `native`: the value must be a Python value (the replication key is compared in the tap)."""
    convert, is_string = converter_for(prop)
    if is_string:
        return None
    if convert is to_int:
        return "_int(t)"
    if convert is to_decimal:
        return "_dec(t)" if native else "_jdec(t)"
    if convert is to_bool:
        return "_tb(t) if (b := _bools.get(t)) is None else b"
    if convert is to_datetime:
        return "_dt(t)"
    if convert is to_date:
        return "_date(t)"
    return "_loads(t)" if native else "_doc(t)"


def compile_row(
    columns: list[tuple[int, str, dict[str, Any]]],
    nulls: frozenset[str],
    native: set[str],
    no_null: frozenset[str] = frozenset(),
) -> Callable[[list[str]], dict[str, Any]]:
    """One function per stream turning a CSV row into its record: for each selected column
    (index in the row, name, JSON Schema property) the converter chosen once, no call at all for
    a plain string column. Raises ValueError for a value that does not convert, or that is null
    in a column of `no_null` (whose type takes none); the caller names the column
    (sync.name_bad_value)."""
    env: dict[str, Any] = {
        "_nulls": nulls,
        "_int": to_int,
        "_dec": to_decimal,
        "_jdec": _json_decimal,
        "_frag": orjson.Fragment,
        "_tb": to_bool,
        "_bools": _BOOLS,
        "_dt": _datetime,
        "_date": to_date,
        "_loads": _document,
        "_doc": _json_document,
        "_no_null": _no_null,
    }
    body: list[str] = []
    items: list[str] = []
    for j, (i, name, prop) in enumerate(columns):
        env[f"_n{j}"] = name
        expr = _typed(prop, name in native)
        if expr == "_int(t)" and (bounded := bounded_int(prop)) is not None:
            env[f"_b{j}"], expr = bounded, f"_b{j}(t)"
        if expr in ("_dec(t)", "_jdec(t)") and (bounded := bounded_decimal(prop)) is not None:
            env[f"_b{j}"] = bounded
            expr = f"_b{j}(t)" if expr == "_dec(t)" else f"_frag(str(_b{j}(t)))"
        if expr in ("_loads(t)", "_doc(t)"):  # a document: of a kind its type names
            env[f"_k{j}"], expr = document_kinds(prop), f"{expr[:-1]}, _k{j})"
        body.append(f"t = row[{i}]")
        null = "_no_null(t)" if name in no_null else "None"
        if expr is None:  # a string: only null_values mean null
            body.append(f"c{j} = {null} if t in _nulls else t" if nulls else f"c{j} = t")
        else:
            body.append(f"c{j} = {null} if t == '' or t in _nulls else {expr}")
        items.append(f"_n{j}: c{j}")
    body.append("return {" + ", ".join(items) + "}")
    convert: Callable[[list[str]], dict[str, Any]] = build_function("convert_row", "row", body, env)
    return convert
