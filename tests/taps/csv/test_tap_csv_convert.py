"""tap-csv's compiled row conversion gives exactly what the per-column converters give, on the
wire, for every kind of column; a value that does not convert names its column."""

from __future__ import annotations

import orjson
import pytest
from tapwell.singer.errors import SyncError
from tapwell.singer.wire import dumps
from tapwell.taps.csv.discovery import StreamConfig
from tapwell.taps.csv.sync import name_bad_value
from tapwell.taps.csv.types import compile_row, converter_for

PROPS = {
    "i": {"type": ["null", "integer"]},
    "d": {"type": ["null", "number"], "multipleOf": 0.01},
    "b": {"type": ["null", "boolean"]},
    "day": {"type": ["null", "string"], "format": "date"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "doc": {"type": ["null", "object", "array"]},  # "[]" below is an array
    "s": {"type": ["null", "string"]},
}
COLUMNS = [(i, name, prop) for i, (name, prop) in enumerate(PROPS.items())]
ROWS = [
    [
        "1",
        "1047.29",
        "true",
        "2024-02-29",
        "2024-02-29T23:59:59.123456+05:30",
        '{"a":[1,2.50]}',
        "",
    ],
    ["-12", "1E+5", "Yes", "0001-01-01", "2024-01-01 10:00:00", '{\n"a": 1}', "\\N"],
    [" 7", "0.10", " F ", "2024-01-31", " 2024-01-01T00:00:00Z ", "[]", "tab\there\nline"],
    ["", "", "", "", "", "", "  "],
    ["\\N", "\\N", "0", "\\N", "\\N", "\\N", "emoji \U0001f600"],
]


def slowly(row: list[str], nulls: frozenset[str]) -> dict:
    """The record as the per-column converters make it (the reference)."""
    out = {}
    for i, name, prop in COLUMNS:
        convert, is_string = converter_for(prop)
        text = row[i]
        if text in nulls or (text == "" and not is_string):
            out[name] = None
        else:
            out[name] = text if convert is None else convert(text)
    return out


@pytest.mark.parametrize("native", [set(), set(PROPS)], ids=["wire", "native"])
def test_compiled_rows_match_the_converters_on_the_wire(native):
    nulls = frozenset(["\\N"])
    convert = compile_row(COLUMNS, nulls, native)
    for row in ROWS:
        got, want = convert(row), slowly(row, nulls)
        doc, want_doc = got.pop("doc"), want.pop("doc")
        assert dumps(got) == dumps(want), row
        assert orjson.loads(dumps(doc)) == want_doc


def test_a_json_document_on_one_line_is_sent_byte_for_byte():
    convert = compile_row(COLUMNS, frozenset(), set())
    row = ["", "", "", "", "", '{"a": [1, 2.50, 123456789012345678901234567890]}', ""]
    assert dumps(convert(row)["doc"]) == row[5].encode()


def test_the_replication_key_stays_a_python_value():
    convert = compile_row(COLUMNS, frozenset(), {"d", "doc"})
    record = convert(ROWS[0])
    assert str(record["d"]) == "1047.29" and record["doc"] == {"a": [1, 2.5]}


def test_a_bad_value_names_its_column():
    sc = StreamConfig("orders", ["o.csv"])
    row = ["1", "12.5x", "true", "", "", "", ""]
    with pytest.raises(ValueError):
        compile_row(COLUMNS, frozenset(), set())(row)
    with pytest.raises(SyncError) as err:
        name_bad_value(sc, "o.csv", 3, row, COLUMNS, frozenset())
    assert str(err.value) == (
        "o.csv line 3, stream 'orders', column 'd': '12.5x' is not a number: fix the file, or "
        'declare the column\'s type in column_types (e.g. {"type": ["null", "string"]} to take '
        "any text)"
    )
