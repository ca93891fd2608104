"""Date-times and times with more than 6 fraction digits in a csv BATCH file (tapwell's dialect,
tapwell.sdk.tap_batch), which a target's fast lane hands to its database as it lies: cut to the
microsecond as the RECORD lane cuts them (tapwell.singer.fraction_digits.FractionNotes), said once per
stream and field naming the file's row.

Looking costs one translate and one find per piece of the file (about 2 ms a MB); rows are walked
field by field only where a long fraction may be, and only the date-time and time columns are cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO

# A time's seconds and a fraction of more than 6 digits, in a piece whose digits all read `d`
# and whose commas read `.` (Python reads both separators; a comma between two fields may match
# too: the row is then looked at closer, nothing else).
_DIGITS = bytes.maketrans(b"0123456789,", b"d" * 10 + b".")
_LONG_FRACTION = b":dd.ddddddd"
# a csv field: quoted (a quote inside doubled), or bare
FIELD = re.compile(rb'"(?:[^"]|"")*"|[^,"\n]*')
# cut(text, start, column index, offset of its row in the piece): the text cut (and said)
Cut = Callable[[str, int, int, int], str]


def moment_start(sqltype: str) -> int | None:
    """Where a value's time begins in a column of `sqltype` (for cut_fraction): 10 for a
    timestamp, 0 for a time, None for any other type."""
    base = sqltype.strip().lower()
    if base.startswith("timestamp"):
        return 10
    if base.startswith("time"):
        return 0
    return None


def long_fraction(piece: bytes) -> bool:
    """Whether `piece` may hold a time with more than 6 fraction digits."""
    return piece.translate(_DIGITS).find(_LONG_FRACTION) >= 0


def row_end(piece: bytes, pos: int) -> int:
    """Where the row starting at `pos` ends (after its newline)."""
    end = piece.find(b"\n", pos)
    while end >= 0 and piece.count(b'"', pos, end) % 2:
        end = piece.find(b"\n", end + 1)
    return len(piece) if end < 0 else end + 1


def cut_fractions(piece: bytes, width: int, moments: dict[int, int], cut: Cut) -> bytes:
    """`piece` (whole csv rows of `width` columns) with each value of a date-time or time column
    (`moments`: column index -> moment_start) passed through `cut`; quoting kept as it was."""
    shape = piece.translate(_DIGITS)
    out: list[bytes] = []
    done = pos = 0
    while pos < len(piece):
        end = row_end(piece, pos)
        if shape.find(_LONG_FRACTION, pos, end) < 0:
            pos = end
            continue
        at = pos
        for index in range(width):
            field = FIELD.match(piece, at)
            if field is None:
                break
            start, stop = field.span()
            if index in moments:
                raw = piece[start:stop]
                quoted = raw[:1] == b'"'
                text = (raw[1:-1].replace(b'""', b'"') if quoted else raw).decode(
                    "utf-8", "surrogateescape"
                )
                kept = cut(text, moments[index], index, pos)
                if kept is not text:
                    new = kept.encode("utf-8", "surrogateescape")
                    out += [
                        piece[done:start],
                        b'"' + new.replace(b'"', b'""') + b'"' if quoted else new,
                    ]
                    done = stop
            if piece[stop : stop + 1] != b",":
                break
            at = stop + 1
        pos = end
    out.append(piece[done:])
    return b"".join(out)


def rows_in_chunks(f: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """The file in pieces of about `size` bytes that each end where a row ends (a newline after
    an even number of quotes: a quoted field may hold newlines)."""
    carry = b""
    while chunk := f.read(size):
        data = carry + chunk if carry else chunk
        end = data.rfind(b"\n")
        while end >= 0 and data.count(b'"', 0, end) % 2:
            end = data.rfind(b"\n", 0, end)
        yield data[: end + 1]
        carry = data[end + 1 :]
    if carry:
        yield carry


def scan(f: IO[bytes], width: int, moments: dict[int, int], cut: Cut) -> None:
    """Every long fraction of a date-time or time column in file `f` passed to `cut`, with
    its row's offset in the file: for a database that cuts them itself, to say so."""
    offset = 0
    for piece in rows_in_chunks(f):
        if long_fraction(piece):
            cut_fractions(piece, width, moments, _shifted(cut, offset))
        offset += len(piece)


def _shifted(cut: Cut, offset: int) -> Cut:
    """`cut` told row offsets in the file rather than in the piece at `offset`."""
    return lambda text, start, index, at: cut(text, start, index, offset + at)


def row_number(data: bytes) -> int:
    """The row (the header is row 1) that starts where `data` (a file's first bytes) ends."""
    row = pos = 0
    while pos < len(data):
        pos = row_end(data, pos)
        row += 1
    return row + 1


__all__ = [
    "FIELD",
    "cut_fractions",
    "long_fraction",
    "moment_start",
    "row_end",
    "row_number",
    "rows_in_chunks",
    "scan",
]
