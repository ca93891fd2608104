"""A plain number's text for an unconstrained `numeric` column (a `number` without multipleOf,
x-scale or x-precision): PostgreSQL keeps the scale of the text it is given (`1.50` stays 1.50),
so the column is given the source's text, as the csv lane gives it the file's field. A stream
with no multipleOf is read with floats (tapwell.singer.wire.loads), whose text is the shortest
that reads back (`1.50` as 1.5, `1E5` as 100000.0): a record holding a float for such a column
whose line may spell a number otherwise (`may_respell`) and does not hold the float's text after
the key (`"amount":1.5,`, wherever the line holds the key: target_lanes.everywhere) has those
properties read again from its line, each number a JsonNumber (a Decimal: its text as written)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import orjson
from tapwell.sdk.target_lanes import everywhere
from tapwell.singer.wire import JsonNumber, dumps, loads_spelled, may_respell

Respell = Callable[[dict[str, Any], bytes], dict[str, Any]]
# a JSON number after a key (`"amount": 1.50,`), up to the delimiter that ends it
NUMBER_AFTER = re.compile(
    rb"[ \t\r\n]*:[ \t\r\n]*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)[ \t\r\n]*[,}]"
)
# A fraction of two digits or more ending in 0 (`1.50`, not `1.0`), up to the delimiter after it
FRACTION_ZERO = re.compile(rb"\.[0-9]*[0-9]0[,\]}\s]")
# digits as "9", e/E as "e", anything else " ": an exponent's "9e" (`1E5`, `1.5e3`)
_EXPONENTS = bytes(
    ord("9") if c in b"0123456789" else ord("e") if c in b"eE" else 32 for c in range(256)
)


def may_differ(line: bytes) -> bool:
    """Whether a line may hold a float whose text (`orjson.dumps`) has another scale than the
    line's own text of it: only a fraction ending in 0 (`1.50`, 1.5) or an exponent (`1E5`,
    100000.0; `1250e-2`, 12.5) can. A float's own text otherwise has at most 15 digits (more go
    to the exact reader: tapwell.singer.wire.needs_exact), which its shortest text spells with
    the same places after the point (`1.0` as 1.0, `0.000001` as 1e-6: 6 places either way)."""
    return FRACTION_ZERO.search(line) is not None or b"9e" in line.translate(_EXPONENTS)


def scale(number: bytes) -> int:
    """The scale PostgreSQL's numeric gives a JSON number's text: the digits after the point less
    the exponent, at least 0 (`1.50` 2, `1E5` 0, `100000.0` 1, `1.002125e-2` 8)."""
    digits, _, exponent = number.lower().partition(b"e")
    return max(0, len(digits.partition(b".")[2]) - int(exponent or 0))


def plain_respeller(props: Collection[str], documents: Respell | None) -> Respell | None:
    """RowEncoder.respell for a table whose `props` go to unconstrained numeric columns (and
    `documents`, the jsonb columns' respell, run first)."""
    if not props:
        return documents
    keys = [(p, dumps(p)) for p in props]
    text = orjson.dumps

    def everywhere_written(record: dict[str, Any], line: bytes) -> bool:
        """Whether each float's text follows its key wherever the line holds the key."""
        for prop, key in keys:
            value = record.get(prop)
            if type(value) is float:
                found = key + b":" + text(value)
                if not everywhere(line, key, found + b",", found + b"}"):
                    return False
        return True

    def again(record: dict[str, Any], line: bytes) -> dict[str, Any]:
        """A line with escapes, or a key written twice: read again when it may spell a
        number otherwise (target_lanes.everywhere says where the record's own key stands)."""
        if everywhere_written(record, line) or not may_respell(line):
            return record
        read = loads_spelled(line).get("record")
        if type(read) is not dict:  # pragma: no cover - the loop read it as a RECORD line
            return record
        return {**record, **{p: read[p] for p, _ in keys if p in read and p in record}}

    def respell(record: dict[str, Any], line: bytes) -> dict[str, Any]:
        if documents is not None:
            record = documents(record, line)
        if not may_differ(line):  # the usual line: one regex and one translate, in C
            return record
        if b"\\" in line:
            return again(record, line)
        spelled: dict[str, Any] | None = None
        for prop, key in keys:
            value = record.get(prop)
            if type(value) is not float:  # ints keep their digits; a Decimal was read exactly
                continue
            at = line.find(key)  # the usual line: its one key, the record's own
            if at < 0 or line.find(key, at + 1) >= 0:
                return again(record, line)
            at += len(key)
            back = text(value)
            if line.startswith(b":" + back, at) and line[at + 1 + len(back)] in b",}":
                continue  # written as the wire writes it back
            found = NUMBER_AFTER.match(line, at)
            if found is None:  # pragma: no cover - the line's own number follows its key
                return again(record, line)
            own = found.group(1)  # 1.002125e-2 is 0.01002125 either way: the same scale
            if own == back or scale(own) == scale(back):
                continue
            if spelled is None:
                spelled = {}
            spelled[prop] = JsonNumber(own.decode())
        return record if spelled is None else {**record, **spelled}

    return respell


def whole_respeller() -> Respell:
    """RowEncoder.respell for a `nested: tables` stream whose root or child tables have an
    unconstrained numeric or a JSON column: its records are split at load from dicts, the plain
    numbers anywhere in them (an object flattened into the root table, an array's child table),
    so a line that may hold a number whose float text differs from its own (`may_respell`: a
    superset of `may_differ`, with `-0` and `0.000001` for documents) has its whole record read
    again, every fraction and exponent as a JsonNumber (its text as written), as the csv lane
    and the RECORD lines of a stream without nesting store it."""

    def respell(record: dict[str, Any], line: bytes) -> dict[str, Any]:
        if not may_respell(line):
            return record
        again = loads_spelled(line).get("record")
        return again if type(again) is dict else record

    return respell
