"""RECORD lines read, checked and typed by DuckDB (targets/duckdb/raw.py) load exactly what the
Python path loads, row by row and type by type; a batch SQL refuses is checked again in Python, so
a bad record is the usual one error line, with the same rows committed before it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from helpers.duckdb_target import lines, query, record, run_target, schema, state
from tapwell.sdk.target import TargetLoop
from tapwell.targets.duckdb import raw
from tapwell.targets.duckdb.loader import DuckDBLoader

PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "big": {"type": ["null", "integer"]},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10},
    "ratio": {"type": ["null", "number"]},
    "note": {"type": ["null", "string"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "day": {"type": ["null", "string"], "format": "date"},
    "paid": {"type": ["null", "boolean"]},
    "doc": {"type": ["null", "object"]},
    "tags": {"type": ["null", "array"]},
}
CONTROLS = "".join(chr(c) for c in range(0, 32)) + "\x7f"
NOTES = [
    "",
    "plain",
    "emoji \U0001f600 and ñ",
    CONTROLS,
    'quote " back\\slash /',
    "\u2028\u2029",
    None,
]
TIMES = [
    "2024-01-01T00:00:00Z",
    "2024-02-29T23:59:59.999999+05:30",
    "2024-03-01 10:00:00-08:00",
    "2024-03-01T10:00:00.5+00:00",
    "2024-03-01T10:00",
    "2024-03-01",
    "1999-12-31T23:59:59.000001-00:30",
    None,
]
DOCS: list[Any] = [
    {"a": 1, "b": [1.5, 0.1, -0.0, 100.0, True, None], "c": {"d": "é \U0001f600 \n"}},
    {},
    {"nested": {"deeper": {"x": -12.25, "empty": "", "list": []}}},
    None,
]


def record_of(i: int) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": i,
        "big": [-(2**49), 2**49, 0, -1, 123456789012345, None][i % 6],
        "amount": [1047.29, -0.01, 0, 12, 99999999.99, 0.1, None][i % 7],
        "ratio": [0.5, 1e-7, -2.5e10, 3, 0.3333333333333, None][i % 6],
        "note": NOTES[i % len(NOTES)],
        "at": TIMES[i % len(TIMES)],
        "day": ["2024-02-29", "0001-01-01", None][i % 3],
        "paid": [True, False, None][i % 3],
        "doc": DOCS[i % len(DOCS)],
        "tags": [["x", 1, 2.5], [], None][i % 3],
    }
    if i % 5 == 0:  # missing, not null
        del rec["note"], rec["doc"]
    return rec


def load(tmp_path: Any, name: str, data: bytes, **config: Any) -> Any:
    db = tmp_path / f"{name}.duckdb"
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))
    return db


def rows(db: Any, table: str = "t") -> list[tuple[Any, ...]]:
    return query(db, f"SELECT * FROM {table} ORDER BY id")


def stream(records: list[dict[str, Any]], keys: list[str] | None = None) -> bytes:
    return lines(
        schema("t", PROPS, keys),
        *[record("t", r) for r in records],
        state({"done": len(records)}),
    )


def test_raw_lines_load_every_type_as_the_python_path(tmp_path, monkeypatch):
    records = [record_of(i) for i in range(1, 301)] + [record_of(7) | {"note": "last wins"}]
    data = stream(records)
    python = load(tmp_path, "python", data, raw_lines=False)
    seen: list[int] = []
    real = DuckDBLoader._load_lines

    def spy(self: DuckDBLoader, batch: Any, *args: Any) -> bool:
        took = real(self, batch, *args)
        seen.append(took)
        return took

    monkeypatch.setattr(DuckDBLoader, "_load_lines", spy)
    monkeypatch.setattr(raw, "decode", lambda *a: pytest.fail("SQL refused a good batch"))
    sql = load(tmp_path, "sql", data, batch_size_rows=100)
    assert seen and all(seen)
    assert rows(sql) == rows(python)
    assert len(rows(sql)) == 300
    assert query(sql, "SELECT note FROM t WHERE id = 7") == [("last wins",)]
    assert query(sql, "SELECT count(*) FROM t WHERE note = ''")[0][0] > 0
    assert query(sql, 'SELECT typeof(amount), typeof("at"), typeof(doc) FROM t LIMIT 1') == [
        ("DECIMAL(12,2)", "TIMESTAMP WITH TIME ZONE", "JSON")
    ]


def test_append_only_and_versions_too(tmp_path):
    msgs = [schema("t", PROPS, [])]
    msgs += [record("t", record_of(i), version=17) for i in range(1, 60)]
    msgs += [state({"n": 1}), {"type": "ACTIVATE_VERSION", "stream": "t", "version": 17}]
    data = lines(*msgs)
    a = load(tmp_path, "python", data, raw_lines=False, load_method="append-only")
    b = load(tmp_path, "sql", data, load_method="append-only")
    assert rows(a) == rows(b)
    assert query(b, "SELECT DISTINCT _sdc_table_version FROM t") == [(17,)]


@pytest.mark.parametrize(
    "odd",
    [
        {"id": 9, "doc": {"x": 1e20}},  # a number two JSON writers spell apart
        {"id": 9, "big": 1.0},  # an integral float in an integer column
        {"id": 9, "ratio": 12345678901234567168},  # 16+ digits (a double holds it): exact parser
        {"id": 9, "at": "2024-01-01T10:00:00.1234567Z"},  # 7 fraction digits: Python says yes
    ],
)
def test_what_sql_cannot_vouch_for_loads_through_python_alike(tmp_path, odd):
    records = [record_of(i) for i in range(1, 9)] + [odd]
    data = stream(records)
    assert rows(load(tmp_path, "sql", data)) == rows(
        load(tmp_path, "python", data, raw_lines=False)
    )


@pytest.mark.parametrize(
    "body",
    [
        b'"id":9,"note":"first","note":"last"',
        b'"id":9,"note":null,"note":"last","paid":null',  # as many keys as values: nulls
        b'"id":9,"note":"first","zz":1,"note":"last"',
        b'"id":9,"note":"first","note":"mid","note":"last","ratio":null',
    ],
)
def test_a_property_written_twice_loads_as_the_python_path_loads_it(tmp_path, body):
    """JSON says names should be unique; a writer that repeats a property gets the Python
    parser's answer (the last) either way: DuckDB reads the first, so the line is decoded in
    Python. (A key twice inside a document is a known difference: see the README.)"""
    data = (
        lines(schema("t", PROPS), *[record("t", record_of(i)) for i in range(1, 9)])
        + b'{"type":"RECORD","stream":"t","record":{'
        + body
        + b"}}\n"
    )
    python = rows(load(tmp_path, "python", data, raw_lines=False))
    assert rows(load(tmp_path, "sql", data)) == python
    assert python[-1][4] == "last"


BAD = [
    (b'"id":2,"big":"12"', "field 'big': '12' is not integer"),
    (b'"id":2,"amount":1.005', "field 'amount': 1.005 is not a multiple of 0.01"),
    (b'"id":2,"at":"2024-13-01T00:00:00Z"', "field 'at': '2024-13-01T00:00:00Z' is not a valid"),
    (b'"id":2,"at":"2024-01-01T24:00:00Z"', "field 'at': '2024-01-01T24:00:00Z' is not a valid"),
    (b'"id":2,"day":"2024-02-30"', "field 'day': '2024-02-30' is not a valid"),
    (b'"id":2,"paid":1', "field 'paid': 1 is not boolean"),
    (b'"id":2,"note":5', "field 'note': 5 is not string"),
    (b'"id":2,"doc":[1]', "field 'doc': [1] is not object"),
    (b'"id":null', "field 'id': key property is missing or null"),
    (b'"id":2,"note":"unterminated', "not valid JSON"),
]


@pytest.mark.parametrize(("body", "problem"), BAD)
def test_a_bad_record_is_the_usual_line_with_the_same_commit(bin_path, tmp_path, body, problem):
    good = [record("t", record_of(i)) for i in range(3, 40)]
    data = (
        lines(schema("t", PROPS), record("t", record_of(1)), state({"n": 1}), *good)
        + b'{"type":"RECORD","stream":"t","record":{'
        + body
        + b"}}\n"
        + lines(*good, state({"n": 2}))
    )
    runs = {}
    for raw_lines in (True, False):
        db = tmp_path / f"{raw_lines}.duckdb"
        result = run_target(bin_path, tmp_path, data, db, raw_lines=raw_lines)
        err = result.stderr.decode()
        assert "Traceback" not in err, err
        runs[raw_lines] = (result.returncode, err.strip().splitlines()[-1], result.stdout, rows(db))
    assert runs[True] == runs[False]
    code, line, out, loaded = runs[True]
    assert code == 65
    assert "line 41" in line and problem in line, line
    assert out == b'{"n":1}\n'
    assert [r[0] for r in loaded] == [1]


def test_whole_blocks_of_lines_load_alike_and_name_a_bad_line(tmp_path, monkeypatch):
    """Past the first block (1 MB) the loop takes whole blocks of lines; a bad record inside one
    is still named by its own input line, with the same rows committed before it."""
    from tapwell.sdk import target_lanes
    from tapwell.singer.errors import ProtocolError

    blocks: list[int] = []
    real = target_lanes.RawLane.take_block

    def spy(self: Any, data: bytes, first: int, *count: int) -> int:
        blocks.append(first)
        return real(self, data, first, *count)

    monkeypatch.setattr(target_lanes.RawLane, "take_block", spy)
    records = [record_of(i) for i in range(1, 12001)]
    data = stream(records)
    assert len(data) > 2 * (1 << 20)
    python = load(tmp_path, "python", data, raw_lines=False)
    sql = load(tmp_path, "sql", data)
    assert blocks and rows(sql) == rows(python)
    lines_ = data.split(b"\n")
    bad_at = 9000  # an input line inside a later block
    lines_[bad_at - 1] = lines_[bad_at - 1].replace(b'"note":"', b'"note":5,"x":"', 1)
    bad = b"\n".join(lines_[:5000] + [b'{"type":"STATE","value":{"n":5000}}'] + lines_[5000:])
    outcome = {}
    for raw_lines in (True, False):
        db = tmp_path / f"bad-{raw_lines}.duckdb"
        cfg = {"path": str(db), "raw_lines": raw_lines}
        out, loader = io.BytesIO(), DuckDBLoader(cfg)
        with pytest.raises(ProtocolError) as exc:
            TargetLoop("target-duckdb", loader, cfg, out).run(io.BytesIO(bad))
        loader.close()
        outcome[raw_lines] = (str(exc.value), out.getvalue(), rows(db))
    assert outcome[True] == outcome[False]
    assert "line 9001" in outcome[True][0] and "field 'note'" in outcome[True][0]
    assert outcome[True][1] == b'{"n":5000}\n' and len(outcome[True][2]) == 4999
