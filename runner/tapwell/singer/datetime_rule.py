"""The one rule for a date-time, a date and a time, on every path: the record check, the targets'
SQL and csv reads, a tap's bookmarks and start_date, `tapwell check`. Also the record check's
inline form of it (`inline_parser`) and the one wording of its error (`NOT_A_DATETIME` & co.).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from tapwell.singer.schema import property_format, property_types

# What a value that breaks the rule is, worded once for every error line that says so.
NOT_A_DATETIME = "not a date-time (RFC 3339, e.g. 2024-01-31T12:00:00+00:00)"
NOT_A_DATE = "not a date (RFC 3339, e.g. 2024-01-31)"
NOT_A_TIME = "not a time (RFC 3339, e.g. 12:00:00+00:00)"
NOT_A_DATE_OR_DATETIME = (
    "not a date or date-time (RFC 3339, e.g. 2024-01-31 or 2024-01-31T00:00:00+00:00)"
)

# The one rule for a date-time, the same on every path (the record check, the targets' SQL and csv
# reads): RFC 3339's date-time (JSON Schema's `format: date-time`) as our taps and singer-sdk's
# write it (`datetime.isoformat`), with the leeway every target reads alike and tapwell has taken
# so far: a space for the `T` (RFC 3339 5.6 allows it), the seconds or the offset left out (a
# naive time is UTC), a bare date (midnight), an offset with seconds (an LMT zone, +00:19:32) and
# any number of fraction digits (cut to 6, see cut_fraction). Python's fromisoformat reads much
# more (a trailing NUL, `.Z`, `,5`, `T00`, `T0000`, `+0530`, `+05`, `00:00 Z`, junk after a 7th
# fraction digit) which the targets' casts read otherwise or not at all: refused here.
# target-duckdb's raw.DATETIME is this with at most 6 fraction digits, files.LONG_DATETIME this.
DATETIME_RULE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?)?"
)
# A time (`format: time`): RFC 3339's partial-time or full-time, with the same leeway.
TIME_RULE = re.compile(
    r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?"
)


def parse_datetime(value: str) -> datetime:
    """A date-time by DATETIME_RULE, read by fromisoformat (which checks the ranges: month 13,
    February 30, hour 24 are refused); anything else is a ValueError."""
    if not DATETIME_RULE.fullmatch(value):
        raise ValueError(f"{value!r} is {NOT_A_DATETIME}")
    return datetime.fromisoformat(value)


def parse_date(value: str) -> date:
    """A date as `YYYY-MM-DD` only (Python also reads `2024-W01-1`, `2024-001`, `20240101`)."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError(f"{value!r} is {NOT_A_DATE}")
    return date.fromisoformat(value)


def parse_time(value: str) -> time:
    """A time by TIME_RULE, read by time.fromisoformat; anything else is a ValueError."""
    if not TIME_RULE.fullmatch(value):
        raise ValueError(f"{value!r} is {NOT_A_TIME}")
    return time.fromisoformat(value)


_FORMAT_PARSERS: dict[str, Callable[[str], Any]] = {
    "date-time": parse_datetime,
    "date": parse_date,
    "time": parse_time,
}


def format_parser(prop: dict[str, Any]) -> Callable[[str], Any] | None:
    """The reader of a string property's `format` (parse_datetime, parse_date, parse_time), or
    None when the property admits no string or has no format tapwell reads."""
    if "string" not in property_types(prop):
        return None
    return _FORMAT_PARSERS.get(property_format(prop) or "")


# The generated check's inline form of a format parser: (a test of `{x}`'s shape, the C parser it
# guards). When the test passes, the parser alone decides, and its yes is the rule's
# (parse_datetime, parse_date): no Python call and no regular expression per value (the rule's
# regex costs 4x the parser). Any other value goes through the full check (the rule), then the
# cut. The test passes only forms with at most 6 fraction digits, so they need no cut guard: on
# isoformat's forms it costs less than the lenient test and guard it replaced.
#
# Why the parser's yes is then the rule's: fromisoformat (Python 3.11+, C) reads the digits it
# expects by position and refuses anything else there, but it decides the shape itself: the date
# and time separators, where the fraction ends and the offset begins (the first `Z`, `+` or `-`
# after the date), and it reads a C string (stops at a NUL). So the test fixes every separator:
# - without a fraction, v[4::3] (the characters at 4, 7, 10, 13, ...) are all separators
#   (`2024-05-01T12:00:00+00:00` gives `--T::+:`) and the length is the form's (shape);
# - with one, v[4:20:3] is `--T::.` and the value ends in `Z` or `+HH:MM` (v[-6::3] is `+:`) a
#   length that leaves 1 to 6 digits for the fraction (isoformat's 6 first, v[26::3]): the
#   offset can begin nowhere before (a `+` or `Z` the parser reads as part of an offset refuses
#   it), so the fraction is the digits the parser reads; a naive one is digits and nothing else
#   (the parser reads `.1+0200` as an offset);
# - no NUL: `...T12:Z\x00...` would end the text at the `Z` for the parser.
# Longer fractions and an offset with seconds after a fraction go the full check's way.
# test_datetime_rule fuzzes this against the rule.
_INLINE_PARSERS: dict[Any, tuple[str, Callable[[str], Any]]] = {
    parse_datetime: (
        "({x}[4:20:3] in {fraction} and ({x}[26::3] in {zone} "
        "or {x}[-1] == 'Z' and 21 < len({x}) < 28 "
        "or {x}[-6::3] in {offset} and 26 < len({x}) < 33 "
        "or len({x}) < 27 and {x}[20:].isdigit()) "
        "or {shape}.get({x}[4::3]) == len({x})) and '\\x00' not in {x}",
        datetime.fromisoformat,
    ),
    parse_date: ("len({x}) == 10 and {x}[4:8:3] == '--'", date.fromisoformat),
}


def _shapes() -> dict[str, int]:
    """v[4::3] of each DATETIME_RULE form without a fraction, for its T and its space: its
    length."""
    times = {":": 16, "::": 19}  # HH:MM, HH:MM:SS: the separators at 13 and 16
    offsets = {"": 0, "Z": 1, "+:": 6, "-:": 6, "+::": 9, "-::": 9}  # none, Z, +HH:MM, +HH:MM:SS
    out = {"--": 10}
    for sep in "T ":
        for t, end in times.items():
            out.update({f"--{sep}{t}{o}": end + size for o, size in offsets.items()})
    return out


_INLINE_CONSTANTS: dict[str, Any] = {
    "shape": _shapes(),
    "fraction": frozenset({"--T::.", "-- ::."}),  # v[4:20:3] of a date-time with a fraction
    "zone": frozenset({"Z", "+:", "-:"}),  # v[26::3] after 6 fraction digits
    "offset": frozenset({"+:", "-:"}),  # v[-6::3] of a value ending in +HH:MM
}


def inline_parser(
    parse: Any, x: str, bind: Callable[[str, Any], str]
) -> tuple[str, Callable[[str], Any]] | None:
    """The inline form of format parser `parse` for the value in variable `x` (see
    _INLINE_PARSERS): (the test's source, the C parser), or None when it has none. `bind(key,
    value)` puts a constant the test uses into the generated function's scope and names it."""
    found = _INLINE_PARSERS.get(parse)
    if found is None:
        return None
    test, c_parser = found
    names = {
        key: bind(key, value) for key, value in _INLINE_CONSTANTS.items() if f"{{{key}}}" in test
    }
    return test.format(x=x, **names), c_parser
