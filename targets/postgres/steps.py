r"""A csv BATCH file's number columns held on the way into COPY to what the RECORD lane takes:

- the text's shape: COPY hands the text to PostgreSQL's input functions, which read more than a
  JSON number (blanks around it, '+5', '.5', '5.' in every version; 'NaN', 'Infinity' in numeric
  from 14 on; hex in double precision; '0x10', '0o17', '0b11', '1_000' from 16 on). A value of an
  integer or number property must be spelled as JSON spells it (tapwell.sdk.tap_batch writes it
  so), `-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?`, in the words of target-duckdb's lane (its
  files.py); an integer property's value a whole number. Our taps write an integer `-?[0-9]+`;
  spelled with a point or an exponent ('1E+3', '1.0', '10E-1', which RECORD lines load as 1000
  and 1) it is taken here: a numeric column reads it exactly, and for a smallint, integer or
  bigint column, whose input reads digits only, the row is sent with its digits instead
  (`NumberScan.as_integers`; one past the column's range refused here, naming the file's text);
- the scale: a column whose property keeps at most k digits after the point (`x-scale` k, or
  `multipleOf` 10^-k) would have 1.239 rounded to 1.24 by numeric(p,k)'s input, where the RECORD
  lane refuses it.

So each piece of the file (whole rows, tapwell.sdk.csv_fractions.rows_in_chunks) is looked
through before it is sent, and the file is COPYed straight into its table (or the staging table)
as it lies.

Looking is one regular expression per piece (NumberScan.first_off): at each row start it reads
the fields up to the last number column and asks whether every number is written plainly
(`12`, `-0.25`, `"12.34"`, within its scale if it has one: `12.3400` is plain in scale 2, zeros
past the scale change no value; empty is NULL). Only a row where that fails (an exponent, a
blank, NaN, a quoted newline before it, a digit past the scale) is read field by field and its
values tested exactly: the shape, then the step as Decimals with the RECORD lane's test and words
(tapwell.singer.number_steps.multiple_of, step_problem); a whole number spelled otherwise for an
integer column marks the piece, which is read closer once more to write such texts as digits. A
step that is no 10^-k (multipleOf 0.25, or 5 on an integer) has no plain text: every row of such
a file is read closer, so the lane refuses what the RECORD lane refuses.

By the same look a column whose property does not admit null (`not_null_of`) is held to a value:
NULL (the unquoted empty field; '' is `""`) there is refused as the RECORD lane refuses a null,
where COPY would store NULL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from tapwell.sdk.csv_fractions import FIELD, row_end
from tapwell.singer.number_steps import (
    multiple_of,
    number_step,
    step_problem,
    ten_to_minus,
    text_off_step,
)
from tapwell.singer.schema import property_types

from .types import family

# a number as its JSON text spells it (target-duckdb's files.NUMBER)
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
NUMBER_TYPES = ("smallint", "integer", "bigint", "numeric", "double precision", "real")
# the integer columns' largest magnitude (their input reads digits only: '1.0', '1E+3' refused)
INTEGER_BITS = {"smallint": 15, "integer": 31, "bigint": 63}

# a csv field that is not a number column's: quoted (a quote inside doubled, newlines allowed),
# or bare. Possessive (read one way, never again another): 0.14-0.15 s per 100 MB of the
# bench's file against 0.17-0.18 s with backtracking allowed, which finds no other reading
_ANY = rb'(?:"[^"]*+(?:""[^"]*+)*+"|[^,"\n]*+)'
_WHOLE = rb"-?+[0-9]++"
FIELD_END = rb"(?=[,\n]|\r\n|\Z)"  # where a field ends
NOT_EMPTY = rb"(?![,\n]|\r\n|\Z)"  # a field that is not NULL (the unquoted empty field)
NULL_PROBLEM = "is NULL (the unquoted empty field) but the schema does not allow null"
_JSON = rb"-?+[0-9]++(?:\.[0-9]++)?+(?:[eE][-+]?+[0-9]++)?+"


@dataclass(frozen=True)
class Check:
    """How one number column's text is held: its property, whether it is an integer property
    (a whole number), whether its text must be a JSON number (not when the property also takes
    a string), the RECORD lane's exact step test (None: no step) and the digits k after the
    point that step keeps (None: a step other than 10^-k), and what a refused text is not."""

    prop: dict[str, Any]
    whole: bool
    shaped: bool
    test: Any
    k: int | None
    what: str
    bits: int = 0  # a smallint, integer or bigint column's (INTEGER_BITS), else 0

    def plain(self) -> bytes:
        """A text that needs no closer look: a JSON number, within the scale if it has one (or
        an integer with an exponent of at least -k, 123456e-2, as Python writes some Decimals).
        For a step other than 10^-k no text is plain: its every value is tested."""
        if self.test is not None and self.k is None:
            return rb"(?!)"
        if self.whole:
            return _WHOLE
        if self.test is None:
            return _JSON
        k = self.k or 0
        plain = rb"-?+[0-9]++(?:\.(?=[0-9])[0-9]{0,%d}+0*+)?+" % k
        if k <= 9:
            plain = rb"%s|-?+[0-9]++[eE](?:\+?+[0-9]++|-0*+[0-%d])" % (plain, k)
        return rb"(?:%s)" % plain

    def field(self, last: bool) -> bytes:
        """The field's plain texts, bare or quoted, or empty (NULL); bare first: most are. The
        row's `last` checked field ends there (nothing after it is read)."""
        plain = self.plain()
        return rb'(?:%s|"%s"|)' % (plain, plain) + (FIELD_END if last else b"")

    def problem(self, text: str) -> str | None:
        """Why the RECORD lane would refuse `text` (a field's text, unquoted), or None."""
        short = text if len(text) <= 40 else text[:40] + "..."
        if self.shaped and NUMBER.fullmatch(text) is None:
            return f"{short!r} is not {self.what}"
        if self.whole and self.shaped and not _whole(text):
            return f"{short!r} is not {self.what}"
        if self.test is not None and text_off_step(self.test, text):
            return step_problem(self.prop, text)
        if self.bits and self.digits(text) is None:
            return f"{short!r} is not {self.what}"
        return None

    def digits(self, text: str) -> str | None:
        """An integer column's whole number (a shaped text) as the digits its input reads, or
        None past the column's range (1E+19 for a bigint, as the RECORD lane refuses it)."""
        if _DIGITS.fullmatch(text) is not None:
            return text
        value = Decimal(text)
        if value.adjusted() > 20 or abs(value) >= 2**self.bits + (value < 0):
            return None
        return str(int(value))


# index -> its Check
Checks = dict[int, Check]


class ColumnCheck(Protocol):
    """What NumberScan asks of a column's check: a number's (Check) or another kind's
    (kinds.TextCheck)."""

    @property
    def bits(self) -> int: ...

    def field(self, last: bool) -> bytes: ...

    def problem(self, text: str) -> str | None: ...


def checks_of(
    schema: dict[str, Any],
    props: dict[str, str],
    cols: list[str],
    types: dict[str, str] | None = None,
) -> Checks:
    """The number and integer columns among `cols` (of column `types`): index -> its Check. A
    property that also takes a string is held to its step only, if it has one."""
    out = {}
    for i, col in enumerate(cols):
        prop = schema.get(props.get(col, col)) or {}
        real = set(property_types(prop)) - {"null"}
        if not real & {"number", "integer"}:
            continue
        shaped = real <= {"number", "integer"}
        step = number_step(prop)
        test = multiple_of(step) if step is not None else None
        if not shaped and test is None:
            continue
        whole = real == {"integer"}
        k = ten_to_minus(step) if test is not None else None
        sqltype = (types or {}).get(col, "")
        what = _what(whole, sqltype)
        bits = INTEGER_BITS.get(family(sqltype), 0) if whole and shaped else 0
        out[i] = Check(prop, whole, shaped, test, k, what, bits)
    return out


def not_null_of(schema: dict[str, Any], props: dict[str, str], cols: list[str]) -> set[int]:
    """The columns among `cols` whose property names its types without null: NULL there is
    refused, as the RECORD lane refuses a null (a property with no type admits anything)."""
    out = set()
    for i, col in enumerate(cols):
        kinds = property_types(schema.get(props.get(col, col)) or {})
        if kinds and "null" not in kinds:
            out.add(i)
    return out


def _what(whole: bool, sqltype: str) -> str:
    """What a refused text is not, in the words of target-duckdb's lane."""
    base = family(sqltype)
    if base not in NUMBER_TYPES:
        return "a whole number" if whole else "a number"
    if whole:
        return f"a whole number a {sqltype} holds"
    if base == "numeric" and "(" in sqltype:
        p, _, s = sqltype[sqltype.index("(") + 1 : sqltype.index(")")].partition(",")
        before, after = int(p) - int(s or 0), int(s or 0)
        return (
            f"a number a {sqltype} holds exactly ({before} digits before the point, {after} after)"
        )
    return f"a finite number a {sqltype} holds"


_DIGITS = re.compile(r"-?[0-9]+")


def _whole(text: str) -> bool:
    """Whether a JSON number's text is a whole number (1E+3 and 1.0 are, as RECORD lines say)."""
    if "." not in text and "e" not in text and "E" not in text:
        return True
    try:
        value = Decimal(text)
    except InvalidOperation:
        return False
    return value == value.to_integral_value()


class NumberScan:
    """Looks through pieces of one file for a value of a checked column (a number's, or another
    kind's: kinds.py) that the RECORD lane refuses."""

    def __init__(
        self, checks: dict[int, ColumnCheck], not_null: set[int] | frozenset[int] = frozenset()
    ) -> None:
        self.checks = checks
        self.not_null = frozenset(not_null)  # columns where NULL is refused (not_null_of)
        self._last = max(checks.keys() | self.not_null)
        fields = []
        for i in range(self._last + 1):
            check = checks.get(i)
            last = i == self._last
            field = (_ANY + (FIELD_END if last else b"")) if check is None else check.field(last)
            fields.append(NOT_EMPTY + field if i in self.not_null else field)
        # the row's checked values all plain
        plain_row = b",".join(fields)
        self._plain = re.compile(plain_row)
        self._closer = re.compile(rb"\n(?!" + plain_row + rb")")  # the start of any other row
        self.closer = 0  # rows read field by field, for the log
        self.finished = False  # the whole file looked through (files._copy_file sets it)
        self.integers: set[int] = set()  # offsets of pieces with a whole number to write as digits
        self._spelled = False  # the piece first_off looked through has one

    def first_off(self, piece: bytes, start: int = 0) -> tuple[int, int, str] | None:
        """(offset of its row, column index, the problem) of the first number value in `piece`
        (whole rows; the rows before `start`, a header, are not looked at) that the RECORD lane
        would refuse."""
        for row in self._closer_rows(piece, start):
            off = self._row_off(piece, row)
            if off is not None:
                return off
        return None

    def as_integers(self, piece: bytes, offset: int) -> bytes:
        """The piece at `offset` in its file (looked through by first_off, now or on a first
        COPY of the file) with each integer column's whole number spelled otherwise ('1.0',
        '1E+3', '"10E-1"') written as its digits, which the column's input reads; most pieces
        have none and are given back as they are."""
        if self._spelled:
            self.integers.add(offset)
            self._spelled = False
        if offset not in self.integers:
            return piece
        out, done = [], 0
        for row in self._closer_rows(piece, row_end(piece, 0) if offset == 0 else 0):
            for start, end, digits in self._row_fields(piece, row):
                out += [piece[done:start], digits]
                done = end
        return b"".join(out) + piece[done:]

    def _closer_rows(self, piece: bytes, start: int) -> Iterator[int]:
        """The offsets of the rows of `piece` (from `start`) whose number values are not all
        plain, to be read field by field."""
        end = len(piece)
        if start < end and self._plain.match(piece, start) is None:
            yield start
        seen, quotes = start, 0
        for m in self._closer.finditer(piece, start):
            row = m.end()
            if row >= end:
                break
            quotes += piece.count(b'"', seen, row)
            seen = row
            if quotes % 2:  # a newline inside a quoted field, not a row start
                continue
            yield row

    def _row_off(self, piece: bytes, row: int) -> tuple[int, int, str] | None:
        """The row at `row` read field by field up to its last number column; its first value
        the RECORD lane would refuse, if any."""
        self.closer += 1
        for index, text, _, _ in self._numbers(piece, row):
            if text is None:
                return row, index, NULL_PROBLEM
            check = self.checks.get(index)
            if check is None:
                continue
            problem = check.problem(text)
            if problem is not None:
                return row, index, problem
            if check.bits and _DIGITS.fullmatch(text) is None:
                self._spelled = True
        return None

    def _row_fields(self, piece: bytes, row: int) -> Iterator[tuple[int, int, bytes]]:
        """(start, end, digits) of each integer column's field of the row that spells a whole
        number otherwise than with digits (first_off refused every other text)."""
        for index, text, start, end in self._numbers(piece, row):
            check = self.checks.get(index)
            if text is None or check is None:
                continue
            if isinstance(check, Check) and check.bits and _DIGITS.fullmatch(text) is None:
                digits = check.digits(text)
                if digits is not None:  # pragma: no branch - first_off refused the others
                    yield start, end, digits.encode()

    def _numbers(self, piece: bytes, row: int) -> Iterator[tuple[int, str | None, int, int]]:
        """(column index, text unquoted, field start, field end) of each non-empty checked field
        of the row at `row`, up to its last checked column, and (index, None, ...) of a NULL
        where it is refused (`not_null`)."""
        stop = row_end(piece, row)
        at = row
        for index in range(self._last + 1):
            field = FIELD.match(piece, at, stop)
            if field is None:
                break
            raw, after = field.group(), field.end()
            end = after
            if raw[-1:] == b"\r" and piece[after : after + 1] == b"\n":
                raw, end = raw[:-1], after - 1  # a file whose rows end in \r\n
            if index in self.checks and raw:  # (empty: NULL, also before \r\n)
                if raw[:1] == b'"':
                    raw = raw[1:-1].replace(b'""', b'"')
                yield index, raw.decode("utf-8", "replace"), at, end
            elif not raw and index in self.not_null:
                yield index, None, at, end
            if piece[after : after + 1] != b",":
                break
            at = after + 1


__all__ = ["Check", "Checks", "ColumnCheck", "NumberScan", "checks_of", "not_null_of"]
