"""A plain number's text for an unconstrained `numeric` column (a `number` without multipleOf,
x-scale or x-precision): PostgreSQL keeps the scale of the text it is given (`1.50` stays 1.50),
so the column is given the source's text, as the csv lane gives it the file's field. RECORD lines
are read with floats (tapwell.singer.wire.loads), whose text is the shortest that reads back
(`1.50` as 1.5, `1E5` as 100000.0), so:

- without nesting, a batch's rows are encoded from the floats and `PlainTexts` puts the lines'
  own texts into them a thousand rows at a time, before they are sent: one look over the joined
  lines finds the few that may hold such a number (`may_differ`'s test), and only those are
  read key by key (or again, as `plain_respeller` does, when a key is escaped or written twice);
- with `nested: tables`, a record that may hold one is read again whole (`whole_respeller`), so
  its root and child tables get every number as written.

Each such number is a JsonNumber (a Decimal: its text as written) or its text in the row."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Collection
from itertools import accumulate, repeat
from typing import Any

import orjson
from tapwell.sdk.target_lanes import everywhere
from tapwell.singer.wire import JsonNumber, dumps, loads, loads_spelled, may_respell

from .encode import NULL

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
# in that translation, an "e" after a digit: found by its rare "e" first (a search for "9e"
# steps through every run of digits: 0.16 against 0.07 µs per 160-byte line)
_EXPONENT = re.compile(rb"e(?<=9e)")


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
    """A record with the line's own text of each float of `props` (unconstrained numeric
    columns) whose text has another scale, key by key (and `documents`, the jsonb columns'
    respell, run first): what PlainTexts does for a line with an escape or a key twice, and the
    rule its random test holds it to. It was RowEncoder.respell, per line, until 2026-12-07."""
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


def _suspect(own: bytes) -> bool:
    """Whether a number's text may be stored otherwise from its float (`may_differ`'s test for
    one number): an exponent, or a fraction of two digits or more ending in 0."""
    if b"e" in own or b"E" in own:
        return True
    point = own.find(b".")
    return point >= 0 and own[-1] == 48 and len(own) - point > 2  # 48: "0"


def _same_scale(own: bytes) -> bool:
    """Whether an exponent's float is written (its shortest text, as encode.py writes it) with the
    scale of its own text, so its row keeps it (`4.002125e-2` and 0.04002125: 8 places)."""
    return (b"e" in own or b"E" in own) and scale(own) == scale(repr(float(own)).encode())


def as_read_line(record: dict[str, Any], line: bytes) -> dict[str, Any]:
    """RowEncoder.respell that keeps the record: PlainTexts reads the lines later."""
    return record


class PlainTexts:
    """A plain number's text for an unconstrained numeric column, put into a batch's COPY rows
    after they were encoded from floats, a thousand rows at a time (before the rows are sent:
    `feed`) and at load (`patch`), from the RECORD lines the loop keeps (RowEncoder.keep_lines).

    One look over the rows' joined lines (`FRACTION_ZERO` and the exponent translate, in C)
    finds the few lines that may hold such a number (`may_differ`'s test); in each, a usual
    line (no backslash, each column's key once) has the text after the key put into the row
    field as it stands (`1.50`, `1E5`, which PostgreSQL reads as the csv lane's field); any
    other line is read again and respelled as `plain_respeller` does, key by key."""

    def __init__(self, columns: list[tuple[str, str, str]], props: Collection[str]) -> None:
        wanted = set(props)
        # a key as the line writes it -> (its field in a row, its property)
        self.fields = {dumps(p): (j, p) for j, (p, _, _) in enumerate(columns) if p in wanted}
        self.respell = plain_respeller(list(wanted), None) or as_read_line
        # id(batch) -> [batch, how many of its rows were looked at], until its load
        self.progress: dict[int, list[Any]] = {}
        self.encoder: Any = None  # the RowEncoder made with `feed` (PostgresLoader.load asks)

    def feeding(self, feed: Callable[[Any], None] | None) -> Callable[[Any], None]:
        """RowEncoder.feed: the rows patched, then `feed` (the streamed COPY's), if any."""

        def patched(batch: Any) -> None:
            self.patch(batch)
            if feed is not None:
                feed(batch)

        return patched

    def patch(self, batch: Any, last: bool = False) -> None:
        """Put the texts into the rows of `batch` read since the last call (`last`: at its load,
        after which it is forgotten)."""
        seen = self.progress.get(id(batch))
        if seen is None or seen[0] is not batch:
            seen = self.progress[id(batch)] = [batch, 0]
        if last:
            del self.progress[id(batch)]
        rows, texts = batch.records, batch.texts
        start, end = seen[1], len(rows)
        if start >= end or len(texts) < end:
            return
        seen[1] = end
        part = texts[start:end]
        texts[start:end] = repeat(None, end - start)  # looked at: free them as they go
        try:
            data = b"".join(part)  # (lines end in `}`: no number runs on into the next)
        except TypeError:  # a record that came without its line (no text to read)
            part = [t or b"" for t in part]
            data = b"".join(part)
        ends: list[int] | None = None
        again: set[int] = set()  # lines read again whole: their other numbers too
        for found in (self._fractions(data), self._exponents(data)):
            for at in found:
                if ends is None:
                    ends = list(accumulate(map(len, part)))
                i = bisect_right(ends, at)
                if i not in again and self._number(
                    rows, start + i, part[i], at - ends[i] + len(part[i])
                ):
                    again.add(i)

    @staticmethod
    def _fractions(data: bytes) -> Any:
        return (m.start() for m in FRACTION_ZERO.finditer(data))

    @staticmethod
    def _exponents(data: bytes) -> Any:
        return (m.start() for m in _EXPONENT.finditer(data.translate(_EXPONENTS)))

    def _number(self, rows: list[Any], index: int, line: bytes, at: int) -> bool:
        """The number at `at` in a line, which may be stored otherwise from its float: into its
        row's field when it is the value of a column's key, that key written once (else the
        record's own is not known: the line is read again whole, and True is returned)."""
        row = rows[index]
        if row is None:  # refused: its error is the load's
            return True
        if b"\\" in line:  # a key may be escaped
            self._again(rows, index, line)
            return True
        colon = line.rfind(b":", 0, at)
        found = NUMBER_AFTER.match(line, colon) if colon > 0 else None
        if found is None or not found.start(1) <= at < found.end(1):
            return False  # no property's value: an array's element, or text in a string
        end = colon
        while line[end - 1] in b" \t\r\n":
            end -= 1
        key = line[line.rfind(b'"', 0, end - 1) : end]
        field = self.fields.get(key)
        own = found.group(1)
        if field is None or not _suspect(own) or _same_scale(own):
            return False
        if line.count(key) > 1:  # which one is the record's own: read it again
            self._again(rows, index, line)
            return True
        fields = row.split("\t")  # (COPY text escapes a tab inside a value)
        if fields[field[0]] != NULL:  # NULL: the key is a document's, the record has none
            fields[field[0]] = own.decode()
            rows[index] = "\t".join(fields)
        return False

    def _again(self, rows: list[Any], index: int, line: bytes) -> None:
        """A line with escapes or a key twice: its record read again, respelled key by key."""
        message = loads(line)
        record = message.get("record") if type(message) is dict else None
        if type(record) is not dict:  # a jsonl file's line made a RECORD line by the loop
            return
        spelled = self.respell(record, line)
        if spelled is record:
            return
        fields = rows[index].split("\t")
        for j, prop in self.fields.values():
            value = spelled.get(prop)
            if value is not record.get(prop) and fields[j] != NULL:
                fields[j] = str(value)
        rows[index] = "\t".join(fields)
