"""Numbers keep their spelling where a target stores JSON text: `may_respell` finds every line
whose numbers `loads` + `dumps` would write back otherwise, and `loads_spelled` reads such a line
so that `dumps` writes each number as it was written."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import orjson
import pytest
from tapwell.singer.wire import JsonNumber, dumps, loads, loads_spelled, may_respell

SPELLED = [
    b"1.50", b"2.00", b"1E5", b"1e5", b"1e+5", b"2.0E0", b"-1.0E-5", b"-0", b"0.000001",
    b"1E400", b"1.5e-400", b"12345678901234567890.10", b"1e16", b"0.00000",
]  # fmt: skip
KEPT = [b"1.5", b"1.0", b"-0.0", b"0", b"0.00001", b"100000.0", b"123456789012345.6", b"-12",
        b"0.1000000000000000055511151231257827", b"18446744073709551616", b"0.0"]  # fmt: skip


@pytest.mark.parametrize("number", SPELLED + KEPT)
def test_a_number_read_spelled_is_written_as_it_came(number: bytes) -> None:
    line = b'{"a":[' + number + b',{"b":' + number + b"}]}"
    assert dumps(loads_spelled(line)) == line


@pytest.mark.parametrize("number", SPELLED)
def test_the_lines_the_fast_readers_would_respell_are_found(number: bytes) -> None:
    for line in (b'{"a":' + number + b"}", b"[1, " + number + b"]", b'{"a":[' + number + b"]}"):
        assert may_respell(line), line


@pytest.mark.parametrize("number", KEPT)
def test_numbers_the_readers_keep_are_not_looked_at_again(number: bytes) -> None:
    line = b'{"a":[' + number + b"]}"
    assert not may_respell(line)
    assert dumps(loads(line)) == line


def test_text_in_a_string_is_not_a_number() -> None:
    assert not may_respell(b'{"at":"2024-01-01T10:00:00.500000+00:00","v":"1.2.10"}')


def _spelling(rng: random.Random) -> str:
    sign = rng.choice(["", "", "-"])
    whole = rng.choice(
        ["0", str(rng.randrange(1, 10)), str(rng.randrange(10 ** rng.randrange(1, 20)))]
    )
    frac = ""
    if rng.random() < 0.7:
        frac = "." + "".join(rng.choice("0000123456789") for _ in range(rng.randrange(1, 22)))
    exp = ""
    if rng.random() < 0.15:
        exp = rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randrange(0, 400))
    return sign + whole + frac + exp


@pytest.mark.parametrize("seed", range(3))
def test_a_line_not_found_reads_and_writes_back_unchanged(seed: int) -> None:
    """On random spellings: whatever `may_respell` passes, the usual reader (orjson, or the
    exact parser for 16+ digits) and `dumps` write back byte for byte; whatever it finds,
    `loads_spelled` does."""
    rng = random.Random(seed)
    for _ in range(20_000):
        a, b = _spelling(rng), _spelling(rng)
        line = f'{{"a":[{a}, {{"b":{b}}}]}}'.encode()
        line = orjson.dumps(
            json.loads(line, parse_float=orjson.Fragment, parse_int=orjson.Fragment)
        )
        if may_respell(line):
            assert dumps(loads_spelled(line)) == line
        else:
            assert dumps(loads(line)) == line, line


def test_a_spelled_number_is_a_decimal_of_its_value() -> None:
    n = loads_spelled(b"[1E5]")[0]
    assert isinstance(n, Decimal) and type(n) is JsonNumber
    assert n == 100000 and float(n) == 100000.0 and n.text == "1E5" and str(n) == "1E+5"
    assert loads_spelled(b"[-0, 7]") == [Decimal(0), 7] and type(loads_spelled(b"[7]")[0]) is int
