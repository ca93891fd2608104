"""JSON Schema helpers: logical types and the compiled record checker."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tapwell.singer.errors import ProtocolError
from tapwell.singer.record_check import compile_checker
from tapwell.singer.schema import Logical, decimal_spec, logical_type

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "amount": {"type": ["null", "number"]},
        "name": {"type": ["null", "string"]},
        "paid": {"type": "boolean"},
        "at": {"type": ["null", "string"], "format": "date-time"},
        "on": {"type": ["null", "string"], "format": "date"},
        "tags": {"type": ["null", "array"]},
        "anything": {},
    },
    "required": ["paid"],
}


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"type": "integer"}, Logical("integer", False)),
        (
            {"type": ["null", "integer"], "maximum": 18446744073709551615},
            Logical("decimal", True, 20, 0),
        ),
        (
            {
                "type": ["null", "number"],
                "multipleOf": 0.01,
                "maximum": 10**10,
                "exclusiveMaximum": True,
            },
            Logical("decimal", True, 12, 2),
        ),
        (
            {"type": "number", "multipleOf": 1e-30, "maximum": 1e35},
            Logical("decimal", False, 65, 30),
        ),
        ({"type": "number", "x-precision": 40, "x-scale": 5}, Logical("decimal", False, 40, 5)),
        ({"type": ["null", "number"]}, Logical("number", True)),
        ({"type": ["null", "string"], "format": "date-time"}, Logical("date-time", True)),
        (
            {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
            Logical("date", True),
        ),
        ({"type": ["string", "integer"]}, Logical("string", False)),
        ({"type": ["object", "string"]}, Logical("json", False)),
        ({"type": "string", "maxLength": 20}, Logical("string", False, max_length=20)),
        ({}, Logical("json", True)),
    ],
)
def test_logical_type(prop, expected):
    assert logical_type(prop) == expected


def test_decimal_spec_absent_without_both_hints():
    assert decimal_spec({"type": "number", "multipleOf": 0.01}) is None


GOOD = {
    "id": 1,
    "amount": Decimal("1.50"),
    "name": "",
    "paid": False,
    "at": "2024-01-01T00:00:00Z",
    "on": "2024-02-29",
    "tags": [],
    "anything": {"x": 1},
}


def test_good_record_passes():
    check = compile_checker("orders", SCHEMA, ["id"])
    check(GOOD, 1)
    check({**GOOD, "amount": None, "name": None, "at": None, "extra": "ignored"}, 2)
    check({**GOOD, "id": 3.0}, 3)  # an integral float is an integer


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"id": "abc"}, "id", "'abc' is not integer"),
        ({"id": 1.5}, "id", "1.5 is not integer"),
        ({"id": True}, "id", "True is not integer"),
        ({"amount": "12"}, "amount", "'12' is not number"),
        ({"paid": None}, "paid", "is null but the schema does not allow null"),
        ({"paid": "yes"}, "paid", "'yes' is not boolean"),
        ({"at": "10000-01-01T00:00:00Z"}, "at", "is not a valid date-time string"),
        ({"at": "yesterday"}, "at", "is not a valid date-time string"),
        ({"on": "2023-02-29"}, "on", "is not a valid date string"),
        ({"tags": {"a": 1}}, "tags", "is not array"),
    ],
)
def test_bad_values_name_stream_line_and_field(change, field, problem):
    check = compile_checker("orders", SCHEMA, ["id"])
    with pytest.raises(ProtocolError) as err:
        check({**GOOD, **change}, 7)
    assert (err.value.stream, err.value.line, err.value.field) == ("orders", 7, field)
    assert problem in str(err.value)


def test_missing_key_and_required_fields():
    check = compile_checker("orders", SCHEMA, ["id"])
    rec = dict(GOOD)
    del rec["id"]
    with pytest.raises(ProtocolError, match="field 'id': key property is missing or null"):
        check(rec, 1)
    rec = dict(GOOD)
    del rec["paid"]
    with pytest.raises(ProtocolError, match="field 'paid': required field is missing"):
        check(rec, 1)


# ----------------------------------------------------------------------------- issue 20.8


MONEY = {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1.23, True),
        (1239008.43, True),
        (5, True),
        (Decimal("1.230"), True),
        (Decimal("12345678901234567890123456789012345.01"), True),
        (1.234, False),
        (0.001, False),
        (Decimal("1.2301"), False),
        (Decimal("12345678901234567890123456789012345.011"), False),
    ],
)
def test_multiple_of_is_checked_exactly(value: object, ok: bool) -> None:
    """A decimal that breaks its multipleOf was stored rounded by the SQL targets."""
    check = compile_checker("s", {"properties": {"m": MONEY}})
    if ok:
        check({"m": value}, 1)
        return
    with pytest.raises(ProtocolError, match=r"field 'm': .* is not a multiple of 0.01"):
        check({"m": value}, 1)


def test_multiple_of_other_steps_and_integers() -> None:
    check = compile_checker(
        "s",
        {
            "properties": {
                "half": {"type": "number", "multipleOf": 0.5},
                "five": {"type": "integer", "multipleOf": 5},
            }
        },
    )
    check({"half": 1.5, "five": 10}, 1)
    check({"half": Decimal("3.0"), "five": 0}, 1)
    with pytest.raises(ProtocolError, match="1.25 is not a multiple of 0.5"):
        check({"half": 1.25}, 1)
    with pytest.raises(ProtocolError, match="11 is not a multiple of 5"):
        check({"five": 11}, 1)
    with pytest.raises(ProtocolError, match="is not integer"):
        check({"five": Decimal("2.5")}, 1)


def test_the_float_test_agrees_with_decimal_arithmetic_on_json_numbers() -> None:
    import random

    import orjson
    from tapwell.singer.number_steps import float_on_step

    rng = random.Random(7)
    for _ in range(20_000):
        n, d = rng.randint(0, 10 ** rng.randint(1, 14) - 1), rng.randint(1, 12)
        text = f"{Decimal(n).scaleb(-d):f}"
        if sum(c.isdigit() or c == "." for c in text) >= 16:
            continue  # read as a Decimal, not a float
        for s in (0, 1, 2, 4):
            exact = Decimal(text) % Decimal(1).scaleb(-s) == 0
            assert float_on_step(orjson.loads(text), 10.0**s) == exact, (text, s)


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("date-time", "2024-W01-1"),
        ("date-time", "2024-W01-1T00:00:00Z"),
        ("date-time", "2024-001"),
        ("date-time", "20240101T000000"),
        ("date", "2024-W01-1"),
        ("date", "20240101"),
        ("date", "2024-01-01T00:00:00"),
    ],
)
def test_iso_week_ordinal_and_basic_dates_are_refused(fmt: str, value: str) -> None:
    check = compile_checker("s", {"properties": {"t": {"type": "string", "format": fmt}}})
    with pytest.raises(ProtocolError, match=f"field 't': '{value}' is not a valid {fmt} string"):
        check({"t": value}, 1)


@pytest.mark.parametrize("value", ["2024-01-01T00:00:00Z", "2024-01-01 12:00:00.123456+05:30"])
def test_calendar_date_times_still_pass(value: str) -> None:
    compile_checker("s", {"properties": {"t": {"type": "string", "format": "date-time"}}})(
        {"t": value}, 1
    )


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (b'{"id": 1.0000000000000000001}', "1.0000000000000000001"),  # not whole: never rounded
        (b'{"id": 1.50}', "1.50"),
        (b'{"id": 1E5}', None),  # a whole number: taken
        (b'{"id": -2.5e-1}', "-2.5e-1"),
    ],
)
def test_a_refused_number_is_shown_as_the_source_wrote_it(line: bytes, shown: str | None) -> None:
    """The error line shows JSON's text of a number read exactly, not `Decimal('1.50')`."""
    from tapwell.singer.wire import loads_spelled

    check = compile_checker("orders", SCHEMA, ["id"])
    record = {**GOOD, **loads_spelled(line)}
    if shown is None:
        check(record, 7)
        return
    with pytest.raises(ProtocolError) as err:
        check(record, 7)
    assert f"field 'id': {shown} is not integer" in str(err.value)
    assert "Decimal" not in str(err.value)
