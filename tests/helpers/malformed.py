"""A generator of bad (and awkward but valid) Singer input for targets.

Every case is the same frame: a SCHEMA for stream `s`, records 1 and 2, STATE {"pos": 2}, then
the case's own lines (on line 5 onward), then record 3 and STATE {"pos": 3}. A target must then:
exit as the case says (65 for malformed input) with one error line naming line 5 and no
traceback, commit records 1 and 2 with STATE {"pos": 2} and nothing after it; or, for a valid
case, load everything and end on {"pos": 3}.

`CASES` is the whole generator; `FAST` the names run without the `slow` mark.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.targets import lines, record, schema, state

Line = bytes | str | dict[str, Any]

PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "v": {},  # anything: nested values, strings
    "n": {"type": ["null", "number"]},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10},
    "ts": {"type": ["null", "string"], "format": "date-time"},
    "day": {"type": ["null", "string"], "format": "date"},
}
BIG = 1234567890123456789  # 19 digits: the line takes the exact-number path


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], list[Line]]  # the case's lines, given a folder for its files
    exit: int = 65
    says: str = ""  # part of the error line (65) / nothing (0)
    valid_ids: tuple[int, ...] = ()  # ids a valid case's lines add
    also: tuple[int, ...] = ()  # other exits a target may give (with one error line)
    exits: tuple[tuple[str, int], ...] = ()  # (target, exit) where its destination differs

    def exit_for(self, target: str) -> int:
        return dict(self.exits).get(target, self.exit)

    def data(self, folder: Path) -> bytes:
        head = [
            schema("s", PROPS, ["id"]),
            record("s", {"id": 1, "v": "one"}),
            record("s", {"id": 2, "v": "two"}),
            state({"pos": 2}),
        ]
        tail = [record("s", {"id": 3, "v": "three"}), state({"pos": 3})]
        return lines(*head, *self.make(folder), *tail)


def rec(**fields: Any) -> dict[str, Any]:
    return record("s", {"id": 4, **fields})


def raw_rec(body: str) -> str:
    return '{"type":"RECORD","stream":"s","record":{"id":4,' + body + "}}"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _batch(folder: Path, name: str, content: bytes, **encoding: Any) -> dict[str, Any]:
    path = folder / name
    path.write_bytes(content)
    return {
        "type": "BATCH",
        "stream": "s",
        "encoding": {"format": "jsonl", **encoding},
        "manifest": [f"file://{path}"],
    }


def _gz(rows: list[dict[str, Any]]) -> bytes:
    return gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in rows))


def _truncated_gzip(folder: Path) -> list[Line]:
    full = _gz([{"id": i, "v": "x" * 50} for i in range(10, 200)])
    return [_batch(folder, "cut.jsonl.gz", full[: len(full) // 2], compression="gzip")]


def _missing(folder: Path) -> list[Line]:
    return [
        {
            "type": "BATCH",
            "stream": "s",
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "manifest": [f"file://{folder / 'nowhere.jsonl.gz'}"],
        }
    ]


def _good_batch(folder: Path) -> list[Line]:
    return [_batch(folder, "ok.jsonl.gz", _gz([{"id": 10}, {"id": 11}]), compression="gzip")]


def _unknown(folder: Path) -> list[Line]:
    return [{"type": "FOO", "stream": "s"}, {"type": "FOO"}, {"type": "BAR"}]


CASES: tuple[Case, ...] = (
    # -- issue 20.8: each was a traceback or a wrong acceptance
    Case("batch_missing_file", _missing, says="does not exist"),
    Case("batch_truncated_gzip", _truncated_gzip, says="cannot be read"),
    Case(
        "batch_not_gzip",
        lambda d: [_batch(d, "plain.jsonl", b'{"id": 10}\n', compression="gzip")],
        says="cannot be read",
    ),
    Case(
        "batch_bad_line",
        lambda d: [_batch(d, "bad.jsonl", b'{"id": 10}\n{"id": 11,\n')],
        says="line 2: not valid JSON",
    ),
    Case(
        "batch_not_a_record",
        lambda d: [_batch(d, "list.jsonl", b"[1, 2]\n")],
        says="not a record",
    ),
    Case(
        "batch_encoding_unsupported",
        lambda d: [_batch(d, "p.parquet", b"PAR1", format="parquet")],
        says="not supported",
    ),
    Case("deep_100000", lambda d: [raw_rec('"v":' + nested(100_000))], says="nested too deeply"),
    Case(
        "deep_100000_exact_path",
        lambda d: [raw_rec(f'"n":{BIG},"v":' + nested(100_000))],
        says="nested too deeply",
    ),
    Case("int_5000_digits", lambda d: [raw_rec('"n":' + "9" * 5000)], says="4300 digits"),
    Case(
        "nan_exact_path",
        lambda d: [raw_rec(f'"n":NaN,"v":{BIG}')],
        says="NaN is not a JSON number",
    ),
    Case(
        "nan_in_state",
        lambda d: ['{"type":"STATE","value":{"pos":' + str(BIG) + ',"x":NaN}}'],
        says="NaN is not a JSON number",
    ),
    Case("iso_week_date", lambda d: [rec(ts="2024-W01-1")], says="not a valid date-time"),
    Case("iso_week_day", lambda d: [rec(day="2024-W01-1")], says="not a valid date"),
    Case("multiple_of_broken", lambda d: [rec(amount=1.234)], says="not a multiple of 0.01"),
    Case(
        "multiple_of_broken_exact_path",
        lambda d: [raw_rec('"amount":12345678.123456789012')],
        says="not a multiple of 0.01",
    ),
    Case("deep_500_valid", lambda d: [raw_rec('"v":' + nested(500))], exit=0, valid_ids=(4,)),
    # -- issue 11.24
    Case("unknown_types_valid", _unknown, exit=0),
    Case(
        "key_not_in_schema",
        lambda d: [schema("t", {"id": {"type": "integer"}}, ["nope"])],
        says="key property is not a property of the schema",
    ),
    # -- the rest of the generator
    Case("truncated_line", lambda d: ['{"type":"RECORD","stream":"s","rec'], says="not valid JSON"),
    Case("not_an_object", lambda d: ["[1, 2]"], says="expected a JSON object"),
    Case("no_type", lambda d: ['{"stream":"s"}'], says="no 'type'"),
    Case("wrong_type", lambda d: [rec(n="abc")], says="is not number"),
    Case("key_null", lambda d: [record("s", {"v": 1})], says="key property is missing"),
    Case("missing_record", lambda d: [{"type": "RECORD", "stream": "s"}], says="no 'record'"),
    Case(
        "record_not_object",
        lambda d: [{"type": "RECORD", "stream": "s", "record": 5}],
        says="must be an object",
    ),
    Case("missing_stream", lambda d: [{"type": "RECORD", "record": {"id": 4}}], says="'stream'"),
    Case(
        "record_before_schema",
        lambda d: [record("other", {"id": 4})],
        says="RECORD before its SCHEMA",
    ),
    Case(
        "version_not_integer",
        lambda d: [record("s", {"id": 4}, version="x")],
        says="version must be an integer",
    ),
    Case("infinity", lambda d: [raw_rec('"n":Infinity')], says="not valid JSON"),
    Case(
        "minus_infinity_exact_path",
        lambda d: [raw_rec(f'"n":-Infinity,"v":{BIG}')],
        says="Infinity is not a JSON number",
    ),
    Case("bad_date", lambda d: [rec(ts="2024-13-45T00:00:00Z")], says="not a valid date-time"),
    Case(
        "bad_utf8",
        lambda d: [b'{"type":"RECORD","stream":"s","record":{"id":4,"v":"\xff\xfe"}}'],
        says="not valid JSON",
    ),
    Case("nul_byte_raw", lambda d: [raw_rec('"v":"a\x00b"')], says="not valid JSON"),
    Case("state_not_object", lambda d: [{"type": "STATE", "value": [1]}], says="must be an object"),
    Case("state_null", lambda d: [{"type": "STATE", "value": None}], says="must be an object"),
    Case(
        "schema_not_object",
        lambda d: [{"type": "SCHEMA", "stream": "t", "schema": [], "key_properties": []}],
        says="must be an object",
    ),
    Case(
        "activate_before_schema",
        lambda d: [{"type": "ACTIVATE_VERSION", "stream": "other", "version": 1}],
        says="ACTIVATE_VERSION before its SCHEMA",
    ),
    Case(
        "activate_empty_not_boolean",
        lambda d: [{"type": "ACTIVATE_VERSION", "stream": "s", "version": 1, "empty": 1}],
        says="'empty' must be true or false",
    ),
    Case("blank_lines_valid", lambda d: ["", "   ", "\t"], exit=0),
    Case("batch_valid", _good_batch, exit=0, valid_ids=(10, 11)),
    Case(
        "exact_values_valid",
        lambda d: [raw_rec(f'"n":{BIG}.5,"amount":12345678.12,"ts":"2024-01-01T00:00:00.000001Z"')],
        exit=0,
        valid_ids=(4,),
    ),
    Case("nul_escaped", lambda d: [rec(v="a\u0000b")], exit=0, valid_ids=(4,), also=(65,)),
    Case(
        "key_properties_not_a_list",
        lambda d: [{"type": "SCHEMA", "stream": "t", "schema": {}, "key_properties": "id"}],
        says="key_properties must be an array",
    ),
    Case(
        "batch_manifest_not_a_list",
        lambda d: [{"type": "BATCH", "stream": "s", "encoding": {}, "manifest": "x.jsonl"}],
        says="'manifest' must be an array",
    ),
    Case(
        "text_escapes_and_emoji_valid",
        lambda d: [rec(v='tab\t nl\n cr\r \u0001 "q" \\ \U0001f600 \u05e9\u05dc\u05d5\u05dd')],
        exit=0,
        valid_ids=(4,),
    ),
    Case(
        "number_past_double_exact_path",  # jsonl, numeric keep it; DuckDB's column becomes text
        lambda d: [raw_rec(f'"n":1e400,"v":{BIG}')],
        exit=0,
        valid_ids=(4,),
    ),
    Case("five_megabyte_value_valid", lambda d: [rec(v="x" * 5_000_000)], exit=0, valid_ids=(4,)),
)

FAST = {
    "batch_missing_file",
    "batch_truncated_gzip",
    "batch_not_gzip",
    "deep_100000_exact_path",
    "int_5000_digits",
    "nan_exact_path",
    "nan_in_state",
    "iso_week_date",
    "multiple_of_broken",
    "deep_500_valid",
    "unknown_types_valid",
    "key_not_in_schema",
}
