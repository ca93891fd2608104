"""The strict read of RECORD lines (targets/duckdb/raw.py: json_transform_strict with the message's
every key, tried first): a batch written as our writers write it is read that way only, and loads
exactly what the Python path loads, row by row and type by type; a batch it refuses (a property
missing or written twice, another key) is read the lax way or in Python, with the same rows, and a
bad value is the usual one line (stream, input line, field) either way."""

from __future__ import annotations

import io
from decimal import Decimal
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
VALUES: dict[str, list[Any]] = {
    # (19 digits would send the line the exact parser's way: see test_target_duckdb_raw_lines)
    "big": [-(2**49), 2**49, 0, -1, 123456789012345, None],
    "amount": [
        Decimal("1047.29"),
        Decimal("-0.01"),
        0,
        Decimal("1234567890.12"),  # 12 digits, read from its text: no float on the way
        Decimal("0.1"),
        Decimal("9999999999.99"),
        Decimal("1.50"),
        None,
    ],
    "ratio": [0.5, 1e-7, -2.5e10, 3, 0.3333333333333, None],
    "note": ["", "plain", "emoji \U0001f600 and ñ", CONTROLS, 'quote " back\\slash /', None],
    "at": [
        "2024-01-01T00:00:00Z",
        "2024-02-29T23:59:59.999999+05:30",
        "2024-03-01 10:00:00-08:00",
        "2024-03-01T10:00:00.000001+00:00",
        "1999-12-31T23:59:59.000001-00:30",
        None,
    ],
    "day": ["2024-02-29", "0001-01-01", None],
    "paid": [True, False, None],
    "doc": [{"a": 1, "b": [1.5, -0.0, True, None], "c": {"d": "é \U0001f600 \n"}}, {}, None],
    "tags": [["x", 1, 2.5], [], None],
}


def full(i: int) -> dict[str, Any]:
    """Record i with every property present (null or not), as our writers write it."""
    return {"id": i} | {k: v[i % len(v)] for k, v in VALUES.items()}


def load(tmp_path: Any, name: str, data: bytes, **config: Any) -> Any:
    db = tmp_path / f"{name}.duckdb"
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))
    return db


def rows(db: Any) -> list[tuple[Any, ...]]:
    return query(db, "SELECT * FROM t ORDER BY id")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The strict flag of every SQL read of a batch, in order."""
    seen: list[bool] = []
    real = raw.create_rows

    def spy(plan: Any, version: int | None, *strict: bool) -> Any:
        seen.append(strict[0] if strict else True)
        return real(plan, version, *strict)

    monkeypatch.setattr(raw, "create_rows", spy)
    return seen


@pytest.mark.parametrize("method", ["upsert", "append-only"])
@pytest.mark.parametrize("version", [None, 1796543723707])
def test_our_lines_are_read_strictly_alike(tmp_path, reads, monkeypatch, method, version):
    records = [full(i) for i in range(1, 301)] + [full(7) | {"note": "last wins"}]
    data = lines(
        schema("t", PROPS),
        *[record("t", r, version) for r in records],
        state({"done": 1}),
    )
    python = load(tmp_path, "python", data, raw_lines=False, load_method=method)
    monkeypatch.setattr(raw, "decode", lambda *a: pytest.fail("SQL refused a good batch"))
    sql = load(tmp_path, "sql", data, batch_size_rows=100, load_method=method)
    assert reads and all(reads), reads  # every batch read strictly, none again
    assert rows(sql) == rows(python)
    assert len(rows(sql)) == (300 if method == "upsert" else 301)
    assert query(sql, "SELECT count(*) FROM t WHERE note = ''")[0][0] > 0
    assert query(sql, 'SELECT max(big), min(big), sum(amount), max("at") FROM t') == query(
        python, 'SELECT max(big), min(big), sum(amount), max("at") FROM t'
    )


ODD = [
    b'"id":9,"big":1',  # properties missing: the lax read takes them as null
    b'"id":9,"big":1,"note":"first","note":"last"',  # a property twice: Python keeps the last
    b'"id":9,"big":1,"zz":"not in the schema"',  # a key the schema does not declare
]


@pytest.mark.parametrize("body", ODD)
def test_a_batch_strict_refuses_loads_as_the_python_path(tmp_path, reads, body):
    data = (
        lines(schema("t", PROPS), *[record("t", full(i)) for i in range(1, 9)])
        + b'{"type":"RECORD","stream":"t","record":{'
        + body
        + b"}}\n"
        + lines(state({"n": 1}))
    )
    python = rows(load(tmp_path, "python", data, raw_lines=False))
    assert rows(load(tmp_path, "sql", data)) == python
    assert reads[:2] == [True, False]  # strict refused the batch, the lax read took it or not


def test_another_message_key_is_left_alone_as_python_does(tmp_path, reads):
    """A line with a message key our writers do not write, that still ends as theirs do (an
    object last): strict reads the keys it was given and leaves the others, as Python does."""
    extra = [
        lines(record("t", full(i)))[:-2] + b',"meta":{"source":"elsewhere"}}\n' for i in range(1, 9)
    ]
    data = lines(schema("t", PROPS)) + b"".join(extra) + lines(state({"n": 1}))
    assert rows(load(tmp_path, "sql", data)) == rows(
        load(tmp_path, "python", data, raw_lines=False)
    )
    assert reads == [True]


def _bad(name: str, value: bytes) -> bytes:
    """Record 2 as our writers write it, with `value` as the JSON text of property `name`."""
    good = lines(record("t", full(2)))
    start = good.index(b'"' + name.encode() + b'":') + len(name) + 3
    end = start
    depth = 0
    while True:  # the end of the value: a comma or brace at depth 0 outside a string
        c = good[end : end + 1]
        if c == b'"':
            end = good.index(b'"', end + 1)
            while good[end - 1 : end] == b"\\" and good[end - 2 : end] != b"\\\\":
                end = good.index(b'"', end + 1)
        elif c in (b"{", b"["):
            depth += 1
        elif c in (b"}", b"]"):
            if depth == 0:
                break
            depth -= 1
        elif c == b"," and depth == 0:
            break
        end += 1
    return good[:start] + value + good[end:]


BAD = [
    ("big", b'"12"', "field 'big': '12' is not integer"),
    ("big", b"1.5", "field 'big': 1.5 is not integer"),
    ("big", b"9223372036854775808", "field 'big': 9223372036854775808 is outside the range"),
    ("amount", b"1.005", "field 'amount': 1.005 is not a multiple of 0.01"),
    ("amount", b"12.345", "field 'amount': 12.345 is not a multiple of 0.01"),
    ("amount", b'"12.30"', "field 'amount': '12.30' is not number"),
    ("amount", b"12345678901.5", "field 'amount': 12345678901.5 has more than 10 digits"),
    ("at", b'"2024-01-01T24:00:00Z"', "field 'at': '2024-01-01T24:00:00Z' is not a valid"),
    ("at", b'"2024-1-1T10:00:00Z"', "field 'at': '2024-1-1T10:00:00Z' is not a valid"),
    ("at", b"20240101", "field 'at': 20240101 is not date-time string"),
    ("day", b'"2024-02-30"', "field 'day': '2024-02-30' is not a valid"),
    ("paid", b'"true"', "field 'paid': 'true' is not boolean"),
    ("paid", b"1", "field 'paid': 1 is not boolean"),
    ("note", b"5", "field 'note': 5 is not string"),
    ("doc", b'"{}"', "field 'doc': '{}' is not object"),
    ("id", b"null", "field 'id': key property is missing or null"),
]


@pytest.mark.parametrize(("name", "value", "problem"), BAD)
def test_a_bad_value_in_one_of_our_lines_is_the_usual_line(
    bin_path, tmp_path, name, value, problem
):
    good = [record("t", full(i)) for i in range(3, 40)]
    data = (
        lines(schema("t", PROPS), record("t", full(1)), state({"n": 1}), *good)
        + _bad(name, value)
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
    assert "line 41" in line and "stream 't'" in line and problem in line, line
    assert out == b'{"n":1}\n'
    assert [r[0] for r in loaded] == [1]


# Keywords the Python record check does not enforce (tapwell.singer.schema checks type, null,
# format, multipleOf, required and the key properties): SQL must not enforce them either, so
# both paths load the same rows.
UNCHECKED: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 100},
    "code": {"type": ["null", "string"], "maxLength": 2, "pattern": "^[A-Z]+$", "enum": ["AB"]},
    "qty": {"type": ["null", "integer"], "maximum": 5, "exclusiveMinimum": 0},
    "tags": {"type": ["null", "array"], "maxItems": 1, "items": {"type": "integer"}},
    "doc": {"type": ["null", "object"], "required": ["x"], "additionalProperties": False},
}


def test_keywords_the_python_check_leaves_alone_are_left_alone_in_sql(tmp_path, reads):
    recs = [
        {"id": i, "code": "lowercase, long", "qty": 50 + i, "tags": ["a", "b"], "doc": {"y": 1}}
        for i in range(1, 6)
    ]
    data = lines(schema("t", UNCHECKED), *[record("t", r) for r in recs], state({"n": 1}))
    python = rows(load(tmp_path, "python", data, raw_lines=False))
    assert rows(load(tmp_path, "sql", data)) == python
    assert len(python) == 5 and reads == [True]


@pytest.mark.parametrize("missing", [False, True])
def test_a_version_before_a_last_object_key_is_not_lost(tmp_path, reads, missing):
    """Another writer's line may hold a version and still end as ours do (an object key last):
    the loop did not see the version, so SQL must not load the line without it (main's lax read
    checked only that a version was a whole number, and loaded these rows with none). With every
    property present the line names "version", so the batch is read the lax way, which sends it
    to Python; with one missing the lax read is the one that refuses it."""
    rec = full(9)
    if missing:
        del rec["tags"]
    odd = lines(record("t", rec))[:-2] + b',"version":5,"meta":{"k":1}}\n'
    data = (
        lines(schema("t", PROPS), *[record("t", full(i)) for i in range(1, 9)])
        + odd
        + lines(state({"n": 1}))
    )
    python = rows(load(tmp_path, "python", data, raw_lines=False))
    sql = rows(load(tmp_path, "sql", data))
    assert sql == python
    assert python[-1][-1] == 5  # _sdc_table_version: the Python path saw the version
    assert reads and reads[0] is False
