"""Reading a mapped line without losing a digit, fast.

orjson reads a line in a microsecond but turns 1.10 into the float 1.1 (and an integer past 64
bits into a float). So a line is read by orjson, and each float of the record is replaced by the
number the tap wrote, taken from the line right after the property's key: an integer when the
text is one, else a Decimal. A float anywhere else (nested, or outside the record), or a key
found twice, sends the line to the standard library, with every non-integer as a Decimal; so do
an integer -0 (orjson reads 0) and a number past a double's range (1E400, which orjson refuses).
A Decimal whose own text would differ (1e5 is Decimal 1E+5) is a TapDecimal that writes the tap's
text back; -0 is Decimal -0, which writes -0.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import orjson

# what follows a key: the colon and a JSON number
_NUMBER = re.compile(rb"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)")
_TOKENS: dict[str, bytes] = {}  # key -> the key as JSON text, quoted
# an integer -0 (also text in a string such as "a-0b": that only costs the slower reader; not
# a date's -01)
_MINUS_ZERO = re.compile(rb"-0(?![0-9.eE])")


class TapDecimal(Decimal):
    """A Decimal that is written back as the text the tap sent (1e5 stays 1e5)."""

    text: str

    def __str__(self) -> str:
        return self.text


def exact_decimal(text: str) -> Decimal:
    """The number `text` as a Decimal that writes back as `text`."""
    value = Decimal(text)
    if str(value) == text:
        return value
    raw = TapDecimal(text)
    raw.text = text
    return raw


def _exact_int(text: str) -> int | Decimal:
    return Decimal(text) if text == "-0" else int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_EXACT = json.JSONDecoder(
    parse_float=exact_decimal, parse_int=_exact_int, parse_constant=_no_constant
)


def loads_exact(line: bytes) -> Any:
    """The line read by the standard library: non-integers as Decimal, integers of any size."""
    return _EXACT.decode(line.decode("utf-8"))


def loads_message(line: bytes) -> Any:
    """One message, every number of it exactly as the tap wrote it."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if "infinity when parsed as double" not in str(exc):
            raise
        return loads_exact(line)  # valid JSON, a number past a double's range (1E400)
    record = message.get("record") if type(message) is dict else None
    if type(record) is not dict:
        return loads_exact(line) if _inexact(message, line) else message
    for key, value in record.items():
        kind = type(value)
        if kind is float:
            token = _TOKENS.get(key)
            if token is None:
                token = _TOKENS[key] = orjson.dumps(key)
            at = line.find(token)
            if at < 0 or line.find(token, at + 1) >= 0:
                return loads_exact(line)  # a key twice: which one is the record's?
            found = _NUMBER.match(line, at + len(token))
            if found is None:
                return loads_exact(line)
            text = found.group(1).decode()
            record[key] = int(text) if _is_int(text) else exact_decimal(text)
        elif kind is int and not value and _minus_zero(line):
            return loads_exact(line)  # 0 read from -0, maybe
        elif (kind is dict or kind is list) and _inexact(value, line):
            return loads_exact(line)
    return message


def _minus_zero(line: bytes) -> bool:
    """Whether the line may hold an integer -0 (orjson reads 0)."""
    return b"-0" in line and _MINUS_ZERO.search(line) is not None


def _is_int(text: str) -> bool:
    return text.isdigit() or (text[:1] == "-" and text[1:].isdigit())


def _inexact(value: Any, line: bytes) -> bool:
    """Whether a float is anywhere inside `value`, or a 0 the line may spell -0 (without
    recursion: JSON may nest deep)."""
    todo = [value]
    while todo:
        item = todo.pop()
        kind = type(item)
        if kind is float:
            return True
        if kind is dict:
            todo.extend(item.values())
        elif kind is list:
            todo.extend(item)
        elif kind is int and not item and _minus_zero(line):
            return True
    return False
