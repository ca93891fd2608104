"""target-duckdb `nested: tables`: a plain number written `-0` (which the JSON readers read as
the integer 0) lands -0.0 in the root table and in child tables, as the same record loaded
without nesting lands it, on the SQL split (nested_zero.signed_lines) and on the Python split
(nested_zero.signer); an integer column keeps 0, a string and a JSON document keep their text."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import lines, query, run_target, state
from tapwell.sdk.target import Batch, StreamSpec
from tapwell.targets.duckdb import children, nested_zero
from tapwell.targets.duckdb.loader import DuckDBLoader

BIN = Path(sys.executable).parent
NUMBER = {"type": ["null", "number"]}
PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "x": NUMBER,
    "n": {"type": ["null", "integer"]},
    "s": {"type": ["null", "string"]},
    "doc": {"type": ["null", "object"]},
    "items": {
        "type": ["null", "array"],
        "items": {"type": "object", "properties": {"q": {"type": "number"}, "k": NUMBER}},
    },
    "vals": {"type": ["null", "array"], "items": {"type": "number"}},
}
# The record's own text as a line writes it (blanks too), each with a `-0` somewhere.
RECORDS = [
    '{"id":1,"x":-0,"items":[{"q":-0},{"q":-0.0},{"q":1.50}],"vals":[-0,0,-0.0]}',
    '{"id":2,"x":0,"items":[{"q":0,"k":-0}],"vals":[0]}',
    '{"id":3,"x": -0 ,"n":-0,"s":"a,-0","doc":{"a":-0,"b":[-0]},"items":[{"q": -0 }]}',
    '{"id":4,"x":-0.0,"s":"x:-0}","items":[{"q":-0, "k":-0}]}',
    '{"id":5,"x":1.5,"n":0,"s":"-0","items":[]}',
]


def schema(stream: str, props: dict[str, Any], keys: list[str]) -> bytes:
    msg = {"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": props}}
    return lines({**msg, "key_properties": keys})


def record_line(stream: str, text: str) -> bytes:
    return b'{"type":"RECORD","stream":"%s","record":%s}\n' % (stream.encode(), text.encode())


def nested_input() -> bytes:
    data = schema("t", PROPS, ["id"])
    return data + b"".join(record_line("t", r) for r in RECORDS) + lines(state({"n": 1}))


def flat_input() -> bytes:
    """The same values without nesting: the root's own properties in `t`, each array element's
    number as a record of its own stream (its text cut from the record's)."""
    root = {k: v for k, v in PROPS.items() if k not in ("items", "vals")}
    item = {"id": {"type": "integer"}, "pos": {"type": "integer"}, "q": NUMBER, "k": NUMBER}
    value = {"id": {"type": "integer"}, "pos": {"type": "integer"}, "value": NUMBER}
    data = schema("t", root, ["id"]) + schema("items", item, ["id", "pos"])
    data += schema("vals", value, ["id", "pos"])
    for text in RECORDS:
        head, _, rest = text.partition(',"items":')
        if not rest:  # pragma: no cover - every record has items
            raise AssertionError(text)
        items, _, vals = rest.partition(',"vals":')
        rid = head.split(",", 1)[0].split(":")[1]
        data += record_line("t", head + "}")
        for pos, element in enumerate(_elements(items.rstrip("}"))):
            data += record_line("items", f'{{"id":{rid},"pos":{pos},{element.strip()[1:]}')
        for pos, number in enumerate(_elements(vals.rstrip("}")) if vals else []):
            data += record_line("vals", f'{{"id":{rid},"pos":{pos},"value":{number}}}')
    return data + lines(state({"n": 1}))


def _elements(array: str) -> list[str]:
    """A flat JSON array's element texts (objects without nested commas or plain numbers)."""
    inner = array.strip()[1:-1].strip()
    if not inner:
        return []
    if inner.startswith("{"):
        return [p if p.endswith("}") else p + "}" for p in inner.split("},")]
    return inner.split(",")


def load(tmp_path: Path, name: str, data: bytes, **config: Any) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    done = run_target(BIN, folder, data, **config)
    assert done.returncode == 0, done.stderr.decode()
    return folder / "w.duckdb"


def signs(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each float with its sign made visible (-0.0 == 0.0 in Python)."""
    return [
        tuple((v, math.copysign(1.0, v)) if type(v) is float else v for v in row) for row in rows
    ]


@pytest.mark.parametrize("raw_lines", [True, False])
def test_minus_zero_lands_as_without_nesting(tmp_path: Path, raw_lines: bool) -> None:
    nested = load(tmp_path, "nested", nested_input(), nested="tables", raw_lines=raw_lines)
    flat = load(tmp_path, "flat", flat_input(), raw_lines=raw_lines)
    root = "SELECT id, x, n, s, doc::VARCHAR FROM t ORDER BY id"
    assert signs(query(nested, root)) == signs(query(flat, root))
    items = "SELECT {k}, {p}, q, k FROM {t} ORDER BY ALL"
    got = query(nested, items.format(k="_sdc_source_key_id", p="_sdc_level_0_id", t="t__items"))
    assert signs(got) == signs(query(flat, items.format(k="id", p="pos", t="items")))
    vals = "SELECT {k}, {p}, value FROM {t} ORDER BY ALL"
    got = query(nested, vals.format(k="_sdc_source_key_id", p="_sdc_level_0_id", t="t__vals"))
    assert signs(got) == signs(query(flat, vals.format(k="id", p="pos", t="vals")))
    # the values themselves: -0.0 where a line writes -0 or -0.0, the rest as it was
    assert [str(r[0]) for r in query(nested, "SELECT x::VARCHAR FROM t ORDER BY id")] == [
        "-0.0", "0.0", "-0.0", "-0.0", "1.5",
    ]  # fmt: skip
    assert query(nested, "SELECT n, s, doc::VARCHAR FROM t WHERE id = 3") == [
        (0, "a,-0", '{"a":-0,"b":[-0]}')
    ]
    assert query(nested, "SELECT s FROM t WHERE id IN (4, 5) ORDER BY id") == [("x:-0}",), ("-0",)]
    q = "SELECT q::VARCHAR, k::VARCHAR FROM t__items ORDER BY _sdc_source_key_id, _sdc_level_0_id"
    assert query(nested, q) == [
        ("-0.0", None), ("-0.0", None), ("1.5", None), ("0.0", "-0.0"), ("-0.0", None),
        ("-0.0", "-0.0"),
    ]  # fmt: skip


def loader_with(tmp_path: Path) -> tuple[DuckDBLoader, StreamSpec]:
    loader = DuckDBLoader({"path": str(tmp_path / "in.duckdb"), "nested": "tables"})
    spec = StreamSpec("t", {"type": "object", "properties": PROPS}, ["id"], lambda r, n: None)
    loader.prepare(spec)
    return loader, spec


@pytest.mark.parametrize(
    ("records", "sql"),
    [
        (RECORDS[:2] + RECORDS[3:], True),  # -0 in DOUBLE columns: split in SQL
        (RECORDS[2:3], False),  # a document's -0, an integer's -0: the Python way
    ],
    ids=["doubles", "document-and-integer"],
)
def test_the_sql_split_takes_a_minus_zero_of_a_double(
    tmp_path: Path, records: list[str], sql: bool
) -> None:
    loader, spec = loader_with(tmp_path)
    try:
        plan = loader.nested_sql["t"]
        assert plan is not None and plan.doubles
        texts = [record_line("t", r) for r in records]
        batch = Batch(spec, records=list(texts), lines=list(range(2, 2 + len(texts))))
        loader.con.execute("BEGIN TRANSACTION")
        assert children._load_lines(loader, batch, loader.nested["t"], plan) is sql
        if sql:
            got = loader.con.execute("SELECT id, x::VARCHAR FROM t ORDER BY id").fetchall()
            assert got == [(1, "-0.0"), (2, "0.0"), (4, "-0.0"), (5, "1.5")]
        loader.con.execute("ROLLBACK")
    finally:
        loader.close()


@pytest.mark.parametrize(
    ("line", "written"),
    [
        (b'{"a":-0}', b'{"a":-0.0}'),
        (b'{"a": -0 ,"b":[-0,-0]}', b'{"a": -0.0 ,"b":[-0.0,-0.0]}'),
        (b'{"s":"a,-0","t":"x:-0}","u":"\\"-0,"}', None),  # in strings: kept
        (b'{"a":-0.5,"b":-05,"c":"2024-01-05","d":-0e1,"e":-10}', None),
        (b'{"s":"q\\\\","a":-0}', b'{"s":"q\\\\","a":-0.0}'),  # a string ending in a backslash
    ],
)
def test_signed_writes_only_bare_minus_zero_numbers(line: bytes, written: bytes | None) -> None:
    assert nested_zero.signed(line) == written
    if written is not None:
        assert nested_zero.bare_minus_zero(line)
    assert nested_zero.signed_lines([b'{"a":1}', line]) == (
        None if written is None else [b'{"a":1}', written]
    )
