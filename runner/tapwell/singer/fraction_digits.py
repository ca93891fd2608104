"""Fraction digits past the microsecond: a date-time's or time's text cut to 6 digits, and said
once per stream and field (`FractionNotes`), as every target and tap-csv do it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from tapwell.singer.datetime_rule import parse_datetime, parse_time

# A date-time or time may carry more fraction digits than a column holds (.NET and SQL Server
# write 7, Java and Go up to 9; every target column holds microseconds). Python reads them
# (dropping the extra digits), PostgreSQL rounds them (`23:59:59.9999999` into the next day), so
# every target cuts the text to 6 digits before it loads it, and says so once per stream and field.
# The test per value is on the text's shape, no regex: the 7th fraction digit of an extended
# time sits at a fixed place; any other time form (basic `T235959.1234567`, a leading `T`) is
# looked at whole. `'' in ':'` holds, so a value too short to have a time is not.
CUT_GUARDS: dict[Any, tuple[str, int]] = {  # parser -> (test of `v`, where its time begins)
    parse_datetime: ("v[26:27].isdigit() or v[13:14] not in ':'", 10),
    parse_time: ("v[15:16].isdigit() or v[2:3] not in ':'", 0),
}


def cut_fraction(text: str, start: int = 0) -> str | None:
    """`text` with the first fraction of a second after `start` cut to 6 digits (truncated, never
    rounded: the instant moves by less than a microsecond and never into the next second), or
    None when it has at most 6. Python reads `.` and `,` as the separator; kept as written."""
    dot, comma = text.find(".", start), text.find(",", start)
    if dot < 0 or 0 <= comma < dot:
        dot = comma
    if dot < 0:
        return None
    end = dot + 1
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    if end - dot <= 7:
        return None
    return text[: dot + 7] + text[end:]


def _stderr_warning(text: str) -> None:
    sys.stderr.write(f"WARNING {text}\n")


class FractionNotes:
    """Values cut to the microsecond (see cut_fraction), said once per stream and field per run:
    one line naming the first input line, the value as it came and as it is kept. A target's
    loop points `say` at its logger."""

    def __init__(
        self,
        say: Callable[[str], None] = _stderr_warning,
        source: str = "stdin",
        done: str = "stored",
    ) -> None:
        self.say = say
        self.source = source
        self.done = done  # what becomes of the value: stored (a target), sent (a tap)
        self.said: set[tuple[str, str]] = set()

    def cut(
        self,
        text: str,
        start: int,
        stream: str,
        field: str,
        line: int | None,
        key: str = "",
        where: Callable[[], str] | None = None,
    ) -> str:
        """`text` cut to 6 fraction digits (itself when it has at most 6); `key` is the field
        as said once (`items[].at` for every `items[n].at`), `field` by default; `where()`
        names the place (a BATCH file's row) when the input line alone does not."""
        kept = cut_fraction(text, start)
        if kept is None:
            return text
        if (stream, key or field) not in self.said:
            self.said.add((stream, key or field))
            if line is None and where is not None:
                where_ = where()
            else:
                where_ = self.source if line is None else f"{self.source} line {line}"
                where_ += f" ({where()})" if where is not None else ""
            digits = len(text) - len(kept) + 6
            self.say(
                f"{where_}, stream {stream!r}, field {field!r}: {text!r} has {digits} fraction "
                f"digits; {self.done} to the microsecond ({kept!r}), as is every later value with "
                "more than 6 fraction digits in this field"
            )
        return kept


FRACTIONS = FractionNotes()  # the process's (a target process is one run)
