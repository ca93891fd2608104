"""The check of one value against its property schema, which names the problem, and the fix
the error line adds to it. The record check (tapwell.singer.record_check) falls back on it for
any value its fast path does not pass; nested documents' checks use it too."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tapwell.singer.datetime_rule import format_parser
from tapwell.singer.number_steps import multiple_of, number_step, step_problem
from tapwell.singer.schema import property_format, property_types

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


def value_check(prop: dict[str, Any]) -> Check | None:
    """The check of one value against property schema `prop` (a problem, or None when the value
    is fine), as a record check makes it of each field; None when `prop` admits anything."""
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
    parse = format_parser(prop)
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


def fast_types(prop: dict[str, Any]) -> frozenset[type]:
    """Python types that are certainly valid for a property (type(v) in this set), so the common
    case costs one set look-up; anything else goes through the full check."""
    out: set[type] = set()
    for kind in property_types(prop):
        out |= _EXACT_TYPES.get(kind, frozenset())
    if "number" in property_types(prop):
        out.discard(float)  # NaN and infinity are not JSON numbers: check floats fully
    return frozenset(out)


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
