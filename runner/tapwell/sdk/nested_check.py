"""The check of the values inside a document that `nested: tables` splits into columns and child
tables (tapwell.sdk.nested_split), as the record check (tapwell.singer.record_check) makes of a
record's own fields: each value against the tap's schema of its property, an object where the
schema says object, an array where it says array, and, for a column the target keeps in 64
bits, an integer within 64 bits. A value that breaks it is refused with one line naming its
path in the document (`items[1].qty`), never rounded or dropped.

The common case costs a type look-up per value in the generated splitter; anything else calls
the property's full check, which names the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tapwell.singer.datetime_rule import format_parser, inline_parser
from tapwell.singer.fraction_digits import CUT_GUARDS, FRACTIONS
from tapwell.singer.number_steps import FLOAT_ON_STEP, multiple_of, number_step
from tapwell.singer.schema import property_types
from tapwell.singer.value_check import fast_types, value_check, with_fix

from .target_types import ValueRefused

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FIX = "fix the value at the source, or change the field's type in the SCHEMA"
WIDER = (
    "is outside the range of a 64-bit integer column (BIGINT): fix the value at the source, or "
    "declare the field's maximum (and minimum) in the SCHEMA beyond 64 bits for a wider column"
)

# A segment of a value's path: a property name, or the position of an array's element (an
# index into the tuple of element positions the generated code passes).
Segment = str | int
# slow(value, line, positions, present): raises NestedValueError when `value` breaks its schema
# (a null breaks a non-null schema only when the property is there: `present`).
Slow = Callable[[Any, int, tuple[int, ...], bool], None]
# cut(text, line, positions, present): a date-time or time text cut to 6 fraction digits
Cut = Callable[[str, int, tuple[int, ...], bool], str]


class NestedValueError(ValueRefused):
    """A value inside a document that breaks its schema: the problem, its input line and its
    path in the document (`field`)."""

    def __init__(self, problem: str, line: int | None, field: str) -> None:
        super().__init__(problem)
        self.problem, self.line, self.field = problem, line, field


def field_path(segments: tuple[Segment, ...], positions: tuple[int, ...]) -> str:
    """`items[1].discounts[0].amount`: the path of a value in its document."""
    out = ""
    for segment in segments:
        if isinstance(segment, int):
            out += f"[{positions[segment]}]"
        else:
            out += f".{segment}" if out else segment
    return out


def _outside_int64(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    try:
        return not INT64_MIN <= int(value) <= INT64_MAX
    except (OverflowError, ValueError, ArithmeticError):
        return False


def slow_check(schema: dict[str, Any], segments: tuple[Segment, ...], bounded: bool) -> Slow:
    """The full check of one property's values (see Slow); `bounded`: its column holds 64 bits.
    A record's own field and a value inside a document are refused with the record check's
    words and its fix."""
    check = value_check(schema)

    def slow(value: Any, line: int, positions: tuple[int, ...], present: bool = True) -> None:
        if value is None and not present:
            return
        problem = check(value) if check is not None else None
        if problem is not None:
            problem = with_fix(problem)  # the record check's words, inside a document or not
        elif problem is None and bounded and _outside_int64(value):
            problem = f"{value} {WIDER}"
        if problem is not None:
            raise NestedValueError(problem, line, field_path(segments, positions))

    return slow


def fraction_cut(stream: str, segments: tuple[Segment, ...], start: int) -> Cut:
    """The cut of a date-time or time value inside a document to microseconds (see
    tapwell.singer.fraction_digits.FractionNotes), said once per stream and path (`items[].at`)."""
    key = field_path(segments, tuple(-1 for _ in segments)).replace("[-1]", "[]")

    def cut(value: str, line: int, positions: tuple[int, ...], present: bool = True) -> str:
        return FRACTIONS.cut(value, start, stream, field_path(segments, positions), line, key)

    return cut


_V = re.compile(r"\bv\b")


def check_lines(
    x: str,
    schema: dict[str, Any],
    slow: str,
    const: Callable[[Any], str],
    call: str,
    bounded: bool,
    also: frozenset[type] = frozenset(),
    cut: Callable[[int], str] | None = None,
) -> list[str]:
    """Source that checks the value in variable `x` against `schema`: `slow` names the variable
    holding its slow_check, `call` the rest of its arguments (`line, positions, present`), and
    `const(value)` binds a value to a new closure variable, returning its name; values of the
    types `also` pass unchecked. [] when the schema admits anything. A date-time or time with
    more than 6 fraction digits is then cut in `x` by the function `cut(start)` names (see
    fraction_cut), called with `call`'s arguments."""
    if value_check(schema) is None:
        return []
    kinds = property_types(schema)
    fast = set(fast_types(schema)) | also
    step = number_step(schema)
    multiple = multiple_of(step) if step is not None else None
    if multiple is not None:
        fast -= {int, Decimal}
    if not kinds or "null" in kinds:
        fast.add(type(None))
    # a date-time or a date: the record check's inline test, then its C parser (together the
    # rule, tapwell.singer.datetime_rule.DATETIME_RULE); a time: every one through the full check
    parse = format_parser(schema)
    if parse is not None:
        fast.discard(str)
    inline = inline_parser(parse, x, lambda key, value: const(value))
    # a date-time or time past microseconds: cut to them (after the full check: the inline test
    # passes at most 6 fraction digits)
    guard = CUT_GUARDS.get(parse) if cut is not None else None
    cut_line = (
        f"if {_V.sub(x, guard[0])}: {x} = {cut(guard[1])}({x}, {call})"
        if guard is not None and cut is not None
        else ""
    )
    if bounded:
        fast.discard(int)
    fail = f"{slow}({x}, {call})"
    out: list[str] = []
    if bounded and "integer" in kinds:
        out += [f"if type({x}) is int:", f"    if not {INT64_MIN} <= {x} <= {INT64_MAX}: {fail}"]
    if inline is not None:
        out += [
            f"{'elif' if out else 'if'} type({x}) is str:",
            f"    if {inline[0]}:",
            "        try:",
            f"            {const(inline[1])}({x})",
            "        except ValueError:",
            f"            {fail}",
            "    else:",
            f"        {fail}",
            *([f"        {cut_line}"] if cut_line else []),
        ]
    if "number" in kinds:
        scale = getattr(multiple, "scale", None)
        extra = ""
        if scale is not None:
            extra = " and " + _V.sub(x, FLOAT_ON_STEP.format(scale=const(scale)))
        elif multiple is not None:
            extra = f" and {const(multiple)}({x})"
        out += [f"{'elif' if out else 'if'} type({x}) is float and {x} - {x} == 0.0{extra}:"]
        out += ["    pass"]
    out += [f"{'elif' if out else 'if'} type({x}) not in {const(frozenset(fast))}: {fail}"]
    if cut_line and inline is None:
        out += [f"if type({x}) is str:", f"    {cut_line}"]
    return out


__all__ = ["NestedValueError", "check_lines", "field_path", "fraction_cut", "slow_check"]
