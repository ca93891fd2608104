"""JSON Schema, the parts Singer uses: property types and formats, a number's precision and
scale, a logical column type. Everything here runs once per SCHEMA message.

The rest of what a SCHEMA means lives beside it, by role: the date-time rule
(tapwell.singer.datetime_rule), fraction digits past the microsecond (fraction_digits), a
number's step (number_steps), the check of one value (value_check) and the compiled record check
(record_check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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


def number_union(prop: Any) -> bool:
    """A union of number (or integer) with string or boolean (`["null", "string", "number"]`,
    an anyOf of them): a target keeps it in a text column where each number keeps its source's
    text (`1.50`, `1E+3`, `-0`, `1e400`; tapwell.singer.wire.loads_spelled), never a float's."""
    kinds = set(property_types(prop)) - {"null"} if isinstance(prop, dict) else set()
    numbers = kinds & {"integer", "number"}
    return bool(numbers) and numbers != kinds and not kinds & {"object", "array"}


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
