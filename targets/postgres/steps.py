"""A csv BATCH file's number columns held to their scale on the way into COPY: a column whose
property keeps at most k digits after the point (`x-scale` k, or `multipleOf` 10^-k) would have
1.239 rounded to 1.24 by numeric(p,k)'s input, where the RECORD lane refuses it. So each piece of
the file (whole rows, tapwell.sdk.csv_fractions.rows_in_chunks) is looked through before it is
sent, and the file is COPYed straight into its table (or the staging table) as it lies.

Looking is one regular expression per piece (StepScan.first_off): at each row start it reads
the fields up to the last step column and asks whether every step value is written plainly
within its scale (`-12.34`, `"12.34"`, `12.3400`: zeros past the scale change no value; empty
is NULL). Only a row where that fails (an exponent, spaces, NaN, a quoted newline before it, a
digit past the scale) is read field by field and its values tested exactly, as Decimals, with
the RECORD lane's test and words (tapwell.singer.schema.multiple_of, step_problem). A step that
is no 10^-k (multipleOf 0.25, or 5 on an integer) has no plain text: every row of such a file is
read closer, so the lane refuses what the RECORD lane refuses.
"""

from __future__ import annotations

import re
from typing import Any

from tapwell.sdk.csv_fractions import FIELD, row_end
from tapwell.singer.schema import (
    multiple_of,
    number_step,
    property_types,
    step_problem,
    ten_to_minus,
    text_off_step,
)

# index -> (property, k (None: a step other than 10^-k), exact test)
Steps = dict[int, tuple[dict[str, Any], int | None, Any]]

# a csv field that is not a step column's: quoted (a quote inside doubled, newlines allowed),
# or bare. Possessive (read one way, never again another): 0.14-0.15 s per 100 MB of the
# bench's file against 0.17-0.18 s with backtracking allowed, which finds no other reading
_ANY = rb'(?:"[^"]*+(?:""[^"]*+)*+"|[^,"\n]*+)'


def steps_of(schema: dict[str, Any], props: dict[str, str], cols: list[str]) -> Steps:
    """The number and integer columns among `cols` whose property has a step (schema.number_step:
    multipleOf, or 10^-k for x-scale k): index -> (property, k, exact test), k None when the step
    is no 10^-k (multipleOf 0.25 or 5: every row of the file is then read closer, as the RECORD
    lane tests every value)."""
    out = {}
    for i, col in enumerate(cols):
        prop = schema.get(props.get(col, col)) or {}
        kinds = property_types(prop)
        step = number_step(prop) if "number" in kinds or "integer" in kinds else None
        test = multiple_of(step) if step is not None else None
        if test is not None:
            out[i] = (prop, ten_to_minus(step), test)
    return out


def _plain(k: int | None) -> bytes:
    """A number written plainly within k digits after the point: digits and a point, or an
    integer with an exponent of at least -k (123456e-2, as Python writes some Decimals). For a
    step other than 10^-k (k None) no text is plain: its every value is tested."""
    if k is None:
        return rb"(?!)"
    plain = rb"[-+]?+[0-9]*+(?:\.[0-9]{0,%d}+0*+)?+" % k
    if k > 9:
        return plain
    return rb"(?:%s|[-+]?+[0-9]++[eE](?:\+?+[0-9]++|-0*+[0-%d]))" % (plain, k)


class StepScan:
    """Looks through pieces of one file for a step column's value past its scale."""

    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self._last = max(steps)
        fields = []
        for i in range(max(steps) + 1):
            if i in steps:
                plain = _plain(steps[i][1])
                fields.append(rb'(?:"%s"|%s)(?=[,\n]|\Z)' % (plain, plain))
            else:
                fields.append(_ANY)
        plain_row = b",".join(fields)
        self._plain = re.compile(plain_row)  # a row whose step values are all plainly in scale
        self._closer = re.compile(rb"\n(?!" + plain_row + rb")")  # the start of any other row
        self.closer = 0  # rows read field by field, for the log

    def first_off(self, piece: bytes, start: int = 0) -> tuple[int, int, str] | None:
        """(offset of its row, column index, the problem) of the first value past its step in
        `piece` (whole rows; the rows before `start`, a header, are not looked at)."""
        end = len(piece)
        if start < end and self._plain.match(piece, start) is None:
            off = self._row_off(piece, start)
            if off is not None:
                return off
        seen, quotes = start, 0
        for m in self._closer.finditer(piece, start):
            row = m.end()
            if row >= end:
                break
            quotes += piece.count(b'"', seen, row)
            seen = row
            if quotes % 2:  # a newline inside a quoted field, not a row start
                continue
            off = self._row_off(piece, row)
            if off is not None:
                return off
        return None

    def _row_off(self, piece: bytes, row: int) -> tuple[int, int, str] | None:
        """The row at `row` read field by field up to its last step column; its first value past
        its step, if any."""
        self.closer += 1
        stop = row_end(piece, row)
        at = row
        for index in range(self._last + 1):
            field = FIELD.match(piece, at, stop)
            if field is None:
                break
            raw = field.group()
            if index in self.steps and raw:
                text = (raw[1:-1] if raw[:1] == b'"' else raw).decode("utf-8", "replace")
                prop, _, test = self.steps[index]
                if text_off_step(test, text):  # not a number: PostgreSQL refuses it and says so
                    return row, index, step_problem(prop, text)
            if piece[field.end() : field.end() + 1] != b",":
                break
            at = field.end() + 1
        return None


__all__ = ["StepScan", "Steps", "steps_of"]
