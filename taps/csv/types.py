"""CSV text to typed values, and the inference of column types from a sample.

Values are converted exactly: numbers become Decimal (never float), dates stay dates, date-times
keep their offset (naive ones are read as UTC). In a string column an empty field is the empty
string; only the configured `null_values` mean null there. In typed columns an empty field is null.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tapwell.singer.schema import property_format, property_types

TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}


def to_int(text: str) -> int:
    return int(text)


def to_decimal(text: str) -> Decimal:
    try:
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
    return date.fromisoformat(text.strip())


def to_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Converter = Callable[[str], Any]

# Tried in this order; the first kind every non-empty sample value parses as wins.
INFERENCE: list[tuple[dict[str, Any], Converter]] = [
    ({"type": ["null", "integer"]}, to_int),
    ({"type": ["null", "number"]}, to_decimal),
    ({"type": ["null", "boolean"]}, to_bool),
    ({"type": ["null", "string"], "format": "date"}, to_date),
    ({"type": ["null", "string"], "format": "date-time"}, to_datetime),
]


def infer_property(samples: list[str]) -> dict[str, Any]:
    """The narrowest JSON Schema property every sample value fits; string when nothing narrower
    does (or when there is nothing to go on)."""
    values = [v for v in samples if v != ""]
    if values:
        for prop, convert in INFERENCE:
            if prop.get("format") == "date" and any(len(v.strip()) != 10 for v in values):
                continue
            try:
                for v in values:
                    convert(v)
            except (ValueError, TypeError):
                continue
            return dict(prop)
    return {"type": ["null", "string"]}


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
        import orjson

        return orjson.loads, False
    return None, True
