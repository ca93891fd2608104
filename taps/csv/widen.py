"""An inferred column widened mid-stream: its type was read from the sample rows, and a later value
does not fit it. Rather than change the value (`007` read as 7) or stop the sync, the tap sends a
new SCHEMA with the type the value needs before the rows that hold it, says so in one line on
stderr, and goes on:

- a number with more digits than an inferred DECIMAL(p,s): the DECIMAL that holds both;
- in an integer column, a number that is no 64-bit integer (`1.5`, `1e3`, twenty digits) or past
  the bounds the sample gave: the DECIMAL that holds it and every integer the column held;
- in an integer or number column, a code written with a leading zero (`007`, `-01`, `02.5`), which
  a number would drop; in any inferred column (number, boolean, date, date-time), a text of
  another kind: a string, each later value as written.

A column widened to a string keeps an empty field null, as its rows before did (a string column
inferred from the sample takes it as ''): the same text is the same value in every row. Declared
types (`schema`, `column_types`, a type the catalog changes) are the user's contract and keep refusing, as does the
replication key past a number (its bookmark is compared with the values).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tapwell.sdk.tap import SyncContext
from tapwell.singer.errors import SyncError
from tapwell.singer.number_steps import normalized
from tapwell.singer.schema import property_format

from .lines import BadRow, Rendered, Renderer
from .types import (
    INT64,
    column_digits,
    converter_for,
    decimal_schema,
    digits_of,
    fits,
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_int,
)

__all__ = ["Props", "widening"]

PlanLike = Any  # a sync._LinePlan: its stream, path and rows done (the file's data rows before)
Noting = Callable[[PlanLike, str, dict[str, Any], Renderer], Renderer]

STRING: dict[str, Any] = {"type": ["null", "string"]}
_INFERRED = (to_int, to_decimal, to_bool, to_date, to_datetime)
# A number written with a zero before another digit: a code (types._LEADING_ZERO), in a column's
# texts joined by newlines.
_CODE = re.compile(r"(?:^|\n)\s*[+-]?0[0-9]")
_ONE_CODE = re.compile(r"\s*[+-]?0[0-9]")
_INT64_DIGITS = len(str(INT64[1]))  # 19: what a 64-bit integer column held


class Props(dict[str, Any]):
    """A stream's properties as the sync widens them, and the columns widened from a typed one to
    a string (`empty_null`: an empty field stays null there, in this file and the next)."""

    def __init__(self, props: dict[str, Any]) -> None:
        super().__init__(props)
        self.empty_null: set[str] = set()


class LeadingZeroKey(SyncError):
    """A code with a leading zero in an inferred integer replication key: bad input (exit 65)."""

    exit_code = 65


def widening(
    plan: PlanLike,
    sc: Any,
    ctx: SyncContext,
    props: dict[str, Any],
    name: str,
    make: Callable[..., Renderer],
    noting: Noting,
) -> Renderer:
    """Column `name`'s renderer (`make` of its property, wrapped by `noting`); for a column whose
    type was inferred (not declared), one that widens it when a chunk holds a value the type would
    refuse or change: a new SCHEMA (ctx.resend_schema) before the chunk's rows, `props` updated,
    and the chunk rendered again. The fast path pays one try per chunk, and for an integer or
    number column a look for leading zeros when the column was not sent as written."""
    prop = props.get(name, {})
    typed_nulls = frozenset(sc.null_values) | {""}
    if name in getattr(props, "empty_null", ()):
        return make(prop, nulls=typed_nulls)  # a string column widened in an earlier file
    render = noting(plan, name, prop, make(prop))
    declared = sc.schema is not None or name in sc.column_types or name in sc.catalog_typed
    if declared or ctx.resend_schema is None or converter_for(prop)[0] not in _INFERRED:
        return render
    if converter_for(prop)[0] is to_decimal and column_digits(prop) is None:
        return render  # any number already
    key = name == plan.rkey
    current = [render]
    check = [_overflow_check(prop, typed_nulls)]

    def widen(col: Sequence[str]) -> Rendered:
        try:
            out = current[0](col)
            first = None if check[0] is None else check[0](col, out[0])
            if first is None:
                return out
        except BadRow as bad:
            first = bad.index
        was = props[name]
        new = wider(was, col, typed_nulls)
        if new is not None and converter_for(new)[1]:  # from the first value a string keeps
            first = min(first, _first_code(col, typed_nulls, first))
        if new is None or (key and converter_for(new)[1]):
            if _is_code(col[first]) and converter_for(was)[0] in (to_int, to_decimal):
                raise _code_in_key(plan, name, first, col[first]) from None
            raise BadRow(first) from None  # named as the types refuse it (sync.read_rows)
        props[name] = new
        if converter_for(new)[1]:
            if isinstance(props, Props):
                props.empty_null.add(name)
            current[0] = make(new, nulls=typed_nulls)
        else:
            current[0] = noting(plan, name, new, make(new))
        check[0] = _overflow_check(new, typed_nulls)
        _say_widened(plan, name, plan.done + first + 1, col[first], was, new)
        assert ctx.resend_schema is not None
        ctx.resend_schema({name: new})
        return current[0](col)

    return widen


def _overflow_check(
    prop: dict[str, Any], nulls: frozenset[str]
) -> Callable[[Sequence[str], Sequence[str]], int | None] | None:
    """For an integer or number column, the check of a chunk's texts (`col`) and how they were
    rendered (`texts`) giving the index of the first value the column took but must not keep: a
    code with a leading zero (read as a number it loses them), or in an integer column without
    bounds a value past 64 bits; None when there is none. A column sent as written (`texts` is
    `col`) has no leading zero, and the 64-bit check parses only a chunk with a text of 19
    characters or more. None for other columns: nothing to look for."""
    convert = converter_for(prop)[0]
    if convert not in (to_int, to_decimal):
        return None
    bits = convert is to_int and "maximum" not in prop and "minimum" not in prop

    def check(col: Sequence[str], texts: Sequence[str]) -> int | None:
        first: int | None = None
        if texts is not col and _may_hold_code("\n".join(col)):
            first = _first_code(col, nulls)
        if bits and col and max(map(len, col)) >= _INT64_DIGITS:
            past = (i for i, t in enumerate(col) if t not in nulls and not _in_int64(t))
            at = next(past, None)
            if at is not None:
                first = at if first is None else min(first, at)
        return first

    return check


def _may_hold_code(joined: str) -> bool:
    """Whether a column's texts joined by newlines may hold a code (`_CODE`): substring searches
    first (a third of the regular expression's time), the expression only when one finds a
    zero after a line's start, a sign or a blank."""
    starts = joined[:1] in _CODE_STARTS
    if not (starts or any(p in joined for p in _CODE_PIECES)):
        return False
    return _CODE.search(joined) is not None


_BLANKS = (" ", "\t", "\r", "\x0b", "\x0c")  # what int() strips (ASCII only: to_int)
_CODE_STARTS = ("0", "+", "-", *_BLANKS)
_CODE_PIECES = ("\n0", "-0", "+0", *("\n" + b for b in _BLANKS))


def _in_int64(text: str) -> bool:
    return INT64[0] <= to_int(text) <= INT64[1]


def _is_code(text: str) -> bool:
    return _ONE_CODE.match(text) is not None


def _first_code(col: Sequence[str], nulls: frozenset[str], default: Any = None) -> Any:
    """The index of the first value of `col` written with a leading zero (`default`: none)."""
    return next((i for i, t in enumerate(col) if t not in nulls and _is_code(t)), default)


def wider(prop: dict[str, Any], col: Sequence[str], nulls: frozenset[str]) -> dict[str, Any] | None:
    """The inferred column `prop` as wide as the values of `col` need (None when every value
    fits as it is): a string when one is a code or of another kind, else for a number or integer
    column the DECIMAL holding it and every value the column held (`_decimal_room`)."""
    values = [t for t in col if t not in nulls]
    convert = converter_for(prop)[0]
    if convert not in (to_int, to_decimal):
        try:
            for t in values:
                convert(t)  # type: ignore[misc]
        except ValueError:
            return dict(STRING)
        return None
    try:
        numbers = [(t, to_decimal(t)) for t in values]
    except ValueError:
        return dict(STRING)
    if any(_is_code(t) for t, _ in numbers):
        return dict(STRING)
    room = _decimal_room(prop)
    whole, scale = room
    grown = False
    for text, value in numbers:
        if convert is to_int and _fits_integer(prop, text):
            continue
        if convert is to_decimal and fits(value, *room):
            continue
        grown = True
        w, s = digits_of(normalized(value))
        whole, scale = max(whole, w), max(scale, s)
    if not grown:
        return None
    return decimal_schema(whole + scale, scale)


def _decimal_room(prop: dict[str, Any]) -> tuple[int, int]:
    """(digits before the point, after it) the column held: a DECIMAL's own; an integer column's
    19 (64 bits, as the targets widen BIGINT: DuckDB to DECIMAL(19+s,s), PostgreSQL numeric(19+s,
    s)) or its bounds' digits. The digits before the point are kept (earlier rows may use them)
    and the precision is exactly their sum with the scale, as types' decimals widen."""
    room = column_digits(prop)
    if room is not None:
        return room
    bounds = [b for b in (prop.get("maximum"), prop.get("minimum")) if isinstance(b, int)]
    return max([_INT64_DIGITS, *(len(str(abs(b))) for b in bounds)]), 0


def _fits_integer(prop: dict[str, Any], text: str) -> bool:
    """Whether an integer column keeps `text` as it is: an integer within its bounds (64 bits
    when the sample gave none)."""
    try:
        value = to_int(text)
    except ValueError:
        return False
    top, bottom = prop.get("maximum"), prop.get("minimum")
    if not isinstance(top, int) and not isinstance(bottom, int):
        return INT64[0] <= value <= INT64[1]
    return (not isinstance(top, int) or value <= top) and (
        not isinstance(bottom, int) or value >= bottom
    )


def spelled(prop: dict[str, Any]) -> str:
    """A column's type as the INFO line names it."""
    convert, is_string = converter_for(prop)
    if is_string:
        return "a string"
    if convert is to_decimal and "x-precision" in prop:
        return f"DECIMAL({prop['x-precision']},{prop.get('x-scale', 0)})"
    if convert is to_int:
        return "an integer" if "maximum" in prop or "minimum" in prop else "a 64-bit integer"
    names: dict[Any, str] = {to_bool: "a boolean", to_date: "a date", to_datetime: "a date-time"}
    return names.get(convert, property_format(prop) or "a number")


def _say_widened(
    plan: PlanLike, name: str, row: int, text: str, was: dict[str, Any], new: dict[str, Any]
) -> None:
    """One line on stderr: the column widened, where, to what, and what the earlier rows were."""
    if converter_for(was)[0] is to_decimal and converter_for(new)[0] is to_decimal:
        why = f"needs more digits than {spelled(was)}"
    elif _is_code(text) and converter_for(was)[0] in (to_int, to_decimal):
        why = f"has a leading zero, which {spelled(was)} would drop"
    elif converter_for(was)[0] is to_int and _is_integer(text):
        why = f"is past {_range(was)}"
    else:
        why = f"is not {spelled(was)}"
    earlier = ""
    if converter_for(new)[1]:
        earlier = f"; rows before it were sent as {_plural(was)}, an empty field stays null"
    sys.stderr.write(
        f"INFO {plan.path} data row {row}, stream {plan.stream!r}, column {name!r}: {_short(text)} "
        f"{why} (inferred from the sample rows): the column is widened to {spelled(new)}, a new "
        f"SCHEMA sent before these rows{earlier} (declare the column in column_types to have the "
        "type from the start)\n"
    )


def _is_integer(text: str) -> bool:
    try:
        to_int(text)
    except ValueError:
        return False
    return True


def _range(prop: dict[str, Any]) -> str:
    """An integer column's range as the INFO line names it."""
    top, bottom = prop.get("maximum"), prop.get("minimum")
    if not isinstance(top, int) and not isinstance(bottom, int):
        return "64 bits"
    return " and ".join(
        f"the sample's {word} {b}"
        for word, b in (("maximum", top), ("minimum", bottom))
        if isinstance(b, int)
    )


def _plural(prop: dict[str, Any]) -> str:
    kind = spelled(prop)
    return kind.split(" ", 1)[1] + "s" if kind.startswith(("a ", "an ")) else kind + " values"


def _code_in_key(plan: PlanLike, name: str, at: int, text: str) -> SyncError:
    return LeadingZeroKey(
        f"{plan.path} data row {plan.done + at + 1}, stream {plan.stream!r}, column {name!r}: "
        f"{_short(text)} has a leading zero, which the replication key's numbers (inferred from "
        "the sample rows) would drop: declare the column in column_types, "
        '{"type": ["null", "string"]} to keep codes as written'
    )


def _short(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
