"""RECORD lines for a chunk of CSV rows, built column by column (tap-csv's hot path).

A chunk of rows becomes columns (one `zip`); each column becomes the JSON text of its values by
C functions mapped over the whole column (the `json` module's string escaper, `int`, `Decimal`,
`date`/`datetime.fromisoformat`, one `orjson.dumps` of the converted list split at its commas);
the lines are then joined from those pieces in one pass and encoded once. The text of every
value is what `MessageWriter.write_record` wrote for the record dict (the golden snapshots pin
it): a decimal is its exact text, never a float; a date or date-time is validated by parsing it.

A column the fast rendering refuses (a value with spaces around it, an unusual spelling) is
rendered again value by value with the converters of `types.py`; a value that does not convert
there raises `BadRow` with its index in the chunk, and the caller names its line and column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, repeat
from json.encoder import encode_basestring
from typing import Any

import orjson
from tapwell.singer.wire import dumps, loads

from .types import (
    _BOOLS,
    _datetime,
    converter_for,
    one_line,
    to_bool,
    to_date,
    to_decimal,
    to_document,
    to_int,
)

# A column's JSON texts (or, when `quoted`, texts that need only their quotes: the assembly
# writes them around each), and its Python values when it is the replication key (else None).
Rendered = tuple[Sequence[str], bool, list[Any] | None]
Renderer = Callable[[Sequence[str]], Rendered]

_SLOW_ERRORS = (ValueError, ArithmeticError, TypeError)


class BadRow(Exception):
    """The value at `index` of the chunk does not convert to its column's type."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def _json_texts(values: list[Any]) -> list[str]:
    """Each value as orjson writes it inside a record (dates, date-times, integers, booleans,
    None): one call for the whole list, split at its commas (none of them contains one)."""
    if not values:
        return []
    try:
        return orjson.dumps(values, option=orjson.OPT_NAIVE_UTC).decode()[1:-1].split(",")
    except TypeError:  # an integer past 64 bits
        return [dumps(v).decode() for v in values]


def _document(text: str) -> str:
    """An object/array column's text: the document as written once it parses (every digit
    kept), on one line."""
    loads(text)
    return one_line(text)


def _slowly(prop: dict[str, Any], nulls: frozenset[str], col: Sequence[str]) -> list[Any]:
    """The column's Python values, converted one by one as `types.compile_row` does; BadRow at
    the first value that does not convert."""
    convert, _ = converter_for(prop)
    assert convert is not None
    values: list[Any] = []
    for i, t in enumerate(col):
        if t in nulls:
            values.append(None)
            continue
        try:
            values.append(convert(t))
        except ValueError:
            raise BadRow(i) from None
    return values


def _string(nulls: frozenset[str], native: bool) -> Renderer:
    to_null = dict.fromkeys(nulls, "null")
    enc = encode_basestring

    def render(col: Sequence[str]) -> Rendered:
        natives = [None if t in nulls else t for t in col] if native else None
        if nulls.isdisjoint(col):
            joined = "".join(col)
            if '"' not in joined and "\\" not in joined and joined.isprintable():
                return col, True, natives  # nothing to escape
            return list(map(enc, col)), False, natives
        return list(map(to_null.get, col, map(enc, col))), False, natives

    return render


def _parsed(
    prop: dict[str, Any],
    fast: Callable[[str], Any],
    nulls: frozenset[str],
    native: bool,
    as_written: Callable[[Sequence[str]], bool],
    quoted: bool,
    proves: bool = False,
) -> Renderer:
    """Integers, dates, date-times: parsed by `fast` in C (which validates them), written as
    they are when `as_written` says orjson would write them so, else by orjson. `proves`:
    texts `as_written` takes need no parsing (every string of ASCII digits is an integer)."""

    def render(col: Sequence[str]) -> Rendered:
        try:
            if nulls.isdisjoint(col):
                if proves and not native and as_written(col):
                    return col, quoted, None  # the shape is the whole check (plain integers)
                values = list(map(fast, col))
                if as_written(col):
                    return col, quoted, (values if native else None)
            else:
                values = [None if t in nulls else fast(t) for t in col]
        except _SLOW_ERRORS:
            values = _slowly(prop, nulls, col)
        return _json_texts(values), False, (values if native else None)

    return render


def _plain_integers(col: Sequence[str]) -> bool:
    """Every text is ASCII digits without a leading zero: what orjson writes for its int."""
    joined = "".join(col)
    return joined.isascii() and joined.isdecimal() and min(col)[0] != "0"


# Where the separators are in the texts orjson writes for a date, and for a date-time with
# microseconds and without: {length: ((position, character), ...)}; "±" is + or -.
Shapes = dict[int, tuple[tuple[int, str], ...]]
_DATE_SHAPES: Shapes = {10: ((4, "-"), (7, "-"))}
_DATETIME_SHAPES: Shapes = {
    32: ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (26, "±"), (29, ":")),
    25: ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "±"), (22, ":")),
}


def _iso_shape(shapes: Shapes) -> Callable[[Sequence[str]], bool]:
    def as_written(col: Sequence[str]) -> bool:
        """The texts (already parsed by fromisoformat, so digits where digits go) are each
        exactly what orjson writes for its value: of one length of `shapes` with its separators
        in place, microseconds only when not zero, an offset (never -00:00: written +00:00)."""
        lengths = set(map(len, col))
        if len(lengths) != 1:
            return False
        width = lengths.pop()
        shape = shapes.get(width)
        if shape is None:
            return False
        joined = "\n".join(col)
        n = len(col)
        for at, char in shape:
            found = joined[at :: width + 1]
            if char == "±":
                if found.count("+") + found.count("-") != n:
                    return False
            elif found.count(char) != n:
                return False
        return "-00:00" not in joined and ".000000" not in joined

    return as_written


_date_as_written = _iso_shape(_DATE_SHAPES)
_datetime_as_written = _iso_shape(_DATETIME_SHAPES)


def _decimal(prop: dict[str, Any], nulls: frozenset[str], native: bool) -> Renderer:
    """Numbers: parsed as Decimal, written as the Decimal's exact text (a finite number's text
    has no letter but E: 'a' and 'I' mean NaN or Infinity, which the slow path refuses)."""

    def render(col: Sequence[str]) -> Rendered:
        out: Sequence[str]
        try:
            if nulls.isdisjoint(col):
                values: list[Any] = list(map(Decimal, col))
                out = list(map(str, values))
            else:
                values = [None if t in nulls else Decimal(t) for t in col]
                out = ["null" if v is None else str(v) for v in values]
            joined = "".join(out)
            if "a" in joined or "I" in joined:
                raise ValueError("not finite")
        except _SLOW_ERRORS:
            values = _slowly(prop, nulls, col)
            out = ["null" if v is None else str(v) for v in values]
        return out, False, (values if native else None)

    return render


def _boolean(prop: dict[str, Any], nulls: frozenset[str], native: bool) -> Renderer:
    texts = {s: "true" if v else "false" for s, v in _BOOLS.items()} | dict.fromkeys(nulls, "null")

    def render(col: Sequence[str]) -> Rendered:
        out = list(map(texts.get, col))
        if None in out:
            values: list[Any] = _slowly(prop, nulls, col)
            return _json_texts(values), False, (values if native else None)
        natives = [None if o == "null" else o == "true" for o in out] if native else None
        return out, False, natives  # type: ignore[return-value]

    return render


def _json(prop: dict[str, Any], nulls: frozenset[str], native: bool) -> Renderer:
    def render(col: Sequence[str]) -> Rendered:
        out = []
        for i, t in enumerate(col):
            try:
                out.append("null" if t in nulls else _document(t))
            except ValueError:
                raise BadRow(i) from None
        values = [None if t in nulls else loads(t) for t in col] if native else None
        return out, False, values

    return render


def column_renderer(prop: dict[str, Any], nulls: frozenset[str], native: bool) -> Renderer:
    """The renderer of one column: `nulls` are its null_values; `native`: also return its
    Python values (the replication key, compared in the tap)."""
    convert, is_string = converter_for(prop)
    if is_string:
        return _string(nulls, native)
    typed_nulls = nulls | {""}  # in a typed column an empty field is null
    if convert is to_decimal:
        return _decimal(prop, typed_nulls, native)
    if convert is to_bool:
        return _boolean(prop, typed_nulls, native)
    if convert is to_date:
        return _parsed(prop, date.fromisoformat, typed_nulls, native, _date_as_written, True)
    if convert is to_document:
        return _json(prop, typed_nulls, native)
    if convert is to_int:
        return _parsed(prop, int, typed_nulls, native, _plain_integers, False, proves=True)
    # A naive date-time is written as UTC (OPT_NAIVE_UTC); the key's own values are made aware.
    fast = _datetime if native else datetime.fromisoformat
    return _parsed(prop, fast, typed_nulls, native, _datetime_as_written, True)


def assemble(keys: Sequence[str], columns: Sequence[Rendered], suffix: str, rows: int) -> str:
    """The lines: keys[0] + col0[i] + keys[1] + col1[i] + ... + suffix, for each row i, with
    the quotes of a `quoted` column in the keys around it."""
    if not keys:
        return suffix * rows
    pieces: list[Any] = []
    close = ""
    for key, (texts, quoted, _) in zip(keys, columns, strict=False):
        pieces += (repeat(close + key + ('"' if quoted else "")), texts)
        close = '"' if quoted else ""
    pieces.append(repeat(close + suffix))
    return "".join(chain.from_iterable(zip(*pieces)))
