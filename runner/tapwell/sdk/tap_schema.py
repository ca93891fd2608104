"""The JSON Schema a tap emits, in draft 7 as every current target reads it (issue 11.5).

Two rules, applied to every schema node (properties, items, anyOf, ...):

- Draft 4's boolean bounds (`"maximum": 1e10, "exclusiveMaximum": true`, singer-io's decimals)
  become draft 7's numeric ones (`"exclusiveMaximum": 1e10`); singer-sdk targets refuse the
  boolean form ("True is not of type 'number'").
- `multipleOf` stays only where singer-sdk's validator can evaluate it: it divides in Decimal's
  default 28-digit context, so a quotient of 10^28 or more (`1E-30` for DECIMAL(65,30)) fails
  with DivisionImpossible on every record. The widest value the declared bounds admit (the
  larger of the two when only one is declared, as in `multipleOf` + `maximum`; 1 when neither
  is) over the step must stay below 10^28; otherwise the step is left out.

Whatever precision and scale a target read from the original (`tapwell.singer.schema.decimal_spec`:
`multipleOf` and `maximum`) is kept as `x-precision`/`x-scale` when a rule removes those keys,
so DECIMAL(p,s) columns are created as before.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from tapwell.singer.schema import decimal_spec

_QUOTIENT_LIMIT = Decimal(10) ** 28  # singer-sdk's multipleOf check: Decimal's 28 digits
_ONE_SCHEMA = (
    *("items", "additionalProperties", "additionalItems", "not", "contains"),
    *("if", "then", "else", "propertyNames"),
)
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependencies")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "items")


def draft7_schema(schema: Any) -> Any:
    """A copy of `schema` that draft 7 readers (and singer-sdk's validator) accept; the input is
    not changed."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: draft7_schema(sub) for name, sub in out[key].items()}
    for key in _ONE_SCHEMA:
        if isinstance(out.get(key), dict):
            out[key] = draft7_schema(out[key])
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [draft7_schema(sub) for sub in out[key]]
    spec = _spec(schema)
    _numeric_bounds(out)
    _checkable_step(out)
    if spec and ("maximum" not in out or "multipleOf" not in out) and "x-precision" not in out:
        out["x-precision"], out["x-scale"] = spec
    return out


def _spec(node: dict[str, Any]) -> tuple[int, int] | None:
    try:
        return decimal_spec(node)
    except (ArithmeticError, ValueError, TypeError):
        return None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _numeric_bounds(out: dict[str, Any]) -> None:
    for flag, bound in (("exclusiveMaximum", "maximum"), ("exclusiveMinimum", "minimum")):
        value = out.get(flag)
        if isinstance(value, bool):
            del out[flag]
            if value and bound in out:
                out[flag] = out.pop(bound)


def _checkable_step(out: dict[str, Any]) -> None:
    step = _number(out.get("multipleOf"))
    if step is None or step <= 0:
        return
    upper = _number(out.get("maximum", out.get("exclusiveMaximum")))
    lower = _number(out.get("minimum", out.get("exclusiveMinimum")))
    widest = max([Decimal(1), *(abs(b) for b in (upper, lower) if b is not None)])
    if widest / step >= _QUOTIENT_LIMIT:
        del out["multipleOf"]
