"""target-duckdb's Arrow staging: every value arrives exactly, row by row, whichever way the loop
read its line (floats for short numbers, Decimal for a line with a long one), through the row
encoder and through the dict path (metadata columns); memory_limit and threads are applied."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from tapwell.sdk.target import TargetLoop
from tapwell.singer.errors import ConfigError
from tapwell.targets.duckdb.loader import DuckDBLoader

CONTROLS = "".join(chr(c) for c in range(32)) + "\x7f"

PROPS = {
    "id": {"type": "integer"},
    "money": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10000000000},
    "wide": {"type": ["null", "number"], "multipleOf": 1e-30, "maximum": 1e40},
    "n": {"type": ["null", "integer"]},
    "ratio": {"type": ["null", "number"]},
    "text": {"type": ["null", "string"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "doc": {"type": ["null", "object"]},
    "flag": {"type": ["null", "boolean"]},
}

# Each record's line as a tap writes it (the JSON text is what must arrive).
LINES = [
    '{"id":1,"money":1047.29,"wide":null,"n":9223372036854775807,"ratio":0.1,"text":"","at":"2024-02-29T23:59:59.123456+05:30","doc":{"a":[1,2.50,"x"],"b":null},"flag":true}',
    '{"id":2,"money":-0.01,"wide":12345678901234567890123456789012345.123456789012345678901234567890,"n":-9223372036854775808,"ratio":-1e-7,"text":null,"at":"1999-12-31T23:59:59.000001Z","doc":{"big":123456789012345678901234567890.5},"flag":false}',
    '{"id":3,"money":99999999.99,"wide":1E-30,"n":0,"ratio":1.7976931348623157e308,"text":'
    + json.dumps(CONTROLS + ' emoji \U0001f600 \\ " end', ensure_ascii=False)
    + ',"at":"2024-01-01T00:00:00+00:00","doc":{"s":"\\u0000\\n"},"flag":null}',
    '{"id":4,"money":null,"wide":null,"n":null,"ratio":null,"text":"   ","at":null,"doc":null,"flag":null}',
]


def stream(lines: list[str]) -> bytes:
    schema = {
        "type": "SCHEMA",
        "stream": "t",
        "schema": {"type": "object", "properties": PROPS},
        "key_properties": ["id"],
    }
    out = [json.dumps(schema)]
    out += ['{"type":"RECORD","stream":"t","record":' + line + "}" for line in lines]
    out.append('{"type":"STATE","value":{"done":true}}')
    return ("\n".join(out) + "\n").encode()


def run_loop(db: Path, data: bytes, **config: object) -> list[dict]:
    out = io.BytesIO()
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, out).run(io.BytesIO(data))
    return [json.loads(x) for x in out.getvalue().splitlines()]


def rows(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        cols = ", ".join(f'"{c}"' for c in PROPS)
        return con.execute(f"SELECT {cols} FROM t ORDER BY id").fetchall()
    finally:
        con.close()


EXPECTED = [
    (
        1,
        Decimal("1047.29"),
        None,
        9223372036854775807,
        0.1,
        "",
        datetime(2024, 2, 29, 18, 29, 59, 123456, tzinfo=UTC),
        '{"a":[1,2.50,"x"],"b":null}',  # the line has a 19-digit number: read exactly
        True,
    ),
    (
        2,
        Decimal("-0.01"),
        "12345678901234567890123456789012345.123456789012345678901234567890",
        -9223372036854775808,
        -1e-7,
        None,
        datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        '{"big":123456789012345678901234567890.5}',
        False,
    ),
    (
        3,
        Decimal("99999999.99"),
        "0.000000000000000000000000000001",  # DECIMAL(70,30)'s digits at its scale (was 1E-30)
        0,
        1.7976931348623157e308,
        CONTROLS + ' emoji \U0001f600 \\ " end',
        datetime(2024, 1, 1, tzinfo=UTC),
        '{"s":"\\u0000\\n"}',
        None,
    ),
    (4, None, None, None, None, "   ", None, None, None),
]


@pytest.mark.parametrize("metadata", [False, True], ids=["row-encoder", "dicts"])
def test_every_value_arrives_exactly_row_by_row(tmp_path, metadata):
    db = tmp_path / "w.duckdb"
    out = run_loop(db, stream(LINES), add_metadata_columns=metadata)
    assert out == [{"done": True}]
    got = rows(db)
    for have, want in zip(got, EXPECTED, strict=True):
        assert dict(zip(PROPS, have, strict=True)) == dict(zip(PROPS, want, strict=True))


def test_every_value_arrives_exactly_in_batches_of_one_with_upserts(tmp_path):
    db = tmp_path / "w.duckdb"
    again = [line.replace('"flag":true', '"flag":false') for line in LINES[:1]]
    run_loop(db, stream(LINES + again), batch_size_rows=1)
    got = rows(db)
    assert got[0][-1] is False and got[1:] == EXPECTED[1:]


def test_memory_limit_and_threads_are_applied(tmp_path):
    loader = DuckDBLoader(
        {"path": str(tmp_path / "w.duckdb"), "memory_limit": "300MB", "threads": 1}
    )
    try:
        limit, threads = loader.con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        ).fetchone()
    finally:
        loader.close()
    assert threads == 1 and limit.replace(" ", "").upper() in ("286.1MIB", "300.0MB", "300MB")


def test_checkpoint_threshold_defaults_to_64mb_and_a_setting_wins(tmp_path):
    """DuckDB's 16MB default checkpointed at every commit of a 25,000-row batch (config.py)."""
    got = []
    for extra in ({}, {"checkpoint_threshold": "1GB"}):
        loader = DuckDBLoader({"path": str(tmp_path / "w.duckdb"), **extra})
        try:
            row = loader.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
        finally:
            loader.close()
        got.append(row[0].replace(" ", "").upper())
    assert got[0] in ("61.0MIB", "64.0MB", "64MB") and got[1] in ("953.6MIB", "1.0GB", "1GB")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"threads": 0}, "config key threads: must be at least 1"),
        ({"checkpoint_threshold": 64}, "config key checkpoint_threshold: 64 is not a size"),
        ({"checkpoint_threshold": "lots"}, "config key checkpoint_threshold: DuckDB refused"),
        ({"threads": "two"}, "config key threads: 'two' is not a whole number"),
        ({"memory_limit": 512}, "config key memory_limit: 512 is not a size"),
        ({"memory_limit": "lots"}, "config key memory_limit: DuckDB refused 'lots'"),
    ],
)
def test_bad_memory_limit_or_threads_is_a_config_error(tmp_path, config, message):
    with pytest.raises(ConfigError) as err:
        DuckDBLoader({"path": str(tmp_path / "w.duckdb"), **config})
    assert str(err.value).startswith(message)


def test_batches_default_to_25000_rows_and_a_setting_wins():
    from tapwell.targets.duckdb.config import DuckDBConfig

    for given, rows in (({}, 25_000), ({"batch_size_rows": 500}, 500), ({"batch_rows": 7}, 7)):
        assert DuckDBConfig.parse(given).batch_size_rows == rows
