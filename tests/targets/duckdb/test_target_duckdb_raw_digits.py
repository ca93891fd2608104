"""RECORD lines with a run of 16 digits or a three-digit exponent (tapwell.singer.wire.needs_exact)
stay in the raw lane (targets/duckdb/raw.py) when no column of the stream reads a number through
a double (Plan.digits False: integers, strings, booleans, date-times, which DuckDB reads with the
line's digits), and load exactly what the Python path loads; a stream with a number or a JSON
document column still sends such lines to the exact parser, which refuses or keeps them exactly
as before."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state
from tapwell.sdk.target import TargetLoop
from tapwell.sdk.target_lanes import RawLane, raw_lane
from tapwell.sdk.target_types import Batch, RowEncoder, StreamSpec
from tapwell.targets.duckdb import ddl, raw, stage
from tapwell.targets.duckdb.loader import DuckDBLoader

PLAIN: dict[str, Any] = {
    "id": {"type": "integer"},
    "big": {"type": ["null", "integer"]},
    "note": {"type": ["null", "string"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "paid": {"type": ["null", "boolean"]},
}
BIGS = [2**53 + 1, 9223372036854775807, -9223372036854775808, 1234567890123456789, None]
NOTES = ["card 4111111111111111", "1e400 and 2.5e-324", "0.12345678901234567", "", None]


def plan_of(props: dict[str, Any]) -> raw.Plan | None:
    spec = StreamSpec("t", {"type": "object", "properties": props}, ["id"], lambda r, n: None)
    columns = ddl.columns_of(spec.schema)
    return raw.plan(spec, [stage.staged_column(p, p, t) for p, t in columns.items()])


@pytest.mark.parametrize(
    ("extra", "digits"),
    [
        ({}, False),
        ({"x": {"type": ["null", "number"]}}, True),
        ({"x": {"type": "number", "multipleOf": 0.01}}, True),
        ({"x": {"type": ["null", "object"]}}, True),
        ({"x": {"type": ["null", "array"]}}, True),
    ],
)
def test_a_plan_says_whether_a_column_may_read_other_digits(extra, digits):
    plan = plan_of(PLAIN | extra)
    assert plan is not None
    assert plan.digits is digits


def lane(digits: bool) -> RawLane:
    spec = StreamSpec("t", {"type": "object", "properties": {}}, [], lambda r, n: None)
    batch = Batch(spec, encoder=RowEncoder(lambda r, n: r, raw=True, raw_digits=digits))
    return raw_lane(batch)


def test_the_lane_looks_for_long_digit_runs_only_when_told():
    line = lines(record("t", {"id": 1, "note": "card 4111111111111111", "x": 1e-300}))
    assert not lane(True).takes_block(line, 1)
    assert not lane(True).take(line, 1)
    assert lane(False).takes_block(line, 1)
    assert lane(False).take(line, 1)


def plain(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "big": BIGS[i % len(BIGS)],
        "note": NOTES[i % len(NOTES)],
        "at": "2024-02-29T23:59:59.999999+05:30",
        "paid": i % 2 == 0,
    }


def load(tmp_path: Any, name: str, data: bytes, **config: Any) -> Any:
    db = tmp_path / f"{name}.duckdb"
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))
    return db


@pytest.mark.parametrize("method", ["upsert", "append-only"])
def test_long_digits_in_exact_columns_load_in_sql_as_python_loads_them(
    tmp_path, monkeypatch, method
):
    data = lines(schema("t", PLAIN), *[record("t", plain(i)) for i in range(1, 201)], state({}))
    python = load(tmp_path, "python", data, raw_lines=False, load_method=method)
    monkeypatch.setattr(raw, "decode", lambda *a: pytest.fail("a batch went the Python way"))
    sql = load(tmp_path, "sql", data, batch_size_rows=50, load_method=method)
    every = "SELECT * FROM t ORDER BY id"
    assert query(sql, every) == query(python, every)
    assert query(sql, "SELECT big FROM t WHERE id = 5") == [(2**53 + 1,)]
    assert query(sql, "SELECT note FROM t WHERE id = 1") == [("1e400 and 2.5e-324",)]


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("0.12345678901234567", None),  # not a multiple of 0.01: refused, as before
        ("1e-400", None),
        ("1e400", None),
        ("1047.2900000000000000", Decimal("1047.29")),  # 20 digits, exactly 1047.29
    ],
)
def test_a_number_column_still_sends_long_digits_to_the_exact_parser(
    bin_path, tmp_path, text, stored
):
    props = PLAIN | {"amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10}}
    line = b'{"type":"RECORD","stream":"t","record":{"id":1,"amount":' + text.encode() + b"}}\n"
    data = lines(schema("t", props)) + line + lines(state({"n": 1}))
    result = run_target(bin_path, tmp_path, data)
    if stored is None:
        assert result.returncode != 0
        assert "amount" in error_line(result)
        return
    assert result.returncode == 0, result.stderr.decode()
    assert query(tmp_path / "w.duckdb", "SELECT amount FROM t") == [(stored,)]


@pytest.mark.parametrize(
    "text", ["1e400", "123456789012345678901234", "1.0000000000000000001", "-9223372036854775809"]
)
def test_an_integer_column_refuses_long_digits_as_the_python_path(bin_path, tmp_path, text):
    line = b'{"type":"RECORD","stream":"t","record":{"id":1,"big":' + text.encode() + b"}}\n"
    data = lines(schema("t", PLAIN)) + line + lines(state({"n": 1}))
    sql = run_target(bin_path, tmp_path, data)
    python = run_target(bin_path, tmp_path, data, tmp_path / "python.duckdb", raw_lines=False)
    assert sql.returncode == python.returncode != 0
    assert error_line(sql) == error_line(python)
