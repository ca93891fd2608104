"""A plain `number` (no multipleOf / x-scale / x-precision, as singer-sdk taps send a SQL decimal)
arrives exactly as it left (targets/duckdb/plainnumber.py): its column stays DOUBLE while every
value is one a double gives back as written, and becomes DECIMAL(38,s), else VARCHAR, at the first
value it would not, with one INFO line; on the RECORD SQL path and the Python path alike, twice."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from helpers.duckdb_target import column_types, error_line, query, run_target
from tapwell.sdk.target import TargetLoop
from tapwell.singer.wire import dumps
from tapwell.targets.duckdb import plainnumber
from tapwell.targets.duckdb.loader import DuckDBLoader
from tapwell.targets.duckdb.types import exact_double

SCHEMA = (
    b'{"type":"SCHEMA","stream":"t","key_properties":["id"],"schema":{"properties":'
    b'{"id":{"type":"integer"},"x":{"type":["number","null"]}}}}\n'
)
INFO = (
    "target-duckdb INFO stream 't': column 'x' is now {new} (was {old}): {value}, a plain number "
    "(no precision in the SCHEMA: no x-precision, no maximum with a multipleOf), would not stay "
    "as written in a {old}; every value is kept exactly, and later loads keep {new}"
)


def stream(values: list[str], first_id: int = 0) -> bytes:
    """RECORD lines as a singer-sdk tap writes them: each number spelled as the source gave it."""
    out = [SCHEMA]
    for i, v in enumerate(values, first_id):
        out.append(b'{"type":"RECORD","stream":"t","record":{"id":%d,"x":%s}}\n' % (i, v.encode()))
    out.append(b'{"type":"STATE","value":{"n":%d}}\n' % len(values))
    return b"".join(out)


def load(db: Any, data: bytes, **config: Any) -> None:
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))


# The spellings here with an exponent, as a column made text holds them: their digits,
# positional, never an exponent (types.decimal_text, as PostgreSQL's NUMERIC prints them).
POSITIONAL = {
    "1e308": "1" + "0" * 308,
    "5e-324": "0." + "0" * 323 + "5",
    "1E+2": "100",
    "1E5": "100000",
    "1e33": "1" + "0" * 33,
    "1e40": "1" + "0" * 40,
    "1.5e30": "15" + "0" * 29,
    "1e400": "1" + "0" * 400,
    "-1.5E+309": "-15" + "0" * 308,
    "1e-400": "0." + "0" * 399 + "1",
    "-2.5e-324": "-0." + "0" * 323 + "25",
}


def text_of(value: str) -> str | None:
    """A value of the lists below as a text column holds it."""
    return None if value == "null" else POSITIONAL.get(value, value)


def stored(db: Any) -> tuple[str, list[tuple[int, Any]]]:
    return column_types(db, "t")["x"], query(db, "SELECT id, x FROM t ORDER BY id")


# Every value a double gives back as written: the column stays DOUBLE, each value that double.
FLOATS = ["0.1", "0.30000000000000004", "1e308", "5e-324", "-0.0", "1E+2", "9007199254740992", "3"]
# Wide decimals and integers past 2^53 beside them, all within 38 digits: DECIMAL(38,4).
DECIMALS = ["1.5", "12345678901234567890.1234", "-0", "1E+2", "9007199254740993", "0.1", "null"]
# A value past 38 digits (1e308 with 0.0001's places): VARCHAR, each value's exact digits.
WIDE = [
    "1.5",
    "0.30000000000000004",
    "123456789012345678901234.5678",
    "1e308",
    "5e-324",
    "-0",
    "1E+2",
    "9007199254740993",
    "null",
]


@pytest.mark.parametrize("raw_lines", [True, False], ids=["sql", "python"])
def test_floats_keep_a_double_column(tmp_path, raw_lines):
    db = tmp_path / "w.duckdb"
    load(db, stream(FLOATS), raw_lines=raw_lines)
    sqltype, rows = stored(db)
    assert sqltype == "DOUBLE"
    assert rows == [(i, float(v)) for i, v in enumerate(FLOATS)]


@pytest.mark.parametrize("raw_lines", [True, False], ids=["sql", "python"])
def test_wide_decimals_make_the_column_decimal(tmp_path, raw_lines):
    db = tmp_path / "w.duckdb"
    for _ in range(2):  # a re-run changes nothing
        load(db, stream(DECIMALS), raw_lines=raw_lines)
        sqltype, rows = stored(db)
        assert sqltype == "DECIMAL(38,4)"
        assert rows == [
            (0, Decimal("1.5")),
            (1, Decimal("12345678901234567890.1234")),
            (2, Decimal("0")),
            (3, Decimal("100")),
            (4, Decimal("9007199254740993")),
            (5, Decimal("0.1")),
            (6, None),
        ]


@pytest.mark.parametrize("raw_lines", [True, False], ids=["sql", "python"])
def test_past_38_digits_the_column_is_exact_text(tmp_path, raw_lines):
    db = tmp_path / "w.duckdb"
    for _ in range(2):
        load(db, stream(WIDE), raw_lines=raw_lines)
        sqltype, rows = stored(db)
        assert sqltype == "VARCHAR"
        # each value as the line spells it (positional), also in the batch that made it text
        assert rows == [(i, text_of(v)) for i, v in enumerate(WIDE)]


def test_stored_doubles_convert_exactly_and_later_loads_widen_again(tmp_path, monkeypatch):
    """Batches of 2: the first ones load as DOUBLE in SQL; a wide decimal makes the column
    DECIMAL(38,4), stored doubles through their shortest text; a later run's 6-place value (SQL
    finds it, Python widens) DECIMAL(38,6); one with more digits than 38 allows VARCHAR."""
    sql_batches: list[bool] = []
    real = DuckDBLoader._load_lines

    def counted(self: Any, *args: Any) -> bool:
        done = real(self, *args)
        sql_batches.append(done)
        return done

    monkeypatch.setattr(DuckDBLoader, "_load_lines", counted)
    db = tmp_path / "w.duckdb"
    load(db, stream(["0.1", "2.25", "1e-3", "7"]), batch_size_rows=2)
    assert stored(db)[0] == "DOUBLE" and sql_batches == [True, True]
    load(db, stream(["12345678901234567890.1234", "5"], first_id=4), batch_size_rows=2)
    assert stored(db) == (
        "DECIMAL(38,4)",
        [
            (0, Decimal("0.1")),
            (1, Decimal("2.25")),
            (2, Decimal("0.001")),
            (3, Decimal("7")),
            (4, Decimal("12345678901234567890.1234")),
            (5, Decimal("5")),
        ],
    )
    sql_batches.clear()
    load(db, stream(["0.5", "1.123456"], first_id=6), batch_size_rows=2)
    assert sql_batches == [False]  # SQL found a value DECIMAL(38,4) would round
    assert stored(db)[0] == "DECIMAL(38,6)"
    assert stored(db)[1][6:] == [(6, Decimal("0.5")), (7, Decimal("1.123456"))]
    sql_batches.clear()
    load(db, stream(["0.25", "0.5"], first_id=8), batch_size_rows=2)
    assert sql_batches == [True] and stored(db)[0] == "DECIMAL(38,6)"
    load(db, stream(["1e33"], first_id=10), batch_size_rows=2)
    sqltype, rows = stored(db)
    assert sqltype == "VARCHAR"
    assert (
        rows[0] == (0, "0.1")
        and rows[7] == (7, "1.123456")
        and rows[4][1] == "12345678901234567890.1234"
    )
    assert rows[10] == (10, "1" + "0" * 33)  # its line's digits, positional


def test_the_widening_is_one_info_line_then_none(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    data = stream(["0.5", "123456789012345678901234.5678"])
    first = run_target(bin_path, tmp_path, data, db)
    assert first.returncode == 0, error_line(first)
    said = [line for line in first.stderr.decode().splitlines() if "INFO" in line]
    assert said == [
        INFO.format(new="DECIMAL(38,4)", old="DOUBLE", value="123456789012345678901234.5678")
    ]
    again = run_target(bin_path, tmp_path, data, db)
    assert again.returncode == 0, error_line(again)
    assert [line for line in again.stderr.decode().splitlines() if "INFO" in line] == []
    assert again.stdout == b'{"n":2}\n'
    wider = run_target(bin_path, tmp_path, stream(["1e40"]), db)
    assert [line for line in wider.stderr.decode().splitlines() if "INFO" in line] == [
        INFO.format(new="VARCHAR", old="DECIMAL(38,4)", value="1e40")
    ]
    assert query(db, "SELECT x FROM t ORDER BY id") == [
        ("1" + "0" * 40,),
        ("123456789012345678901234.5678",),
    ]


@pytest.mark.parametrize(
    ("value", "double"),
    [
        (0.1, True),
        (Decimal("0.30000000000000004"), True),
        (Decimal("0.12345678901234567"), False),
        (2**53, True),
        (2**53 + 1, False),
        (Decimal("5E-324"), True),
        (Decimal("1E+308"), True),
        (Decimal("123456789012345678901234.5678"), False),
        (Decimal("-0"), True),
    ],
)
def test_exact_double_keeps_what_a_double_would_not_give_back(value, double):
    got = exact_double(value)
    assert (type(got) is float) is double
    if not double:
        assert got is value


@pytest.mark.parametrize(
    ("text", "digits"),
    [("123.4500", (3, 2)), ("1E+2", (3, 0)), ("-0.0", (0, 0)), ("5e-3", (0, 3)), ("1", (1, 0))],
)
def test_extent(text, digits):
    assert plainnumber.extent(text) == digits


def csv_batches(tmp_path: Any, *bodies: str) -> bytes:
    """csv BATCH files of stream `t` (id, x: a plain number), one per body, then a STATE."""
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    out = [SCHEMA]
    for k, body in enumerate(bodies):
        f = spool / f"f{k}.csv"
        f.write_text('"id","x"\n' + body, encoding="utf-8")
        batch = {
            "type": "BATCH",
            "stream": "t",
            "encoding": {"format": "csv", "compression": "none"},
            "manifest": [f"file://{f}"],
        }
        out.append(dumps(batch) + b"\n")
    out.append(b'{"type":"STATE","value":{"n":1}}\n')
    return b"".join(out)


def test_csv_lane_makes_the_column_exact_as_records_do(bin_path, tmp_path):
    """The csv BATCH lane: short numbers and 17-digit doubles keep a DOUBLE; a wide decimal makes
    it DECIMAL(38,4), the file's other values and the stored ones exact; a later file with more
    places widens it again, one past 38 digits makes it text."""
    db = tmp_path / "w.duckdb"
    spool = str(tmp_path / "spool")
    files = (
        "1,0.1\n2,0.30000000000000004\n3,-0\n4,1E+2\n5,\n",
        "6,12345678901234567890.1234\n7,9007199254740992\n8,2.5\n",
        "9,0.123456\n",
    )
    result = run_target(bin_path, tmp_path, csv_batches(tmp_path, files[0]), db, batch_root=spool)
    assert result.returncode == 0, error_line(result)
    assert stored(db) == (
        "DOUBLE",
        [(1, 0.1), (2, 0.30000000000000004), (3, -0.0), (4, 100.0), (5, None)],
    )
    result = run_target(bin_path, tmp_path, csv_batches(tmp_path, *files[1:]), db, batch_root=spool)
    assert result.returncode == 0, error_line(result)
    said = [line for line in result.stderr.decode().splitlines() if "INFO" in line]
    assert said == [
        INFO.format(new="DECIMAL(38,17)", old="DOUBLE", value="12345678901234567890.1234"),
    ]  # 0.30000000000000004 stored before: 17 places, 20 digits before the point
    assert stored(db) == (
        "DECIMAL(38,17)",
        [
            (1, Decimal("0.1")),
            (2, Decimal("0.30000000000000004")),
            (3, Decimal("0")),
            (4, Decimal("100")),
            (5, None),
            (6, Decimal("12345678901234567890.1234")),
            (7, Decimal("9007199254740992")),
            (8, Decimal("2.5")),
            (9, Decimal("0.123456")),
        ],
    )
    result = run_target(
        bin_path, tmp_path, csv_batches(tmp_path, "10,1.5e30\n"), db, batch_root=spool
    )
    assert result.returncode == 0, error_line(result)
    sqltype, rows = stored(db)
    assert sqltype == "VARCHAR"
    assert rows[1] == (2, "0.30000000000000004") and rows[9] == (10, "15" + "0" * 29)


def test_nested_tables_make_their_columns_exact(tmp_path):
    """nested: tables: a plain number in an object (parent column) and in an array's elements
    (child table) widens as a top-level one does; a re-run changes nothing."""
    props = {
        "id": {"type": "integer"},
        "o": {"type": "object", "properties": {"y": {"type": "number"}}},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"z": {"type": "number"}}},
        },
    }
    head = dumps(
        {"type": "SCHEMA", "stream": "t", "key_properties": ["id"], "schema": {"properties": props}}
    )
    body = [
        b'{"type":"RECORD","stream":"t","record":{"id":%d,"o":{"y":%s},"items":[{"z":%s}]}}' % r
        for r in (
            (0, b"2.5", b"3.5"),
            (1, b"12345678901234567890.1234", b"123456789012345678901234.5678"),
            (2, b"0.1", b"9007199254740993"),
        )
    ]
    db = tmp_path / "w.duckdb"
    for _ in range(2):
        load(db, b"\n".join([head, *body]) + b"\n", nested="tables")
        assert column_types(db, "t")["o__y"] == "DECIMAL(38,4)"
        assert query(db, "SELECT id, o__y FROM t ORDER BY id") == [
            (0, Decimal("2.5")),
            (1, Decimal("12345678901234567890.1234")),
            (2, Decimal("0.1")),
        ]
        assert column_types(db, "t__items")["z"] == "DECIMAL(38,4)"
        assert query(db, "SELECT _sdc_source_key_id, z FROM t__items ORDER BY 1") == [
            (0, Decimal("3.5")),
            (1, Decimal("123456789012345678901234.5678")),
            (2, Decimal("9007199254740993")),
        ]


def test_an_integer_in_a_double_column_past_2_53_makes_it_exact(tmp_path):
    """A DOUBLE made by an earlier plain-number schema, now fed an integer property: 2^53 + 1
    makes it DECIMAL rather than 2^53."""
    db = tmp_path / "w.duckdb"
    load(db, stream(["1.5"]))
    integer = SCHEMA.replace(b'"x":{"type":["number","null"]}', b'"x":{"type":"integer"}')
    load(db, stream(["9007199254740993"], first_id=1).replace(SCHEMA, integer))
    assert stored(db) == ("DECIMAL(38,1)", [(0, Decimal("1.5")), (1, Decimal("9007199254740993"))])


INTEGER_SCHEMA = SCHEMA.replace(
    b'"x":{"type":["number","null"]}', b'"x":{"type":["integer","null"]}'
)


@pytest.mark.parametrize("raw_lines", [True, False])
def test_an_integer_column_given_a_plain_number_keeps_its_integers(tmp_path, raw_lines) -> None:
    """A BIGINT column whose property becomes a plain number was made DOUBLE, rounding the
    integers it held past 2^53 (9007199254740993 -> 9007199254740992) without a word; it becomes
    the DECIMAL holding them, made wider by the values that need it."""
    db = tmp_path / "w.duckdb"
    first = stream(["9007199254740993", "-9223372036854775808"]).replace(SCHEMA, INTEGER_SCHEMA)
    load(db, first, raw_lines=raw_lines)
    assert column_types(db, "t")["x"] == "BIGINT"
    load(db, stream(["1.5"], first_id=2), raw_lines=raw_lines)
    kind, rows = stored(db)
    assert kind == "DECIMAL(38,1)"
    assert rows == [
        (0, Decimal("9007199254740993")),
        (1, Decimal("-9223372036854775808")),
        (2, Decimal("1.5")),
    ]
    load(db, stream(["1.5"], first_id=2), raw_lines=raw_lines)  # again: nothing changes
    assert stored(db) == (kind, rows)


# Spellings the wire reads as another text (0 and -0 as int 0, 1.50 as 1.5, 1E5 as 100000.0, a
# 30-place fraction as Decimal 1E-30) beside a value past 38 digits, which makes the column text.
SPELLED = [
    "123456789012345678901234567890.123456789012345678901234567890",
    "0",
    "-0",
    "1.50",
    "1E5",
    "-0.000000000000000000000000000001",
    "0.00001",
    "2.5",
    "9007199254740993",
]


@pytest.mark.parametrize("lane", ["sql", "python", "csv"])
def test_a_column_made_text_holds_each_value_as_its_input_spells_it(bin_path, tmp_path, lane):
    """RECORD lines (either path) and the csv BATCH lane: the same text in every row, the
    source's digits (positional: '100000' for '1E5'), on a second run too (RECORD lines held a
    double's text: '0.0', '1.5', '100000.0', '-1e-30', where the csv lane held '0', '1.50',
    '1E5', ...)."""
    db = tmp_path / "w.duckdb"
    for _ in range(2):
        if lane == "csv":  # the file is deleted once loaded: written again
            body = "".join(f"{i},{v}\n" for i, v in enumerate(SPELLED))
            data, more = csv_batches(tmp_path, body), {"batch_root": str(tmp_path / "spool")}
        else:
            # batches of one: the value past 38 digits makes the column text alone (the values
            # read with it, as floats or ints, would hold the wire's text: WIRE)
            data, more = stream(SPELLED), {"raw_lines": lane == "sql", "batch_size_rows": 1}
        result = run_target(bin_path, tmp_path, data, db, **more)
        assert result.returncode == 0, error_line(result)
        assert stored(db) == ("VARCHAR", [(i, text_of(v)) for i, v in enumerate(SPELLED)])


def test_a_declared_decimal_made_text_keeps_its_scale(tmp_path):
    """A DECIMAL(12,2) an earlier SCHEMA declared, then a plain number past 38 digits: the stored
    1.50 stays '1.50' (its source's text at that scale; it was '1.5'); a DECIMAL(38,s) this
    target made for a plain number is written without the zeros its scale added."""
    db = tmp_path / "w.duckdb"
    declared = SCHEMA.replace(
        b'"x":{"type":["number","null"]}',
        b'"x":{"type":["number","null"],"x-precision":12,"x-scale":2,"multipleOf":0.01}',
    )
    load(db, stream(["1.50", "2.25"]).replace(SCHEMA, declared))
    assert stored(db)[0] == "DECIMAL(12,2)"
    load(db, stream(["1e40"], first_id=2))
    assert stored(db) == ("VARCHAR", [(0, "1.50"), (1, "2.25"), (2, "1" + "0" * 40)])


# Numbers past a double's range (infinity in a DOUBLE) or below its smallest (0 or a neighbour):
# a plain number arrives as written, so each makes the column text, as a value past 38 digits does.
PAST = ["1.5", "1e400", "-1.5E+309", "1e-400", "-2.5e-324", "1" + "0" * 400, "null"]


@pytest.mark.parametrize("lane", ["sql", "python", "csv"])
def test_past_a_double_s_range_the_column_is_exact_text(bin_path, tmp_path, lane):
    """Was a refusal (exit 65) with no way out but changing the source: 1e400 is a NUMERIC
    value PostgreSQL and singer-sdk taps send as a plain number."""
    db = tmp_path / "w.duckdb"
    for run in range(2):
        if lane == "csv":
            body = "".join(f"{i},{'' if v == 'null' else v}\n" for i, v in enumerate(PAST))
            data, more = csv_batches(tmp_path, body), {"batch_root": str(tmp_path / "spool")}
        else:
            data, more = stream(PAST), {"raw_lines": lane == "sql", "batch_size_rows": 1}
        result = run_target(bin_path, tmp_path, data, db, **more)
        assert result.returncode == 0, error_line(result)
        said = [line for line in result.stderr.decode().splitlines() if "INFO" in line]
        if run == 0:
            assert said == [INFO.format(new="VARCHAR", old="DOUBLE", value="1e400")]
        else:
            assert said == []
        want = [(i, text_of(v)) for i, v in enumerate(PAST)]
        assert stored(db) == ("VARCHAR", want)


OBJECT_Y = {"type": "object", "properties": {"y": {"type": "number"}}}


def test_nested_tables_refuse_a_number_past_a_double_s_range_with_the_fix(bin_path, tmp_path):
    """There the column does not become text (README): one line with the way out."""
    head = dumps(
        {
            "type": "SCHEMA",
            "stream": "t",
            "key_properties": ["id"],
            "schema": {"properties": {"id": {"type": "integer"}, "o": OBJECT_Y}},
        }
    )
    data = head + b'\n{"type":"RECORD","stream":"t","record":{"id":1,"o":{"y":1e400}}}\n'
    db = tmp_path / "w.duckdb"
    result = run_target(bin_path, tmp_path, data, db, nested="tables")
    assert result.returncode == 65
    assert error_line(result) == (
        "target-duckdb: error: stdin line 2, stream 't', field 'o.y': 1E+400 is outside the "
        "range of a DOUBLE column (about ±1.8e308): fix the value at the source, or load the "
        "stream with `nested: json` (each document kept as written)"
    )
    result = run_target(bin_path, tmp_path, data, db, nested="json")
    assert result.returncode == 0, error_line(result)
    assert query(db, "SELECT id, CAST(o AS VARCHAR) FROM t") == [(1, '{"y":1e400}')]


def test_a_multipleof_without_maximum_is_a_plain_number_and_said_so(
    bin_path: Any, tmp_path: Any
) -> None:
    """PipelineWise's tap-mysql gives a DECIMAL(65,30) as `multipleOf: 1e-30` with no maximum: no
    precision, so a plain number; the INFO line said "no multipleOf in the SCHEMA" of it."""
    db = tmp_path / "w.duckdb"
    wide = "99999999999999999999999999999999999.999999999999999999999999999999"
    data = stream([wide]).replace(
        b'"x":{"type":["number","null"]}', b'"x":{"type":["number","null"],"multipleOf":1e-30}'
    )
    result = run_target(bin_path, tmp_path, data, db)
    assert result.returncode == 0, error_line(result)
    said = [line for line in result.stderr.decode().splitlines() if "INFO" in line]
    assert said == [INFO.format(new="VARCHAR", old="DOUBLE", value=wide)]
    assert stored(db) == ("VARCHAR", [(0, wide)])
