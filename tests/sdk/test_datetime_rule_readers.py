"""The readers that judge a date-time outside the record check hold it to the same rule
(tapwell.singer.schema.DATETIME_RULE, TIME_RULE): a tap's bookmark and start_date
(tapwell.sdk.tap.typed_value), and `tapwell check`'s format checker, bookmark order and
destination comparison. fromisoformat alone also reads `+0530`, `+05`, a trailing NUL, `.Z`,
`T00`; the targets refuse those records, so a tap must not resume from such a bookmark and the
checker must not pass one. Pure, no server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from tapwell.sdk.check.report import Report
from tapwell.sdk.check.stream_rules import StreamValidator, format_checker, typed_bookmark
from tapwell.sdk.check.verify import normal
from tapwell.sdk.tap import typed_value

DT = {"type": ["string", "null"], "format": "date-time"}
DAY = {"type": ["string", "null"], "format": "date"}
REFUSED = [
    "2024-05-01T12:00:00+0530",
    "2024-05-01T12:00:00+05",
    "2024-05-01T12:00:00\x00",
    "2024-05-01T12:00:00.Z",
    "2024-05-01T12",
    "2024-05-01T1200",
    "2024-05-01X12:00:00",
]


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_a_bookmark_the_rule_refuses_is_not_read(value: str) -> None:
    with pytest.raises(ValueError):
        typed_value(DT, value)
    assert typed_bookmark(DT, value) is None
    assert normal(DT, value) == ("unparsable", value)


def test_a_date_bookmark_is_a_date_or_a_date_time_by_the_rule() -> None:
    assert typed_value(DAY, "2024-05-01") == date(2024, 5, 1)
    assert typed_value(DAY, "2024-05-01T23:00:00-05:00") == date(2024, 5, 1)
    for value in ("2024-05-01junk", "2024-05-01T00:00:00+0000"):
        with pytest.raises(ValueError):
            typed_value(DAY, value)
    assert normal(DAY, "2024-05-01") == date(2024, 5, 1)
    assert normal(DAY, "2024-05-01junk") == ("unparsable", "2024-05-01junk")


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2024-05-01T12:00:00.123456+02:00", datetime(2024, 5, 1, 10, 0, 0, 123456, UTC)),
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01 12:00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T12:00:00.1234567Z", datetime(2024, 5, 1, 12, 0, 0, 123456, UTC)),
    ],
)
def test_the_rule_s_forms_read_as_before(value: str, instant: datetime) -> None:
    assert typed_value(DT, value) == instant
    assert typed_bookmark(DT, value) == instant
    assert normal(DT, value) == instant


def test_the_checker_s_time_format_is_the_rule() -> None:
    checker = format_checker()
    assert checker.conforms("12:00:00.5+05:30", "time")
    for value in ("12:00:00+0530", "12:00:00\x00", "T12:00:00", "1200"):
        assert not checker.conforms(value, "time"), value


def _state(value: Any) -> bytes:
    return json.dumps({"type": "STATE", "value": value}).encode()


def test_the_checker_names_a_bookmark_the_tap_cannot_resume_from() -> None:
    report = Report("tap", ["fake-tap"])
    rules = StreamValidator(report, "sync")
    schema = {
        "type": "SCHEMA",
        "stream": "s",
        "schema": {"type": "object", "properties": {"at": DT}},
    }
    rules.feed(1, json.dumps({**schema, "key_properties": []}).encode())
    book = {"replication_key": "at", "replication_key_value": "2024-05-01T12:00:00Z"}
    rules.feed(2, _state({"bookmarks": {"s": book}}))
    assert report.violations == []
    rules.feed(3, _state({"bookmarks": {"s": {**book, "replication_key_value": "2024-05-01T13"}}}))
    (found,) = report.violations
    assert (found.rule, found.stream, found.line) == ("bookmark-invalid", "s", 3)
    assert "'2024-05-01T13' is not a date-time the tap can resume from" in found.message


def test_offsets_keep_their_instant() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    assert typed_value(DT, "2024-05-01T12:00:00+05:30") == datetime(2024, 5, 1, 12, tzinfo=ist)
