"""RECORD lines for a chunk of CSV rows, built column by column (tap-csv's hot path).

A chunk of rows becomes columns (slices of one flat list of its fields). Each column becomes the
JSON texts of its values, most often the CSV texts themselves, once one check over the whole
column in C has shown that the record writer would write each value so:

- integers and numbers: a regular expression over the column's lines (ASCII digits, no leading
  zero, no exponent, nothing `Decimal` or `int` would write otherwise), so no value is parsed;
- dates and date-times: `fromisoformat` over the column (it validates them), then their shape
  (what orjson writes: separators in place, microseconds only when not zero, never -00:00);
- booleans: one look-up per text in a table of spellings;
- strings: nothing to escape (then the quotes are the assembly's), else json's own escaper
  (which writes what orjson writes, byte for byte);
- JSON documents: read exactly (tapwell.singer.wire.loads) and sent as written, on one line.

The lines are then joined from those pieces (`lines`) and encoded once per stretch of ASCII rows:
a row holding a non-ASCII character is joined and encoded on its own, so that it does not make
the whole chunk's text four times wider. The text of every value is what
`MessageWriter.write_record` writes for the record dict (the golden snapshots and
tests/taps/csv pin it): a decimal is its exact text, never a float.

A column the fast checks refuse (nulls among typed values, spaces around a value, an unusual
spelling) is rendered again value by value with the converters of `types.py`; a value that does
not convert there raises `BadRow` with its index in the chunk, and the caller names its line and
column.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate, compress
from json.encoder import encode_basestring
from operator import attrgetter, not_
from typing import Any

import orjson
from tapwell.singer.wire import dumps, exact_instant, loads

from .types import (
    _BOOLS,
    _datetime,
    bounded_int,
    column_digits,
    converter_for,
    document_types,
    fits,
    one_line,
    to_bool,
    to_date,
    to_decimal,
    to_document,
    to_int,
    with_bounds,
)

# A column's JSON texts (or, when `quoted`, texts that need only their quotes: the assembly
# writes them around each, except around the `bare` rows of a `StringTexts`), and its Python
# values when it is the replication key (else None).
Rendered = tuple[Sequence[str], bool, list[Any] | None]
Renderer = Callable[[Sequence[str]], Rendered]


class StringTexts(list[str]):
    """A string column's texts, with what the assembly would otherwise look for: `bare`, the
    rows of a quoted column holding whole JSON texts (null), written without the quotes put
    around the others; `wide`, the rows holding a non-ASCII character."""

    def __init__(self, texts: Iterable[str], wide: list[int], bare: list[int] = []) -> None:  # noqa: B006 (never changed)
        super().__init__(texts)
        self.wide = wide
        self.bare = bare


_SLOW_ERRORS = (ValueError, ArithmeticError, TypeError)


class BadRow(Exception):
    """The value at `index` of the chunk does not convert to its column's type."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def refusing_nulls(prop: dict[str, Any], nulls: frozenset[str], render: Renderer) -> Renderer:
    """`render` of a column whose type takes no null (types.not_null), refusing a chunk that holds
    a null text: an empty field in a typed column, a null_values text in any (a string column's
    empty field is '', a value). BadRow at the first, named as the types refuse a value; the
    renderers themselves would write null. One look over the column in C."""
    refused = nulls if converter_for(prop)[1] else nulls | {""}
    if not refused:
        return render

    def refusing(col: Sequence[str]) -> Rendered:
        if not refused.isdisjoint(col):
            raise BadRow(next(i for i, t in enumerate(col) if t in refused))
        return render(col)

    return refusing


def _json_texts(values: list[Any]) -> list[str]:
    """Each value as orjson writes it inside a record (dates, date-times, integers, booleans,
    None): one call for the whole list, split at its commas (none of them contains one)."""
    if not values:
        return []
    try:
        return orjson.dumps(values, option=orjson.OPT_NAIVE_UTC).decode()[1:-1].split(",")
    except TypeError:  # an integer past 64 bits
        return [dumps(v).decode() for v in values]


def _datetime_texts(values: list[Any]) -> list[str]:
    """`_json_texts` of date-times: one whose offset has seconds (+00:19:32, which orjson would
    write +00:20) written in UTC, the same instant. Their time zones are collected once per value
    in C, then each distinct one looked at."""
    zones = set(map(_TZINFO, filter(None, values)))
    odd = {z for z in zones if z is not None and (type(z) is not timezone or _odd(z))}
    if odd:
        values = [exact_instant(v) if v is not None and v.tzinfo in odd else v for v in values]
    return _json_texts(values)


def _odd(zone: timezone) -> bool:
    offset = zone.utcoffset(None)
    return bool(offset.seconds % 60 or offset.microseconds)


_TZINFO = attrgetter("tzinfo")


def _slowly(prop: dict[str, Any], nulls: frozenset[str], col: Sequence[str]) -> list[Any]:
    """The column's Python values, converted one by one as `types.compile_row` does; BadRow at
    the first value that does not convert."""
    convert, _ = converter_for(prop)
    assert convert is not None
    convert = with_bounds(prop, convert)
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


# ---------------------------------------------------------------- strings


def _null_rows(col: Sequence[str], joined: str, nulls: frozenset[str]) -> list[int]:
    """Where the column's texts are null_values (`joined`: the texts joined, searched first: for
    the null value's first character alone, a memchr, then for the whole of it)."""
    if all(v and (v[0] not in joined or v not in joined) for v in nulls):
        return []
    if len(nulls) == 1:
        (only,) = nulls
        found = _indexes(col, only, len(col) // 4)  # a few: by list.index, in C (half the time)
        if found is not None:
            return found
        return list(compress(range(len(col)), map(only.__eq__, col)))  # no hashing
    return list(compress(range(len(col)), map(nulls.__contains__, col)))


def _indexes(col: Sequence[str], value: str, most: int) -> list[int] | None:
    """Where `value` is in `col`; None once it is found more than `most` times (then a look at
    every text is quicker than a call per find). Without counting them first: `list.count` was
    a second pass over the column (the notes' 0.043 against 0.037 CPU s per 300,000 rows)."""
    out: list[int] = []
    at = -1
    find = col.index
    try:
        while len(out) <= most:
            at = find(value, at + 1)
            out.append(at)
    except ValueError:
        return out
    return None


_ESCAPED = bytes(range(32)) + b'"\\'  # what a JSON string escapes (orjson: nothing else)


def kept_rows(texts: Sequence[str], keep: list[bool]) -> list[str]:
    """The texts of the rows `keep` says to keep; a StringTexts stays one, its bare and wide
    rows numbered among the rows kept."""
    out = list(compress(texts, keep))
    if type(texts) is not StringTexts:
        return out
    place = list(accumulate(keep, initial=-1))[1:]  # a kept row's index among the kept
    return StringTexts(
        out,
        [place[i] for i in texts.wide if keep[i]],
        [place[i] for i in texts.bare if keep[i]],
    )


def _wide_rows(texts: Sequence[str]) -> list[int]:
    """The rows whose text holds a non-ASCII character."""
    return list(compress(range(len(texts)), map(not_, map(str.isascii, texts))))


def _to_escape(text: str) -> int:
    """How many quotes, backslashes and control characters `text` holds (one pass in C over its
    UTF-8 bytes, whose multi-byte sequences hold none of them)."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: counted as one, json's escaper judges
        return 1 + len(text)
    return len(raw) - len(raw.translate(None, _ESCAPED))


def _string(nulls: frozenset[str], native: bool) -> Renderer:
    """Plain strings: as they are when nothing needs escaping (the assembly quotes them), else
    escaped; only the null_values mean null ('' stays '')."""

    in_null = {v: _to_escape(v) for v in nulls}  # a null_value's own (\\N: its backslash)

    def render(col: Sequence[str]) -> Rendered:
        natives = [None if t in nulls else t for t in col] if native else None
        joined = "".join(col)
        at = _null_rows(col, joined, nulls) if nulls else []
        wide = [] if joined.isascii() else _wide_rows(col)
        # the null rows' own characters to escape, summed in C (a generator: 5 ms per 300,000)
        own = sum(map(in_null.__getitem__, map(col.__getitem__, at)))
        if '"' not in joined and _to_escape(joined) == own:
            texts = StringTexts(col, wide, at)  # nothing to escape (but in the null_values)
            for i in at:
                texts[i] = "null"
            return texts, True, natives
        texts = StringTexts(map(encode_basestring, col), wide)
        for i in at:
            texts[i] = "null"
        return texts, False, natives

    return render


# ---------------------------------------------------------------- integers and numbers

# One text each, as `str(int(text))` and `str(Decimal(text))` write it (and so as the record
# writer does): an integer of at most 4300 digits (int()'s limit: more is refused); a decimal
# without an exponent, unless it is below 1e-6 (Decimal writes 0.0000001 as 1E-7). Runs of
# digits and the fraction are possessive (`*+`: what follows them is never a digit nor a dot, so
# giving some back never helps; each pattern takes exactly what it took without): the decimal's
# check took 0.026 s per 300,000 rows, 0.018 so. (A possessive repetition of whole lines would
# refuse a column whose null value starts like a number, e.g. '1x'.)
_INTEGER = r"(?:0|-?[1-9][0-9]{0,4299}+)"
_NUMBER = r"(?!-?0\.000000[0-9])-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+"


def _number_of(room: tuple[int, int] | None) -> str:
    """`_NUMBER` for a column of at most `room` digits before the point and after it
    (types.column_digits; None: any): a value with more is rendered carefully, which refuses it
    or, when only zeros end its fraction, writes it as it is."""
    if room is None:
        return _NUMBER
    whole, scale = (min(n, 4300) for n in room)  # past: the careful path (re's repeat limit)
    before = f"(?:0|[1-9][0-9]{{0,{whole - 1}}}+)" if whole > 0 else "0"
    after = f"(?:\\.[0-9]{{1,{scale}}}+)?+" if scale > 0 else ""
    return rf"(?!-?0\.000000[0-9])-?{before}{after}"


def _lines_of(item: str, nulls: frozenset[str] = frozenset()) -> re.Pattern[str]:
    """A pattern for a column's texts joined by newlines, each `item` or one of `nulls`."""
    if nulls:
        item = "(?:" + "|".join([item, *map(re.escape, sorted(nulls, reverse=True))]) + ")"
    return re.compile(f"{item}(?:\\n{item})*")


def _shaped(
    item: str,
    nulls: frozenset[str],
    native: bool,
    careful: Renderer,
    plain: Callable[[Sequence[str]], bool] | None = None,
) -> Renderer:
    """Integers or numbers: the texts as they are when every one is `item` (a null among them
    written null), proved by one match over the column (or by `plain`, a quicker test of a
    column without nulls); else as `careful` renders them."""
    alone = _lines_of(item)
    if native or any(alone.fullmatch(v) for v in nulls) or any("\n" in v for v in nulls):
        return careful  # needs values, or a null that reads as a number, or spans lines
    either = _lines_of(item, nulls)
    to_null = dict.fromkeys(nulls, "null")

    def render(col: Sequence[str]) -> Rendered:
        if plain is not None and plain(col):
            return col, False, None
        joined = "\n".join(col)
        if joined.count("\n") == len(col) - 1:  # no text of its own holds a newline
            if plain is None and alone.fullmatch(joined):
                return col, False, None
            if either.fullmatch(joined):
                return list(map(to_null.get, col, col)), False, None
        return careful(col)

    return render


def _decimal(prop: dict[str, Any], nulls: frozenset[str], native: bool) -> Renderer:
    """Numbers: parsed as Decimal, written as the Decimal's exact text (a finite number's text
    has no letter but E: 'a' and 'I' mean NaN or Infinity, which the slow path refuses)."""

    room = column_digits(prop)

    def render(col: Sequence[str]) -> Rendered:
        out: Sequence[str]
        try:
            text = "".join(col)  # Decimal() also reads '1_0.5' and non-ASCII digits: to_decimal
            if "_" in text or not text.isascii():
                raise ValueError("not plain")
            values: list[Any] = [None if t in nulls else Decimal(t) for t in col]
            out = ["null" if v is None else str(v) for v in values]
            joined = "".join(out)
            if "a" in joined or "I" in joined:
                raise ValueError("not finite")
            if room and not all(fits(v, *room) for v in values if v is not None):
                raise ValueError("too many digits")
        except _SLOW_ERRORS:
            values = _slowly(prop, nulls, col)
            out = ["null" if v is None else str(v) for v in values]
        return out, False, (values if native else None)

    return render


# ---------------------------------------------------------------- dates, date-times, integers


def _parsed(
    prop: dict[str, Any],
    fast: Callable[[str], Any],
    nulls: frozenset[str],
    native: bool,
    as_written: Callable[[Sequence[str]], bool],
    quoted: bool,
    json_texts: Callable[[list[Any]], list[str]] = _json_texts,
) -> Renderer:
    """Integers, dates, date-times: parsed by `fast` in C (which validates them), written as
    they are when `as_written` says orjson would write them so, else by orjson. A column is
    parsed whole first when `fast` refuses every null value ('' among them): a null then makes
    it fail, and it is parsed again minding the nulls."""
    nulls_fail = not any(_takes(fast, v) for v in nulls)

    def render(col: Sequence[str]) -> Rendered:
        try:
            if nulls_fail and not native and as_written(col):
                # Parsed only to validate: no list of values is kept (each value freed as made).
                try:
                    deque(map(fast, col), 0)
                except _SLOW_ERRORS:
                    pass
                else:
                    return col, quoted, None
            if nulls_fail:
                try:
                    values = list(map(fast, col))
                except _SLOW_ERRORS:
                    pass
                else:
                    if as_written(col):
                        return col, quoted, (values if native else None)
                    return json_texts(values), False, (values if native else None)
            values = [None if t in nulls else fast(t) for t in col]
        except _SLOW_ERRORS:
            values = _slowly(prop, nulls, col)
        return json_texts(values), False, (values if native else None)

    return render


def _takes(fast: Callable[[str], Any], text: str) -> bool:
    try:
        fast(text)
    except _SLOW_ERRORS:
        return False
    return True


def _plain_integers(col: Sequence[str]) -> bool:
    """Every text is ASCII digits without a leading zero (and not empty), at most 4300 of them
    (int()'s limit): what orjson writes for its int. Quicker than the regular expression: C
    passes over the column's texts joined by newlines (a text holding one adds one)."""
    joined = "\n".join(col)
    if not joined.isascii():
        return False
    raw = joined.encode()
    return (
        not raw.translate(None, b"0123456789\n")
        and raw.count(b"\n") == len(col) - 1
        and raw[:1] not in (b"0", b"\n", b"")
        and b"\n0" not in raw
        and b"\n\n" not in raw
        and not raw.endswith(b"\n")
        and (len(raw) <= 4300 or max(map(len, col)) <= 4300)
    )


# Where the separators are in the texts orjson writes for a date, and for a date-time with
# microseconds and without: {length: ((position, character), ...)}; "±" is + or -.
Shapes = dict[int, tuple[tuple[int, str], ...]]
_DATE_SHAPES: Shapes = {10: ((4, "-"), (7, "-"))}
_DATETIME_SHAPES: Shapes = {
    32: ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (26, "±"), (29, ":")),
    25: ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "±"), (22, ":")),
}


def _iso_shape(shapes: Shapes) -> Callable[[Sequence[str]], bool]:
    fractions = {width for width, shape in shapes.items() if (19, ".") in shape}

    def as_written(col: Sequence[str]) -> bool:
        """The texts (which fromisoformat also parses: digits where digits go) are each
        exactly what orjson writes for its value: of one length of `shapes` with its separators
        in place, microseconds only when not zero, an offset (never -00:00: written +00:00)."""
        width = len(col[0])
        shape = shapes.get(width)
        if shape is None:
            return False
        joined = "\n".join(col)
        n = len(col)
        if len(joined) != n * (width + 1) - 1 or joined[width :: width + 1].count("\n") != n - 1:
            return False  # not all of one length (no parsed text holds a newline)
        west = False  # an offset below UTC: only there can -00:00 be
        for at, char in shape:
            found = joined[at :: width + 1]
            if char == "±":
                minus = found.count("-")
                if found.count("+") + minus != n:
                    return False
                west = west or minus > 0
            elif found.count(char) != n:
                return False
        # Each search goes over the whole column (0.005 s per 300,000 date-times): only where the
        # shape lets it match (a shape with a fraction; a - sign before an offset).
        if west and "-00:00" in joined:
            return False
        return width not in fractions or ".000000" not in joined

    return as_written


_date_as_written = _iso_shape(_DATE_SHAPES)
_datetime_as_written = _iso_shape(_DATETIME_SHAPES)


# ---------------------------------------------------------------- booleans, documents


def _boolean(prop: dict[str, Any], nulls: frozenset[str], native: bool) -> Renderer:
    texts = {s: "true" if v else "false" for s, v in _BOOLS.items()} | dict.fromkeys(nulls, "null")
    written = frozenset({"true", "false"} - nulls)  # texts that are their own JSON

    def render(col: Sequence[str]) -> Rendered:
        if not native and set(col) <= written:
            return col, False, None
        out = list(map(texts.get, col))
        if None in out:
            values: list[Any] = _slowly(prop, nulls, col)
            return _json_texts(values), False, (values if native else None)
        natives = [None if o == "null" else o == "true" for o in out] if native else None
        return out, False, natives  # type: ignore[return-value]

    return render


def _json(prop: dict[str, Any], nulls: frozenset[str], native: bool) -> Renderer:
    """A document as written once it parses as a kind the column takes (every digit kept), on
    one line."""
    taken = document_types(prop)

    def render(col: Sequence[str]) -> Rendered:
        out = []
        for i, t in enumerate(col):
            if t in nulls:
                out.append("null")
                continue
            try:
                value = loads(t)
            except ValueError:
                raise BadRow(i) from None
            if taken is not None and type(value) not in taken:
                raise BadRow(i)  # e.g. an array in an object column
            out.append(one_line(t))
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
        careful = _decimal(prop, typed_nulls, native)
        return _shaped(_number_of(column_digits(prop)), typed_nulls, native, careful)
    if convert is to_bool:
        return _boolean(prop, typed_nulls, native)
    if convert is to_date:
        return _parsed(prop, date.fromisoformat, typed_nulls, native, _date_as_written, True)
    if convert is to_document:
        return _json(prop, typed_nulls, native)
    if convert is to_int and (bounded := bounded_int(prop)) is not None:
        return _parsed(prop, bounded, typed_nulls, native, _plain_integers, False)
    if convert is to_int:
        careful = _parsed(prop, to_int, typed_nulls, native, _plain_integers, False)
        return _shaped(_INTEGER, typed_nulls, native, careful, _plain_integers)
    # A naive date-time is written as UTC (OPT_NAIVE_UTC); the key's own values are made aware.
    fast = _datetime if native else datetime.fromisoformat
    return _parsed(prop, fast, typed_nulls, native, _datetime_as_written, True, _datetime_texts)


def may_be_wide(prop: dict[str, Any]) -> bool:
    """Whether a column's JSON texts may hold a non-ASCII character (strings and documents;
    numbers, dates and booleans are ASCII once checked)."""
    convert, is_string = converter_for(prop)
    return is_string or convert is to_document


# ---------------------------------------------------------------- the lines


def _pieces(keys: Sequence[str], columns: Sequence[Rendered], suffix: str, rows: int) -> list[Any]:
    """The lines as one list of pieces, row after row: keys[0] + col0[i] + keys[1] + col1[i] +
    ... + suffix, with the quotes of a `quoted` column in the keys around it. Row i's pieces are
    those from 1 + 2 * len(keys) * i on (the first row's also the piece before)."""
    width = 2 * len(keys)
    quoted = tuple(q for _, q, _ in columns[: len(keys)])
    out = _frame(tuple(keys), quoted, suffix, rows).copy()
    for j, (texts, _, _) in enumerate(columns[: len(keys)]):
        out[1 + 2 * j :: width] = texts
        if type(texts) is StringTexts:  # bare rows: without the quotes of the pieces around
            for at in texts.bare:
                before = 2 * j + width * at
                out[before] = out[before][:-1]
                out[before + 2] = out[before + 2][1:]
    return out


@lru_cache(maxsize=16)
def _frame(keys: tuple[str, ...], quoted: tuple[bool, ...], suffix: str, rows: int) -> list[Any]:
    """`_pieces` before the values are put in (None where each goes): made once per stream and
    chunk size, copied per chunk (a copy costs a third of making it)."""
    width = 2 * len(keys)
    opens = ['"' if q else "" for q in quoted]
    seps = [
        ('"' if quoted[j] else "") + (keys[j + 1] + opens[j + 1] if j + 1 < len(keys) else "")
        for j in range(len(keys))
    ]
    seps[-1] += suffix + keys[0] + opens[0]  # a row's end, the next one's start
    out: list[Any] = [None] * (width * rows + 1)
    out[0] = keys[0] + opens[0]
    out[2::2] = seps * rows
    last = seps[-1]
    out[-1] = last[: len(last) - len(keys[0] + opens[0])]  # (the csv lines' first key is "")
    return out


def assemble(keys: Sequence[str], columns: Sequence[Rendered], suffix: str, rows: int) -> str:
    """The lines: keys[0] + col0[i] + keys[1] + col1[i] + ... + suffix, for each row i, with
    the quotes of a `quoted` column in the keys around it."""
    if not keys:
        return suffix * rows
    return "".join(_pieces(keys, columns, suffix, rows))


def lines(
    keys: Sequence[str],
    columns: Sequence[Rendered],
    suffix: str,
    rows: int,
    wide: Sequence[bool],
    errors: str = "strict",
) -> bytes:
    """`assemble`'s lines encoded as UTF-8: joined and encoded a stretch of ASCII rows at a
    time, each row with a non-ASCII character on its own. `wide`: which columns may hold one
    (`may_be_wide`; the others are not looked at, which costs only speed if they do); `errors`:
    the encoder's (the csv BATCH files keep a lone surrogate: surrogatepass)."""
    if not keys:
        return (suffix * rows).encode()
    out = _pieces(keys, columns, suffix, rows)
    odd: set[int] = set()
    for (texts, _, _), may in zip(columns, wide, strict=False):
        if type(texts) is StringTexts:
            odd.update(texts.wide)
        elif may and not "".join(texts).isascii():
            odd.update(_wide_rows(texts))
    if not odd:
        return "".join(out).encode("utf-8", errors)
    width = 2 * len(keys)
    parts: list[bytes] = []
    at = 0
    for row in sorted(odd):
        start = 1 + width * row
        parts += (
            "".join(out[at:start]).encode("utf-8", errors),
            "".join(out[start : start + width]).encode("utf-8", errors),
        )
        at = start + width
    parts.append("".join(out[at:]).encode("utf-8", errors))
    return b"".join(parts)
