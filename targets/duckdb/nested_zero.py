"""A plain `number` (a DOUBLE column) written `-0` in a RECORD line of a `nested: tables` stream
lands -0.0, in the root table and in child tables, as the same record without nesting lands it
on every lane (README "Types: a number without precision"): the JSON readers, orjson and
DuckDB's, read `-0` as the integer 0.

- The SQL split (children_sql.py) reads a batch whose lines hold a bare `-0` from its lines with
  each such number written `-0.0` (`signed_lines`), outside strings; DuckDB reads that as -0.0.
- The Python split reads a line holding one again with its spelling (`signer`): a plain
  number's `-0` becomes the JsonNumber `-0`, which its DOUBLE column stores as -0.0.

Either way an integer column keeps 0 and a string or a JSON document its text. A line without
a bare `-0` costs one bytes search (`bare_minus_zero`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tapwell.sdk.nested import TablePlan
from tapwell.singer.wire import JsonNumber, loads_spelled

# Where a line may write a bare -0 (a number, not -0.5 or 2024-01-05): `-0` then what may end a
# number. Text in a string that looks so ("a-0 b") only costs a closer look (`signed`). One
# search: 0.03 s per 200,000 lines (40 MB), where seven `in` tests took 0.17-0.38 s.
_MAYBE = re.compile(rb"-0[,}\] \t\r\n]")
# A string (kept as it is), or a bare -0 after what may precede a value (group 1: the blanks).
_BARE = re.compile(rb'"(?:[^"\\]|\\.)*"|(?<=[:,\[])([ \t\n\r]*)-0(?=[ \t\n\r]*[,\]}])')


def bare_minus_zero(line: bytes) -> bool:
    """Whether `line` may write a number as `-0`: one bytes search; a line that does is looked
    at closer by `signed`."""
    return _MAYBE.search(line) is not None


def signed(line: bytes) -> bytes | None:
    """The line with each bare `-0` outside its strings written `-0.0` (which DuckDB reads as
    -0.0), or None when it holds none."""
    found = False

    def sign(m: re.Match[bytes]) -> bytes:
        nonlocal found
        if m.group(1) is None:
            return m.group(0)
        found = True
        return m.group(1) + b"-0.0"

    out = _BARE.sub(sign, line)
    return out if found else None


def signed_lines(lines: list[bytes]) -> list[bytes] | None:
    """The batch's lines with each bare `-0` written `-0.0`, or None when none holds one (the
    usual batch: one bytes search per line, `bare_minus_zero`)."""
    maybe = [i for i, m in enumerate(map(_MAYBE.search, lines)) if m is not None]
    out, found = list(lines) if maybe else [], False
    for i in maybe:
        if (again := signed(lines[i])) is not None:
            out[i], found = again, True
    return out if found else None


@dataclass
class Spot:
    """Where a record may hold a plain number (a column of one, in any of the stream's tables):
    an object's keys, an array's elements, or the value itself (`plain`)."""

    keys: dict[str, Spot] = field(default_factory=dict)
    each: Spot | None = None
    plain: bool = False

    def at(self, path: tuple[str, ...]) -> Spot:
        spot = self
        for key in path:
            spot = spot.keys.setdefault(key, Spot())
        return spot


def spots(root: TablePlan, plain: dict[str, set[str]]) -> Spot | None:
    """The places in a record of the plain-number columns `plain` (each table's, by its plan
    name), or None when there are none."""
    top, found = Spot(), False

    def visit(table: TablePlan, element: Spot) -> None:
        nonlocal found
        for column in table.columns:
            if column.name in plain.get(table.name, ()):
                element.at(column.path).plain = found = True
        for child in table.children:
            array = element.at(child.path)
            array.each = array.each or Spot()
            visit(child, array.each)

    visit(root, top)
    return top if found else None


def signer(
    where: Spot | None, then: Callable[[dict[str, Any], bytes], dict[str, Any]] | None
) -> Callable[[dict[str, Any], bytes], dict[str, Any]] | None:
    """RowEncoder.respell for the Python split: a plain number its line writes `-0` (which the
    JSON readers read as the integer 0) becomes the JsonNumber `-0`, which its DOUBLE column
    stores as -0.0 (plainnumber.widen) and a column made text as `-0`, as the flat paths do; an
    integer column, a string, a document keep what they held. Then `then` (the documents'). A
    line without a bare -0 costs one bytes search (bare_minus_zero)."""
    if where is None:
        return then
    search = _MAYBE.search  # (bare_minus_zero, without a call per line)

    def minus(record: dict[str, Any], line: bytes) -> dict[str, Any]:
        if signed(line) is None:
            return record
        again = loads_spelled(line).get("record")
        return _signed(record, again, where) if type(again) is dict else record

    if then is None:

        def respell(record: dict[str, Any], line: bytes) -> dict[str, Any]:
            return record if search(line) is None else minus(record, line)

        return respell

    def respell_then(record: dict[str, Any], line: bytes) -> dict[str, Any]:
        return then(record if search(line) is None else minus(record, line), line)

    return respell_then


def _signed(value: Any, again: Any, spot: Spot) -> Any:
    """`value` with each integer 0 at a plain spot that `again` (its line read with its
    spelling) holds as `-0` replaced by that JsonNumber; the same object when none is."""
    if spot.plain and type(value) is int and value == 0:
        return again if type(again) is JsonNumber and again.text == "-0" else value
    if spot.keys and type(value) is dict and type(again) is dict:
        out = None
        for key, sub in spot.keys.items():
            if key in value and key in again:
                new = _signed(value[key], again[key], sub)
                if new is not value[key]:
                    out = dict(value) if out is None else out
                    out[key] = new
        return value if out is None else out
    if spot.each is not None and type(value) is list and type(again) is list:
        if len(value) != len(again):  # pragma: no cover - the same line read twice
            return value
        each = [_signed(v, a, spot.each) for v, a in zip(value, again, strict=True)]
        return value if all(n is v for n, v in zip(each, value, strict=True)) else each
    return value
