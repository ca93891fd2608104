"""The one rule for a date-time and a time (tapwell.singer.datetime_rule.DATETIME_RULE, TIME_RULE): what
the record check accepts, on its inline fast path and its slow path alike. Python 3.11's
fromisoformat reads more (a trailing NUL, `.Z`, `,5`, `T00`, `T0000`, `+0530`, `+05`), which the
targets' casts read otherwise or not at all (target-duckdb: a SyncError for the batch)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from tapwell.singer.datetime_rule import DATETIME_RULE, inline_parser, parse_datetime, parse_time
from tapwell.singer.errors import ProtocolError
from tapwell.singer.record_check import compile_checker
from tapwell.singer.value_check import value_check

ACCEPTED = [
    "2024-05-01T12:00:00Z",
    "2024-05-01T12:00:00+00:00",
    "2024-05-01T12:00:00-08:00",
    "2024-05-01 12:00:00",
    "2024-05-01T12:00:00",
    "2024-05-01T12:00",
    "2024-05-01T12:00Z",
    "2024-05-01T12:00+01:00",
    "2024-05-01",
    "2024-05-01T12:00:00.5Z",
    "2024-05-01T12:00:00.123Z",
    "2024-05-01T12:00:00.123456+05:30",
    "2024-05-01T12:00:00.123456-08:00",
    "2024-05-01 12:00:00.123456Z",
    "2024-05-01T12:00:00.123456",
    "2024-05-01T12:00:00.123+00:00:00",
    "2024-05-01T12:00:00.1234567Z",  # cut to 6 digits, said once
    "1900-01-01T00:00:00+00:19:32",  # an LMT offset with seconds
    "1900-01-01T00:00:00.5-00:19:32",
]
REFUSED = [
    "2020-01-01T00:00:00\x00",  # a trailing NUL
    "2020-01-01T00:00:00+00:00\x00",
    "2020-01-01T12:34Z\x00",
    "2020-01-01T12:Z\x00",
    "2020-01-01T12:34:Z\x00.5Z",
    "2020-01-01T00:00:00.Z",  # a point with no digit
    "2020-01-01T00:00:00.+01:00",
    "2020-01-01T00:00:00,Z",
    "2020-01-01T00:00:00,5",  # a comma fraction
    "2020-01-01T00",  # hours only
    "2020-01-01T00Z",
    "2020-01-01T00+01:00",
    "2020-01-01T0000",  # basic time
    "2020-01-01T000000",
    "2020-01-01T120000.5",
    "2020-01-01T0000Z",
    "2020-01-01T00:00.5",  # a fraction of a minute
    "2020-01-01T00:00:00+0530",  # an offset without its colon
    "2020-01-01T00:00:00-0000",
    "2020-01-01T00:00:00+053015",
    "2020-01-01T00:00:00+05",  # an offset in hours
    "2020-01-01T00:00:00+05:30:15.5",  # an offset with a fraction
    "2020-01-01T00:00:00.000000+00:00:00.000001",
    "2020-01-01T00:00:00 Z",  # a blank before Z
    "2020-01-01T00:00:00.123456junkZ",  # past 6 digits fromisoformat looks no further
    "2020-01-01T00:00:00.1234567x+00:00",
    # the shapes of the fast path's forms with what fromisoformat reads otherwise in them
    "2020-01-01T00:00:00.1+0200",  # a naive fraction's length, an offset without its colon
    "2020-01-01T00:00:00.1234567+0200",
    "2020-01-01T00:00:00.123456789+02",
    "2020-01-01T00:00:00.123456+02.00",
    "2020-01-01T00:00:00.+01:00:00:00",
    "2020-01-01T00:00:00.12Z\x00\x00\x00+02:00",  # a Z and a NUL end the text early
    "2020-01-01 00:00:00.1Z\x00\x00\x00\x00Z",
    "2020-01-01T00:00:00.123456Z\x00",
    "2020-01-01T12:Z\x00:00",
    "20200101T000000",  # basic, week and ordinal dates (refused before too)
    "2020-W01-1",
    "2020-01-01t00:00:00z",
]


def _check(value: str) -> None:
    check = compile_checker("s", {"properties": {"at": {"type": "string", "format": "date-time"}}})
    check({"at": value}, 3)


@pytest.mark.parametrize("value", ACCEPTED)
def test_the_rule_accepts(value: str) -> None:
    _check(value)
    assert value_check({"type": "string", "format": "date-time"})(value) is None  # type: ignore[misc]
    parse_datetime(value)


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_the_rule_refuses_in_one_line(value: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        _check(value)
    text = str(caught.value)
    assert f"stream 's', field 'at': {value!r} is not a valid date-time string" in text
    assert "line 3" in text and "\n" not in text
    with pytest.raises(ValueError):
        parse_datetime(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("12:00:00", True),
        ("12:00", True),
        ("12:00:00.5Z", True),
        ("12:00:00+05:30", True),
        ("12:00:00\x00", False),
        ("12", False),
        ("1200", False),
        ("12:00:00,5", False),
        ("12:00:00.Z", False),
        ("12:00:00+0530", False),
    ],
    ids=repr,
)
def test_a_time_by_the_same_rule(value: str, ok: bool) -> None:
    check = compile_checker("s", {"properties": {"at": {"type": "string", "format": "time"}}})
    if ok:
        check({"at": value}, 1)
        parse_time(value)
    else:
        with pytest.raises(ProtocolError, match="is not a valid time string"):
            check({"at": value}, 1)


def _fast_test() -> Callable[[str], Any]:
    env: dict[str, Any] = {}

    def bind(key: str, value: Any) -> str:
        env[f"_{key}"] = value
        return f"_{key}"

    found = inline_parser(parse_datetime, "v", bind)
    assert found is not None
    test: Callable[[str], Any] = eval(f"lambda v: {found[0]}", env)
    return test


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T12:00:00.123456+02:00",  # isoformat, tz-aware (our taps, singer-sdk)
        "2024-05-01T12:00:00.123456-08:00",
        "2024-05-01T12:00:00.123456Z",
        "2024-05-01 12:00:00.123456Z",
        "2024-05-01T12:00:00.123Z",  # JavaScript's toISOString
        "2024-05-01 12:00:00.123+00:00",  # MySQL DATETIME(3) as tap-mysql's csv lane sends it
        "2024-05-01T12:00:00.5-08:00",
        "2024-05-01T12:00:00.123456",  # naive
        "2024-05-01T12:00:00+00:00",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00",
        "2024-05-01 12:00:00",
        "2024-05-01",
    ],
)
def test_the_common_forms_take_the_fast_path(value: str) -> None:
    assert _fast_test()(value)


def test_the_fast_path_says_what_the_rule_says() -> None:
    """Where the inline shape test passes, fromisoformat alone decides (no regular expression
    per value), and its yes is the rule's; the compiled check (fast path, else the full check)
    accepts exactly what DATETIME_RULE and fromisoformat accept together, over mutated
    date-times."""
    fast_test = _fast_test()
    check = compile_checker("s", {"properties": {"at": {"type": "string", "format": "date-time"}}})
    alphabet = "0123456789:-+.,TtZz W\x00\u0660\u00b2x"
    rnd = random.Random(3339)
    for seed in ACCEPTED:
        for _ in range(12_000):
            v = _mutated(seed, alphabet, rnd)
            try:
                datetime.fromisoformat(v)
                python = True
            except ValueError:
                python = False
            rule = python and DATETIME_RULE.fullmatch(v) is not None
            if fast_test(v) and python:
                assert rule, v
            try:
                check({"at": v}, 1)
                checked = True
            except ProtocolError:
                checked = False
            assert checked == rule, v


def _mutated(seed: str, alphabet: str, rnd: random.Random) -> str:
    """`seed` with one to three characters replaced, inserted or deleted."""
    chars = list(seed)
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randrange(len(chars) + 1)
        op = rnd.random()
        if op < 0.4 and i < len(chars):
            chars[i] = rnd.choice(alphabet)
        elif op < 0.7:
            chars.insert(i, rnd.choice(alphabet))
        elif i < len(chars):
            del chars[i]
    return "".join(chars)
