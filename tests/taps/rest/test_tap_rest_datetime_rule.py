"""tap-rest reads a server's or a user's date-time and date by the record check's rule
(tapwell.singer.schema.parse_datetime / parse_date), not by bare fromisoformat, which also reads
`+0530` and a blank before the offset, nor by a `\\d` pattern (other scripts' digits, month 13):
such sampled values made a `date-time` (or `date`) format the targets then refused record by
record, and a bookmark compared as a date-time a value no target takes. (`T10` was refused
before too: kept as a guard.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tapwell.taps.rest.types import comparable, infer_property, misfit, parse_datetime

OFF_RULE = ["2024-01-02T10:00:00+0530", "2024-01-02T10", "2024-01-02 10:00:00 +05:30"]


@pytest.mark.parametrize("text", OFF_RULE)
def test_a_date_time_off_the_rule_is_no_date_time(text: str) -> None:
    assert parse_datetime(text) is None
    assert "format" not in infer_property(["2024-01-01T00:00:00Z", text])
    assert comparable(text) == text  # compared as text, as any other string
    prop = {"type": ["null", "string"], "format": "date-time"}
    assert misfit(text, prop, "at") == (
        f"property 'at' is {text!r}, not a date-time as the schema says"
    )


@pytest.mark.parametrize("text", ["２０２４-０１-０２", "2024-13-45"])
def test_a_date_off_the_rule_is_no_date(text: str) -> None:
    assert "format" not in infer_property(["2024-01-01", text])
    assert comparable(text) == text
    prop = {"type": ["null", "string"], "format": "date"}
    assert misfit(text, prop, "day") == f"property 'day' is {text!r}, not a date as the schema says"


def test_the_rules_forms_read_as_before() -> None:
    assert parse_datetime("2024-01-02T10:00:00+05:30") == datetime(2024, 1, 2, 4, 30, tzinfo=UTC)
    assert parse_datetime("2024-01-02 10:00") == datetime(2024, 1, 2, 10, tzinfo=UTC)
    assert parse_datetime("2024-01-02T10:00:00.123456Z") == datetime(
        2024, 1, 2, 10, 0, 0, 123456, UTC
    )
    assert infer_property(["2024-01-02T10:00:00Z", "2024-01-03 10:00:00"])["format"] == "date-time"
    assert infer_property(["2024-01-02", "2024-02-29"])["format"] == "date"
    assert comparable("2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    assert comparable("2024-01-02T10:00:00Z") == datetime(2024, 1, 2, 10, tzinfo=UTC)
