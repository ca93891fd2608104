"""JSON Schema helpers: logical types and the compiled record checker."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tapwell.errors import ProtocolError
from tapwell.schema import Logical, compile_checker, decimal_spec, logical_type

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
