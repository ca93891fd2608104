"""The wire format: every message type round-trips, every reader error names its line, and values
stay exact (decimals, big integers, datetimes with offsets, dates)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from tapwell.singer.errors import ProtocolError
from tapwell.singer.messages import (
    ActivateVersionMessage,
    BatchMessage,
    RecordMessage,
    SchemaMessage,
    StateMessage,
)
from tapwell.singer.wire import (
    MessageWriter,
    dumps,
    loads,
    needs_exact,
    parse_line,
    read_messages,
    sniff_record,
)

MESSAGES = [
    SchemaMessage(
        "orders",
        {"type": "object", "properties": {"id": {"type": "integer"}}},
        ["id"],
        ["updated_at"],
    ),
    SchemaMessage("no_keys", {"type": "object", "properties": {}}),
    RecordMessage("orders", {"id": 1, "note": "a\tb\nc", "empty": "", "none": None, "emoji": "😀"}),
    RecordMessage(
        "orders", {"id": 2}, version=1700000000000, time_extracted="2024-01-01T00:00:00+00:00"
    ),
    StateMessage({"bookmarks": {"orders": {"replication_key_value": "2024-01-01T00:00:00+00:00"}}}),
    StateMessage({}),
    ActivateVersionMessage("orders", 1700000000000),
    BatchMessage("orders", {"format": "jsonl", "compression": "gzip"}, ["file:///tmp/a.jsonl.gz"]),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_type_round_trips(message):
    out = io.BytesIO()
    MessageWriter(out).write_message(message)
    line = out.getvalue()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_line(line) == message


def test_writer_fast_paths_match_to_dict():
    out = io.BytesIO()
    w = MessageWriter(out)
    w.write_schema("s", {"type": "object"}, ["id"])
    w.write_record("s", {"id": 1}, version=5)
    w.write_activate_version("s", 5)
    w.write_state({"a": 1})
    got = [m for _, m in read_messages(io.BytesIO(out.getvalue()))]
    assert got == [
        SchemaMessage("s", {"type": "object"}, ["id"]),
        RecordMessage("s", {"id": 1}, 5),
        ActivateVersionMessage("s", 5),
        StateMessage({"a": 1}),
    ]


def test_decimal_65_30_survives_unchanged():
    value = Decimal("12345678901234567890123456789012345.123456789012345678901234567890")
    line = dumps({"type": "RECORD", "stream": "t", "record": {"d": value}})
    assert b"12345678901234567890123456789012345.123456789012345678901234567890" in line
    record = parse_line(line).record
    assert record["d"] == value and isinstance(record["d"], Decimal)
    assert str(record["d"]) == str(value)


@pytest.mark.parametrize("text", ["0.1", "123.45", "-0.000001", "99999999999999.9", "1e-7"])
def test_short_numbers_read_as_floats_that_print_back_exactly(text):
    value = loads(f'{{"n": {text}}}'.encode())["n"]
    assert Decimal(value if not isinstance(value, float) else repr(value)) == Decimal(text)


def test_integers_past_64_bits_stay_exact():
    big = 2**64 + 12345
    assert loads(dumps({"n": big}))["n"] == big
    assert loads(b'{"n": 18446744073709551615}')["n"] == 18446744073709551615


def test_datetimes_keep_offsets_and_microseconds_dates_stay_dates():
    aware = datetime(
        2024, 2, 29, 23, 59, 59, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )
    naive = datetime(2024, 1, 1, 12, 0, 0, 1)
    line = dumps({"a": aware, "n": naive, "d": date(2024, 2, 29)})
    assert loads(line) == {
        "a": "2024-02-29T23:59:59.123456+05:30",
        "n": "2024-01-01T12:00:00.000001+00:00",
        "d": "2024-02-29",
    }


def test_non_finite_decimal_is_refused():
    with pytest.raises(TypeError):
        dumps({"d": Decimal("NaN")})


def test_bytes_are_base64():
    assert loads(dumps({"b": b"\x00\xff"})) == {"b": "AP8="}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"stream": "s"}', "message has no 'type'"),
        (b'{"type": "RECORD", "record": {}}', "RECORD message has no 'stream'"),
        (b'{"type": "RECORD", "stream": "s"}', "RECORD message has no 'record'"),
        (
            b'{"type": "RECORD", "stream": "s", "record": []}',
            "RECORD message's 'record' must be an object, got list",
        ),
        (
            b'{"type": "RECORD", "stream": "s", "record": {}, "version": "x"}',
            "RECORD version must be an integer",
        ),
        (b'{"type": "SCHEMA", "stream": "s"}', "SCHEMA message has no 'schema'"),
        (
            b'{"type": "SCHEMA", "stream": "s", "schema": {}, "key_properties": "id"}',
            "key_properties must be an array",
        ),
        (
            b'{"type": "SCHEMA", "stream": 5, "schema": {}}',
            "SCHEMA message's 'stream' must be a string, got int",
        ),
        (b'{"type": "STATE"}', "STATE message's 'value' must be an object"),
        (b'{"type": "STATE", "value": [1]}', "STATE message's 'value' must be an object"),
        (
            b'{"type": "ACTIVATE_VERSION", "stream": "s"}',
            "ACTIVATE_VERSION message has no 'version'",
        ),
        (
            b'{"type": "ACTIVATE_VERSION", "stream": "s", "version": true}',
            "'version' must be an integer, got bool",
        ),
        (b'{"type": "BATCH", "stream": "s", "encoding": {}}', "BATCH message has no 'manifest'"),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
)
def test_every_reader_error_names_the_line(line, problem):
    data = b'{"type": "STATE", "value": {}}\n\n' + line + b"\n"
    with pytest.raises(ProtocolError) as err:
        list(read_messages(io.BytesIO(data), source="stdin"))
    assert err.value.line == 3
    assert str(err.value).startswith("stdin line 3")
    assert problem in str(err.value)


def test_unknown_message_types_are_skipped_and_reported():
    seen = []
    data = b'{"type": "FUTURE_THING"}\n{"type": "STATE", "value": {"a": 1}}\n'
    got = list(read_messages(io.BytesIO(data), on_unknown=lambda n, e: seen.append((n, e.problem))))
    assert got == [(2, StateMessage({"a": 1}))]
    assert seen == [(1, "unknown message type 'FUTURE_THING'")]
    with pytest.raises(ProtocolError, match="line 1: unknown message type"):
        list(read_messages(io.BytesIO(data), skip_unknown=False))


# ----------------------------------------------------------------------------- issue 20.8

LONG = "1234567890123456789"  # a number that sends the line down the exact (json) path


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_on_the_exact_path_too(constant: str) -> None:
    line = ('{"type":"STATE","value":{"pos":' + LONG + ',"x":' + constant + "}}").encode()
    with pytest.raises(ProtocolError, match=f"line 3: {constant} is not a JSON number"):
        parse_line(line, 3)


def test_an_integer_past_the_conversion_limit_is_one_clear_error() -> None:
    line = b'{"type":"STATE","value":{"n":' + b"9" * 5000 + b"}}"
    with pytest.raises(ProtocolError, match="line 1: an integer with more than 4300 digits"):
        parse_line(line, 1)


@pytest.mark.parametrize("prefix", ["", LONG + ","])
def test_nesting_too_deep_is_one_clear_error(prefix: str) -> None:
    line = ("[" + prefix + "[" * 100_000 + "]" * 100_001).encode()
    with pytest.raises(ProtocolError, match="line 2: nested too deeply"):
        parse_line(line, 2)


@pytest.mark.parametrize("prefix", ["", LONG + ","])
def test_deep_values_load_and_write_back_exactly(prefix: str) -> None:
    text = "[" + prefix + "[" * 1000 + '{"a":1.5,"b":"x"}' + "]" * 1001
    value = loads(text)
    assert dumps(value) == text.encode()
    wrapped = b'{"v":' + text.encode() + b"}"
    assert dumps(loads(dumps({"v": value}))) == wrapped  # (== on the values would recurse)


def test_activate_version_empty_round_trips() -> None:
    out = io.BytesIO()
    MessageWriter(out).write_activate_version("s", 5, empty=True)
    msg = parse_line(out.getvalue())
    assert msg == ActivateVersionMessage("s", 5, True)
    assert parse_line(b'{"type":"ACTIVATE_VERSION","stream":"s","version":5}') == (
        ActivateVersionMessage("s", 5, False)
    )


# ----------------------------------------------------------------------------- issue 12.4


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"RECORD","stream":"s","record":{"id":1}}\n',
        b'{"type":"RECORD","stream":"s","record":{"id":1},"version":7,"time_extracted":"2024"}\n',
        b'{"type":"RECORD","stream":"s","record":{"id":' + LONG.encode() + b"}}\n",
        b'{"type":"RECORD","stream":"s","record":[1]}\n',
        b'{"type":"RECORD","stream":"s","record":{},"version":true}\n',
        b'{"type":"RECORD","stream":5,"record":{}}\n',
        b'{"type":"STATE","value":{}}\n',
        b'{"type":"RECORD","stream":"s","rec\n',
        b"\n",
    ],
)
def test_sniff_record_takes_a_well_formed_record_as_parse_line_does(line: bytes) -> None:
    """sniff_record (the hot path of read_messages and the target loop) returns the message
    object of exactly the well-formed RECORDs whose numbers a float holds, the same message
    parse_line makes of them; any other line is left to parse_line, which names its problem."""
    from tapwell.singer.wire import sniff_record

    hit = sniff_record(line)
    try:
        message = parse_line(line)
    except ProtocolError:
        assert hit is None
        return
    if hit is None:  # only a number that needs the exact path, or another message type
        assert LONG in line.decode() or not isinstance(message, RecordMessage)
    else:
        taken = RecordMessage(
            hit["stream"], hit["record"], hit.get("version"), hit.get("time_extracted")
        )
        assert taken == message


@pytest.mark.parametrize("number", ["1e400", "-1.5E+309", "1e999"])
def test_a_number_past_a_double_is_read_exactly_on_a_short_line(number: str) -> None:
    """Valid JSON that orjson cannot hold as a double: read on the exact path (it was refused as
    'not valid JSON' unless the line happened to hold a 16-digit run)."""
    line = ('{"type":"RECORD","stream":"s","record":{"n":' + number + "}}").encode()
    assert sniff_record(line) is None
    assert parse_line(line, 1) == RecordMessage("s", {"n": Decimal(number)})


@pytest.mark.parametrize(
    "number", ["1e-400", "2.5e-324", "4.9E-324", "-1e-320", "2.2250738585072011e-308", "1e-0400"]
)
def test_a_number_below_a_double_is_read_exactly_not_as_zero_or_a_neighbour(number: str) -> None:
    """Valid JSON that a double cannot hold: orjson reads 1e-400 as 0.0 and 2.5e-324 as 5e-324,
    without an error. Any three-digit exponent takes the exact path (a line, a sniffed RECORD,
    a block of raw lines), so the value arrives as written."""
    line = ('{"type":"RECORD","stream":"s","record":{"n":' + number + "}}").encode()
    assert needs_exact(line) and needs_exact(b'{"a":1}\n' + line + b"\n")
    assert sniff_record(line) is None
    assert parse_line(line, 1) == RecordMessage("s", {"n": Decimal(number)})
    assert loads(line)["record"]["n"] == Decimal(number)


@pytest.mark.parametrize("number", ["1.5e-10", "0.1", "1e99", "-3E+12", "123456789012345"])
def test_a_number_a_double_holds_stays_on_the_fast_path(number: str) -> None:
    line = ('{"type":"RECORD","stream":"s","record":{"n":' + number + "}}").encode()
    assert not needs_exact(line)
    assert sniff_record(line) == {"type": "RECORD", "stream": "s", "record": {"n": float(number)}}
