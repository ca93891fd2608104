"""tap-mysql's pure pieces, no server needed: column selection, binlog value text, the
compiled row function."""

from __future__ import annotations

from datetime import timedelta

import orjson
from tapwell.sdk.sql_tap import selected_columns
from tapwell.singer.catalog import StreamEntry
from tapwell.taps.mysql.binlog_values import enum_values as _enum_values
from tapwell.taps.mysql.records import RecordWriter, compile_row
from tapwell.taps.mysql.types import Column, float32_text, row_plan, time_text


def test_selection_rules() -> None:
    entry = StreamEntry(
        {
            "tap_stream_id": "db-t",
            "schema": {"properties": {k: {} for k in "abcdef"}},
            "metadata": [
                {"breadcrumb": [], "metadata": {"selected": True}},
                {
                    "breadcrumb": ["properties", "a"],
                    "metadata": {"inclusion": "automatic", "selected": False},
                },
                {
                    "breadcrumb": ["properties", "b"],
                    "metadata": {"inclusion": "available", "selected": False},
                },
                {
                    "breadcrumb": ["properties", "c"],
                    "metadata": {"inclusion": "available", "selected-by-default": False},
                },
                {
                    "breadcrumb": ["properties", "d"],
                    "metadata": {"inclusion": "unsupported", "selected": True},
                },
                {
                    "breadcrumb": ["properties", "e"],
                    "metadata": {"inclusion": "available", "selected": True},
                },
            ],
        }
    )
    assert selected_columns(entry) == {"a", "e", "f"}


def test_binlog_value_text() -> None:
    assert time_text(timedelta(hours=838, minutes=59, seconds=59), 0) == "838:59:59"
    assert time_text(-timedelta(hours=1, microseconds=500_000), 3) == "-01:00:00.500"
    assert float32_text(1.100000023841858) == 1.1
    assert float32_text(0.5) == 0.5
    assert _enum_values("enum('a','it''s','c,d')") == ["a", "it's", "c,d"]


def test_compiled_row_matches_message_writer() -> None:
    from io import BytesIO

    from tapwell.singer.wire import MessageWriter

    cols = [
        Column("id", "int", "int(11)"),
        Column("flag", "tinyint", "tinyint(1)"),
        Column("j", "longtext", "longtext", is_json=True),
        Column("bin", "varbinary", "varbinary(4)"),
        Column("we\"ird'name", "varchar", "varchar(3)"),
    ]
    props = {"flag": {"type": ["null", "boolean"]}}
    row = (1, 0, '{"n": 1.00000000000000000001}', b"\x00\xff", "x")
    to_dict = compile_row([c.name for c in cols], row_plan(cols, props))
    assert to_dict((None, None, None, None, None)) == dict.fromkeys([c.name for c in cols])
    ours, theirs = BytesIO(), BytesIO()
    RecordWriter(ours, "s", [c.name for c in cols], row_plan(cols, props), version=7).write_rows(
        [row]
    )
    MessageWriter(theirs).write_record(
        "s",
        {"id": 1, "flag": False, "j": orjson.Fragment(row[2]), "bin": "AP8=", "we\"ird'name": "x"},
        version=7,
    )
    assert ours.getvalue() == theirs.getvalue()
