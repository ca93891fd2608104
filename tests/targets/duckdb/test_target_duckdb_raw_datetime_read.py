"""A date-time's or date's property read by DuckDB's json_transform as VARCHAR (raw.column's
`typed` read): the string's value, its escapes undone, checked by the shape and cast. Row by
row as the Python path loads it, and what the Python check refuses is refused with its line:
each case here fails if DuckDB's VARCHAR read of a JSON value changed (a number, boolean,
object or array read as text the shape takes, an escape left in place or undone otherwise)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from helpers.duckdb_target import lines, query, record, schema, state
from tapwell.sdk.target import TargetLoop
from tapwell.singer.errors import ProtocolError
from tapwell.targets.duckdb import raw
from tapwell.targets.duckdb.loader import DuckDBLoader

PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "day": {"type": ["null", "string"], "format": "date"},
    "note": {"type": ["null", "string"]},
}
HEAD = b'{"type":"RECORD","stream":"t","record":{'


def good(i: int, note: str = "plain") -> bytes:
    return lines(
        record("t", {"id": i, "at": "2024-03-01T10:00:00+00:00", "day": "2024-02-29", "note": note})
    )


def load(tmp_path: Any, name: str, data: bytes, **config: Any) -> Any:
    db = tmp_path / f"{name}.duckdb"
    cfg = {"path": str(db), **config}
    loader = DuckDBLoader(cfg)
    try:
        TargetLoop("target-duckdb", loader, cfg, io.BytesIO()).run(io.BytesIO(data))
    finally:
        loader.close()
    return db


def rows(db: Any) -> list[tuple[Any, ...]]:
    return query(db, 'SELECT id, "at", "day", note FROM t ORDER BY id')


# Each spelled with escapes JSON allows: the value is the unescaped text, as Python reads it.
ESCAPED = [
    rb'"at":"2024\u002d01\u002d01T00:00:00Z"',
    rb'"at":"2024-01-01\u005410:00:00.123456\u002b05:30"',
    rb'"day":"\u0032024-02-29"',
]


@pytest.mark.parametrize("lax", [False, True], ids=["strict", "lax"])
def test_escaped_date_times_load_in_sql_as_the_python_path(tmp_path, monkeypatch, lax):
    """Escaped date-times and dates stay in SQL (they went to Python before: the JSON text kept
    the backslash) and load the instant Python loads. `lax`: a line naming "version" makes the
    batch's read json_transform (raw.strict_first), which reads the same structure."""
    body = [HEAD + b'"id":%d,' % (10 + k) + spelled + b"}}\n" for k, spelled in enumerate(ESCAPED)]
    data = (
        lines(schema("t", PROPS))
        + good(1, "version" if lax else "plain")
        + b"".join(body)
        + lines(state({"n": 1}))
    )
    python = load(tmp_path, "python", data, raw_lines=False)
    took: list[bool] = []
    real = DuckDBLoader._load_lines

    def spy(self: DuckDBLoader, batch: Any, *args: Any) -> bool:
        took.append(real(self, batch, *args))
        return took[-1]

    monkeypatch.setattr(DuckDBLoader, "_load_lines", spy)
    monkeypatch.setattr(raw, "decode", lambda *a: pytest.fail("SQL refused a good batch"))
    sql = load(tmp_path, "sql", data)
    assert took == [True]
    assert rows(sql) == rows(python)
    assert query(
        sql, 'SELECT id, strftime("at", \'%H:%M:%S.%f\'), "day"::VARCHAR FROM t ORDER BY id'
    )[1:] == [
        (10, "00:00:00.000000", None),
        (11, "04:30:00.123456", None),
        (12, None, "2024-02-29"),
    ]


# Values DuckDB's VARCHAR read or its timestamp/date cast would take (a number, a boolean, an
# object or an array as their JSON text; DuckDB's own spellings) and the Python check refuses.
REFUSED = [
    b'"at":20240101',
    b'"at":true',
    b'"at":{"at":"2024-01-01T00:00:00Z"}',
    b'"at":["2024-01-01T00:00:00Z"]',
    b'"day":20240229',
    b'"day":["2024-02-29"]',
    b'"at":"epoch"',
    b'"at":"infinity"',
    b'"at":" 2024-01-01T00:00:00Z"',
    b'"at":"2024-1-1"',
    b'"at":"2024-01-01T00:00:00 UTC"',
    b'"at":"0000-01-01T00:00:00Z"',
    b'"day":"2024-02-29T00:00:00"',
    b'"day":"0000-01-01"',
    rb'"at":"2024-01-01 10:00:00\/"',
]


def outcome(tmp_path: Any, body: bytes) -> dict[bool, tuple[str, bytes, list[Any]]]:
    """(the error, the STATE lines out, the rows) of a stream holding `body` on line 5, loaded
    with and without raw lines."""
    data = (
        lines(schema("t", PROPS))
        + good(1)
        + lines(state({"n": 1}))
        + good(2)
        + HEAD
        + b'"id":3,'
        + body
        + b"}}\n"
        + good(4)
        + lines(state({"n": 2}))
    )
    found = {}
    for raw_lines in (True, False):
        db = tmp_path / f"{raw_lines}.duckdb"
        cfg = {"path": str(db), "raw_lines": raw_lines}
        out, loader = io.BytesIO(), DuckDBLoader(cfg)
        try:
            TargetLoop("target-duckdb", loader, cfg, out).run(io.BytesIO(data))
            error = ""
        except Exception as exc:  # the error each path ends with, compared as text
            error = f"{type(exc).__name__}: {exc}"
        finally:
            loader.close()
        found[raw_lines] = (error, out.getvalue(), rows(db))
    return found


@pytest.mark.parametrize("body", REFUSED, ids=[b.decode() for b in REFUSED])
def test_what_the_python_check_refuses_is_refused_with_its_line(tmp_path, body):
    found = outcome(tmp_path, body)
    assert found[True] == found[False]
    error, out, loaded = found[True]
    assert error.startswith(ProtocolError.__name__) and "line 5" in error, error
    assert out == b'{"n":1}\n' and [r[0] for r in loaded] == [1]


# The shape refuses what Python may read (a dot with no digits, a NUL at the end): the Python
# path decides, as it does without raw lines.
PYTHON_DECIDES = [b'"at":"2024-01-01T00:00:00.Z"', rb'"at":"2024-01-01T00:00:00\u0000"']


@pytest.mark.parametrize("body", PYTHON_DECIDES, ids=[b.decode() for b in PYTHON_DECIDES])
def test_what_the_shape_refuses_goes_to_python(tmp_path, body):
    found = outcome(tmp_path, body)
    assert found[True] == found[False]
