"""A table of PostgreSQL arrays (one and two dimensions, every element kind with a JSON form of
its own) with the records tap-postgres must give for its rows, written out by hand: the snapshot
and the WAL path are both compared with these, and so is what each target loaded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapwell.singer.wire import dumps

from helpers.pg_tap import exact

ARRAYS_DDL = r"""
CREATE TYPE src.tone AS ENUM ('low', 'high');
CREATE TYPE src.pair AS (n integer, s text);
CREATE TABLE src.arrays (
  id integer PRIMARY KEY,
  ai integer[], abi bigint[], an numeric[], an3 numeric(10,3)[], af double precision[],
  at text[], atz timestamptz(6)[], ats timestamp(6)[], adt date[], ajb jsonb[], am money[],
  a2 integer[][], an2 numeric[][], at2 text[][], ab boolean[], au uuid[], ae src.tone[],
  cp src.pair, acp src.pair[]
)"""

ARRAYS_ROWS = r"""
INSERT INTO src.arrays VALUES (
  1, '{1,-2147483648,NULL}', '{9223372036854775807,-9223372036854775808}',
  '{123456789012345678901234567890.123456789012345678901234567890,-0.000000000000000000000000000001,0,1.10}',
  '{1.5,NULL,-999.999}', '{1.5,-0.1,1e300}',
  '{"a b","c\"d",NULL,"","NULL","emoji 😀","comma,{brace}","back\\slash"}',
  '{"2024-01-31 10:00:00.000001+02","2024-06-01 00:00:00+00"}', '{"2024-01-31 10:00:00.123456"}',
  '{2024-02-29,NULL}',
  ARRAY['{"a": [1, 2.50]}'::jsonb, '"s"', 'null', '12345678901234567890.123456789', NULL],
  '{1234.56,-0.01}', '{{1,2},{3,NULL}}', '{{1.5,2.25},{NULL,-3}}', '{{"x y",z},{"",NULL}}',
  '{t,f,NULL}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{high,low}',
  '(1,"x y")', ARRAY['(1,"x y")'::src.pair, '(2,)', NULL]
);
INSERT INTO src.arrays (id, ai, at, a2) VALUES (2, '{}', '{}', '{}');
INSERT INTO src.arrays (id, an, af, adt, atz, ats, an2) VALUES (
  3, '{NaN,1}', '{Infinity,-Infinity,NaN,2}', '{infinity,0044-03-15 BC,10000-01-01,2024-01-01}',
  '{-infinity,"0044-03-15 00:00:00+00 BC","2024-01-01 00:00:00+00"}', '{infinity,"2024-01-01 00:00"}',
  '{{NaN,1},{2,NaN}}'
)"""

_COLUMNS = "ai abi an an3 af at atz ats adt ajb am a2 an2 at2 ab au ae cp acp"
_NONE: dict[str, Any] = {c: None for c in _COLUMNS.split()}
D = Decimal

# id -> the record, every number exact
ARRAYS_EXPECTED: dict[int, dict[str, Any]] = {
    1: {
        "id": D(1),
        "ai": [D(1), D(-2147483648), None],
        "abi": [D(9223372036854775807), D(-9223372036854775808)],
        "an": [
            D("123456789012345678901234567890.123456789012345678901234567890"),
            D("-0.000000000000000000000000000001"),
            D(0),
            D("1.10"),
        ],
        "an3": [D("1.500"), None, D("-999.999")],
        "af": [D("1.5"), D("-0.1"), D("1e300")],
        "at": ["a b", 'c"d', None, "", "NULL", "emoji 😀", "comma,{brace}", "back\\slash"],
        "atz": ["2024-01-31T08:00:00.000001+00:00", "2024-06-01T00:00:00+00:00"],
        "ats": ["2024-01-31T10:00:00.123456+00:00"],
        "adt": ["2024-02-29", None],
        "ajb": [{"a": [D(1), D("2.50")]}, "s", None, D("12345678901234567890.123456789"), None],
        "am": [D("1234.56"), D("-0.01")],
        "a2": [[D(1), D(2)], [D(3), None]],
        "an2": [[D("1.5"), D("2.25")], [None, D(-3)]],
        "at2": [["x y", "z"], ["", None]],
        "ab": [True, False, None],
        "au": ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
        "ae": ["high", "low"],
        "cp": '(1,"x y")',  # a composite as its text
        "acp": ['(1,"x y")', "(2,)", None],
    },
    2: {**_NONE, "id": D(2), "ai": [], "at": [], "a2": []},
    3: {
        **_NONE,
        "id": D(3),
        "an": [None, D(1)],
        "af": [None, None, None, D(2)],
        "adt": [None, None, None, "2024-01-01"],
        "atz": [None, None, "2024-01-01T00:00:00+00:00"],
        "ats": [None, "2024-01-01T00:00:00+00:00"],
        "an2": [[None, D(1)], [D(2), None]],
    },
}

# numbers whose digits must arrive as written (a float on the way would change them)
DIGITS = {(1, "an"): "[123456789012345678901234567890.123456789012345678901234567890,"
          "-0.000000000000000000000000000001,0,1.10]", (1, "an3"): "[1.500,null,-999.999]",
          (1, "am"): "[1234.56,-0.01]"}  # fmt: skip


def exact_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record as read from the tap's output, every number a Decimal."""
    out: dict[str, Any] = exact(dumps(record).decode())
    return out
