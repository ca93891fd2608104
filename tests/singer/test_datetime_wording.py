"""The date-time and date checks' error text: one wording (tapwell.singer.datetime_rule), which
names the rule they hold values to, RFC 3339 as our taps write it (it said ISO 8601, which also
allows `20240131T120000`, `2024-W05-3` and `+0530`, all refused)."""

from __future__ import annotations

import pytest
from tapwell.sdk.tap import _not_a
from tapwell.singer.datetime_rule import (
    NOT_A_DATE,
    NOT_A_DATE_OR_DATETIME,
    NOT_A_DATETIME,
    NOT_A_TIME,
    parse_date,
    parse_datetime,
    parse_time,
)
from tapwell.taps.mysql.bookmarks import _value_problem
from tapwell.taps.mysql.types import Column


def test_the_wording_names_rfc_3339_with_an_example() -> None:
    assert NOT_A_DATETIME == "not a date-time (RFC 3339, e.g. 2024-01-31T12:00:00+00:00)"
    assert NOT_A_DATE == "not a date (RFC 3339, e.g. 2024-01-31)"
    assert NOT_A_TIME == "not a time (RFC 3339, e.g. 12:00:00+00:00)"
    assert NOT_A_DATE_OR_DATETIME == (
        "not a date or date-time (RFC 3339, e.g. 2024-01-31 or 2024-01-31T00:00:00+00:00)"
    )


@pytest.mark.parametrize(
    ("parse", "value", "said"),
    [
        (parse_datetime, "20240131T120000", NOT_A_DATETIME),
        (parse_date, "2024-W05-3", NOT_A_DATE),
        (parse_time, "1200", NOT_A_TIME),
    ],
)
def test_the_parsers_say_it(parse: object, value: str, said: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse(value)  # type: ignore[operator]
    assert str(caught.value) == f"{value!r} is {said}"


def test_a_taps_bookmark_check_says_it() -> None:
    assert _not_a({"type": ["null", "string"], "format": "date-time"}) == NOT_A_DATETIME
    assert _not_a({"type": "string", "format": "date"}) == NOT_A_DATE


def test_tap_mysqls_bookmark_check_says_it() -> None:
    at = Column("at", "datetime", "datetime")
    day = Column("day", "date", "date")
    assert _value_problem(at, "yesterday") == NOT_A_DATETIME
    assert _value_problem(day, "2024-13-45") == NOT_A_DATE
