"""JSON values and their schema: inference from sample records, the check that a later record
still fits an inferred schema, and replication-key values (compared typed, written as sent).

Every inferred property admits null (an API leaves fields out as often as it nulls them). Strings
that all read as ISO 8601 date-times (or dates) get that format, so targets make timestamp columns.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tapwell.singer.datetime_rule import parse_date
from tapwell.singer.datetime_rule import parse_datetime as rule_datetime
from tapwell.singer.wire import JsonNumber, dumps

_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]")  # a date alone is a date


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if type(value) is JsonNumber and value.text == "-0":
        return "integer"  # an integer as the API spelled it (records.read_json)
    if isinstance(value, float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array"


def parse_datetime(text: str) -> datetime | None:
    """A server's or a user's date-time (with its time of day) as an aware datetime (naive:
    UTC), read by the record check's rule (tapwell.singer.schema) that the targets hold it to:
    a form fromisoformat reads beyond it (`+0530`, `T10`) is no date-time; else None."""
    if not _DATETIME.match(text):
        return None
    try:
        value = rule_datetime(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _date(text: str) -> date | None:
    """A calendar date `YYYY-MM-DD` by the record check's rule, else None."""
    try:
        return parse_date(text)
    except ValueError:
        return None


INT64 = 2**63
WIDE_INTEGER = 10**38 - 1  # the widest integer a bounded column holds (DECIMAL(38,0), HUGEINT)


def _past_64_bits(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64


def _string_format(values: list[str]) -> str | None:
    if values and all(_date(v) is not None for v in values):
        return "date"
    if values and all(parse_datetime(v) is not None for v in values):
        return "date-time"
    return None


def infer_property(values: list[Any]) -> dict[str, Any]:
    """The narrowest property every value fits (null always admitted)."""
    kinds = {kind_of(v) for v in values} | {"null"}
    if "number" in kinds:
        kinds.discard("integer")
    order = ["null", "boolean", "integer", "number", "string", "object", "array"]
    prop: dict[str, Any] = {"type": [k for k in order if k in kinds]}
    if kinds == {"null"}:
        prop["type"] = ["null", "string"]  # nothing to go on: the widest scalar
    if "integer" in kinds and any(_past_64_bits(v) for v in values):
        prop["minimum"], prop["maximum"] = -WIDE_INTEGER, WIDE_INTEGER  # targets: DECIMAL(38,0)
    if kinds == {"null", "string"}:
        fmt = _string_format([v for v in values if isinstance(v, str)])
        if fmt:
            prop["format"] = fmt
    if "object" in kinds:
        prop.update(infer_object([v for v in values if isinstance(v, dict)]))
        prop["type"] = prop["type"] if isinstance(prop["type"], list) else ["null", "object"]
    if "array" in kinds:
        items = [item for v in values if isinstance(v, list) for item in v]
        prop["items"] = infer_property(items) if items else {}
    return prop


def infer_object(records: list[dict[str, Any]]) -> dict[str, Any]:
    """An object schema from sample records: every property seen, in first-seen order."""
    names: dict[str, list[Any]] = {}
    for r in records:
        for k, v in r.items():
            names.setdefault(k, []).append(v)
    props = {k: infer_property(vs) for k, vs in names.items()}
    return {"type": ["null", "object"], "properties": props}


def misfit(value: Any, prop: dict[str, Any], path: str) -> str | None:
    """Where and how `value` breaks `prop` (an inferred schema), or None when it fits."""
    kinds = prop.get("type")
    kind = kind_of(value)
    if isinstance(kinds, list | str) and kinds:
        allowed = set(kinds if isinstance(kinds, list) else [kinds])
        if kind not in allowed and not (kind == "integer" and "number" in allowed):
            return f"property {path!r} is {kind} ({str(value)[:40]!r}), the schema says {sorted(allowed)}"
    if kind == "integer" and _past_64_bits(value) and "maximum" not in prop:
        return (
            f"property {path!r} is {value}, past 64 bits, and the schema has no bounds (targets "
            "make a BIGINT column)"
        )
    if kind == "string":
        fmt = prop.get("format")
        if fmt == "date-time" and parse_datetime(value) is None:
            return f"property {path!r} is {value[:40]!r}, not a date-time as the schema says"
        if fmt == "date" and _date(value) is None:
            return f"property {path!r} is {value[:40]!r}, not a date as the schema says"
    elif kind == "object" and isinstance(prop.get("properties"), dict):
        props = prop["properties"]
        for k, v in value.items():
            sub = props.get(k)
            if sub is None:
                return f"property {path + '.' + k if path else k!r} is not in the schema"
            bad = misfit(v, sub, f"{path}.{k}" if path else k)
            if bad:
                return bad
    elif kind == "array" and isinstance(prop.get("items"), dict) and prop["items"]:
        for i, item in enumerate(value):
            bad = misfit(item, prop["items"], f"{path}[{i}]")
            if bad:
                return bad
    return None


# ---------------------------------------------------------------------------------- bookmarks


def comparable(value: Any) -> Any:
    """A replication-key value as something ordered: ISO text as an aware datetime, numbers as
    Decimal, other text as text."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed
        day = _date(value)
        if day is not None:
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


def context_key(context: Any) -> str:
    """A child's partition context (its parent's fields) as a key, numbers by value: the state
    file's reader gives `1.50` back as 1.5 and `-0` as 0, where a page keeps their spelling
    (records.read_json)."""
    return dumps(_by_value(context)).decode()


def _by_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _by_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_by_value(v) for v in value]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        return number.normalize() if number else Decimal(0)
    return value


def start_value(text: str | None) -> Any:
    """A configured start_value, typed: a number (an epoch, an id) as Decimal, else as `comparable`."""
    if text is None:
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", text.strip()):
        return Decimal(text.strip())
    return comparable(text)


def minus_lookback(value: Any, seconds: int) -> Any:
    if not seconds:
        return value
    if isinstance(value, datetime):
        return value - timedelta(seconds=seconds)
    if isinstance(value, Decimal):
        return value - seconds
    return value


def format_start(value: Any, fmt: str) -> str:
    """`{start}` as the API wants it: iso, date, epoch, epoch_ms, or a strftime pattern."""
    if isinstance(value, Decimal):
        if fmt == "epoch_ms" and value < 100_000_000_000:
            value *= 1000
        return str(value.to_integral_value()) if value == value.to_integral_value() else str(value)
    if not isinstance(value, datetime):
        return str(value)
    if fmt == "iso":
        text = value.astimezone(UTC).isoformat()
        return text.replace("+00:00", "Z")
    if fmt == "date":
        return value.astimezone(UTC).date().isoformat()
    if fmt == "epoch":
        return str(int(value.timestamp()))
    if fmt == "epoch_ms":
        return str(int(value.timestamp() * 1000))
    return value.astimezone(UTC).strftime(fmt)
