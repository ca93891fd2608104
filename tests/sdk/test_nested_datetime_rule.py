"""Date-times, dates and times inside a document that `nested: tables` splits are held to the
record check's rule (tapwell.singer.schema.DATETIME_RULE, TIME_RULE), on the splitter's inline
fast path and its full check alike: what fromisoformat alone also reads (`+0530`, a trailing
NUL, `.Z`, `T00`) is refused naming its path; pure, no server."""

from __future__ import annotations

from typing import Any

import pytest
from tapwell.sdk.nested import plan
from tapwell.sdk.nested_check import NestedValueError
from tapwell.sdk.nested_split import compile_splitter

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "events": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "at": {"type": ["string", "null"], "format": "date-time"},
                    "on": {"type": ["string", "null"], "format": "date"},
                    "clock": {"type": ["string", "null"], "format": "time"},
                },
            },
        },
    },
}
GOOD = {"at": "2024-05-01T12:00:00.123456+02:00", "on": "2024-05-01", "clock": "12:00:00"}


def split(records: list[dict[str, Any]]) -> list[list[Any]]:
    root = plan("s", SCHEMA, ["id"])
    out: list[list[Any]] = [[] for _ in root.walk()]
    sinks = []
    for rows in out:
        sinks += [rows.append, [].append]
    lines = list(range(1, len(records) + 1))
    compile_splitter(root, checked=True)(records, range(len(records)), lines, "L", sinks)
    return out


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("at", "2024-05-01T12:00:00.123456+02:00"),
        ("at", "2024-05-01T12:00:00Z"),
        ("at", "2024-05-01 12:00:00"),
        ("at", "2024-05-01T12:00:00.123Z"),
        ("at", "2024-05-01T12:00:00.5-00:19:32"),
        ("at", "2024-05-01"),
        ("clock", "12:00:00.5Z"),
        ("clock", "12:00+05:30"),
    ],
)
def test_the_rule_accepts_inside_a_document(field: str, value: str) -> None:
    split([{"id": 1, "events": [GOOD, {**GOOD, field: value}]}])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("at", "2020-01-01T00:00:00+0530"),
        ("at", "2020-01-01T00:00:00+05"),
        ("at", "2020-01-01T00:00:00\x00"),
        ("at", "2020-01-01T12:Z\x00"),
        ("at", "2020-01-01T00:00:00.Z"),
        ("at", "2020-01-01T00:00:00,5"),
        ("at", "2020-01-01T00"),
        ("at", "2020-01-01T0000"),
        ("at", "2020-01-01X00:00:00"),
        ("at", "2020-01-01T00:00:00.123456junkZ"),
        ("at", "2020-01-01T00:00:00.1+0200"),
        ("clock", "12:00:00+0530"),
        ("clock", "12:00:00\x00"),
        ("clock", "T12:00:00"),
    ],
    ids=repr,
)
def test_what_only_fromisoformat_reads_is_refused(field: str, value: str) -> None:
    with pytest.raises(NestedValueError) as bad:
        split([{"id": 1, "events": [GOOD]}, {"id": 2, "events": [GOOD, {**GOOD, field: value}]}])
    kind = "date-time" if field == "at" else "time"
    assert (bad.value.line, bad.value.field) == (2, f"events[1].{field}")
    assert bad.value.problem.startswith(f"{value!r} is not a valid {kind} string (fix the value")


def test_a_long_fraction_inside_a_document_is_cut_to_microseconds() -> None:
    events = [{**GOOD, "at": "2024-05-01T12:00:00.1234567+02:00", "clock": "12:00:00.9999999"}]
    tables = split([{"id": 1, "events": events}])
    (event,) = tables[1]
    assert (event["at"], event["clock"]) == ("2024-05-01T12:00:00.123456+02:00", "12:00:00.999999")
