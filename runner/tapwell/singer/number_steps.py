"""A number property's step (`multipleOf`, or 10^-scale for `x-scale`), tested exactly, never
through float arithmetic; and Decimal's `normalize` without its rounding."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from tapwell.singer.schema import property_types


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
