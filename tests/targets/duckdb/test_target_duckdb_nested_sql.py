"""target-duckdb `nested: tables` split in SQL from the RECORD lines (children_sql.py): the same
tables as the Python split (`raw_lines: false`) for the same input, row by row; the SQL split is
taken for clean documents and refuses to the Python path whatever SQL would read differently
(a key written twice inside a document, a null whose key is there, a scalar where an object is
declared), which then loads or names the problem as before."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, state
from tapwell.sdk.target import Batch, StreamSpec
from tapwell.targets.duckdb import children
from tapwell.targets.duckdb.loader import DuckDBLoader

NUM = {"type": ["number", "null"], "multipleOf": 0.01, "maximum": 10**9}
ITEM = {
    "type": "object",
    "properties": {
        "sku": {"type": "string"},  # not nullable: missing is fine, null is refused
        "qty": {"type": ["integer", "null"]},
        "price": NUM,
        "at": {"type": ["string", "null"], "format": "date-time"},
        "extra": {"type": ["object", "null"]},
        "discounts": {
            "type": ["array", "null"],
            "items": {
                "type": ["object", "null"],
                "properties": {"code": {"type": ["string", "null"]}, "amount": NUM},
            },
        },
    },
}
PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "note": {"type": ["string", "null"]},
    "placed_at": {"type": ["string", "null"], "format": "date-time"},
    "address": {
        "type": ["object", "null"],
        "properties": {
            "city": {"type": ["string", "null"]},
            "geo": {
                "type": ["object", "null"],
                "properties": {"lat": NUM, "lon": {"type": ["number", "null"]}},
            },
        },
    },
    "items": {"type": ["array", "null"], "items": ITEM},
    "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    "scores": {"type": ["array", "null"], "items": {"type": ["integer", "null"]}},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}
BIN = Path(sys.executable).parent
TABLES = ["orders", "orders__items", "orders__items__discounts", "orders__tags", "orders__scores"]


def doc(n: int, grow: int = 0) -> dict[str, Any]:
    """Order n, every value one the raw lane takes (no 16-digit run): items with missing
    properties, nulls, '' and emoji, escapes, exact decimals, date-times with offsets."""
    items = []
    for i in range(n % 4 + grow):
        item: dict[str, Any] = {"sku": f"S{n}-{i}", "qty": i - 1}
        if i != 1:
            item["price"] = Decimal(f"{n}.{i:02d}")
            item["at"] = f"2026-01-0{1 + i}T10:00:00.{n:06d}+02:00"
        if i == 0:
            item["discounts"] = [{"code": "", "amount": Decimal("0.10")}, None, {"code": "😀"}]
            item["extra"] = {"k": [1, None, "x"], "t": "a\tb"}
        items.append(item)
    out: dict[str, Any] = {
        "id": n,
        "note": ["", f'order "{n}" 😀\n', None][n % 3],
        "placed_at": f"2026-02-0{1 + n % 9}T23:59:59.{n:06d}-05:00",
        "items": items if n % 7 else None,
        "tags": [f"t{j}" for j in range(n % 3)] if n % 5 else [],
        "scores": [n, None, -n],
    }
    if n % 4:
        out["address"] = {"city": "Lyon" if n % 2 else None, "geo": {"lat": Decimal("45.75")}}
    if n % 6 == 0:
        out["address"] = None
    return out


def schema_msg(keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": "orders",
        "schema": {"type": "object", "properties": PROPS},
        "key_properties": ["id"] if keys is None else keys,
    }


def dump(db: Path, drop: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, without the columns `drop`."""
    out = {}
    for table in TABLES:
        cols = [r[0] for r in query(db, f'DESCRIBE "{table}"') if r[0] not in drop]
        listed = ", ".join(f'"{c}"' for c in cols)
        out[table] = query(db, f'SELECT {listed} FROM "{table}" ORDER BY ALL')
    return out


def both(tmp_path: Path, data: bytes, drop: tuple[str, ...] = (), **config: Any) -> Any:
    """The input loaded with the SQL split and with the Python split; both tables' rows."""
    got = []
    for raw_lines in (True, False):
        folder = tmp_path / f"raw_{raw_lines}"
        folder.mkdir()
        result = run_target(
            BIN,
            folder,
            data,
            nested="tables",
            raw_lines=raw_lines,
            **config,
        )
        assert result.returncode == 0, result.stderr.decode()
        got.append(dump(folder / "w.duckdb", drop))
    return got


def test_the_same_tables_as_the_python_split(tmp_path: Path) -> None:
    first = [doc(n) for n in range(1, 60)]
    changed = [doc(n, grow=2) for n in range(1, 10)] + [doc(n, grow=-3) for n in range(10, 20)]
    changed += [{"id": 21, "items": [], "tags": None}, {"id": 22, "items": [{}]}]
    changed += [{**doc(23), "_sdc_deleted_at": "2026-03-01T00:00:00Z"}]
    data = lines(schema_msg(), *[record("orders", d) for d in first], state({"n": 1}))
    data += lines(*[record("orders", d) for d in changed + first[:3]], state({"n": 2}))
    sql, python = both(tmp_path, data)
    assert sql == python
    assert len(sql["orders"]) == 59 and len(sql["orders__items__discounts"]) > 20
    assert (1, 0, 0, "", Decimal("0.10"), None) in sql["orders__items__discounts"]


def test_hard_delete_version_and_keyless_as_the_python_split(tmp_path: Path) -> None:
    docs = [doc(n) for n in range(1, 30)] + [{**doc(3), "_sdc_deleted_at": "2026-03-01T00:00:00Z"}]
    data = lines(schema_msg(), *[record("orders", d, version=5) for d in docs], state({"n": 1}))
    data += lines({"type": "ACTIVATE_VERSION", "stream": "orders", "version": 5})
    for name in ("hard", "keyless"):
        (tmp_path / name).mkdir()
    hard, python = both(tmp_path / "hard", data, hard_delete=True)
    assert hard == python
    assert not [r for r in hard["orders__items"] if r[0] == 3]
    keyless = lines(schema_msg([]), *[record("orders", d) for d in docs], state({"n": 1}))
    drop = ("_sdc_load_id", "_sdc_source_key__sdc_load_id")
    sql, python = both(tmp_path / "keyless", keyless, drop)
    assert sql == python and len(sql["orders"]) == 30


@pytest.mark.parametrize("method", ["overwrite", "append-only"])
def test_other_load_methods_as_the_python_split(tmp_path: Path, method: str) -> None:
    docs = [doc(n) for n in range(1, 25)]
    data = lines(schema_msg(), *[record("orders", d) for d in docs], state({"n": 1}))
    data += lines(*[record("orders", doc(n, grow=1)) for n in range(1, 8)], state({"n": 2}))
    sql, python = both(tmp_path, data + data, load_method=method)
    assert sql == python
    assert len(sql["orders"]) >= 24 and sql["orders__items__discounts"]


def loader_with(tmp_path: Path, keys: list[str] | None = None) -> tuple[DuckDBLoader, StreamSpec]:
    loader = DuckDBLoader({"path": str(tmp_path / "in.duckdb"), "nested": "tables"})
    msg = schema_msg(keys)
    spec = StreamSpec("orders", msg["schema"], msg["key_properties"], check=lambda r, n: None)
    loader.prepare(spec)
    return loader, spec


def split_in_sql(tmp_path: Path, texts: list[bytes]) -> bool:
    """Whether the SQL split took a batch of these RECORD lines (False: the Python way)."""
    loader, spec = loader_with(tmp_path)
    try:
        assert loader.row_encoder(spec, None).raw  # type: ignore[arg-type]
        batch = Batch(spec, records=list(texts), lines=list(range(2, 2 + len(texts))))
        loader.con.execute("BEGIN TRANSACTION")
        taken = children._load_lines(loader, batch, loader.nested["orders"], plan(loader))
        loader.con.execute("ROLLBACK")
        return taken
    finally:
        loader.close()


def plan(loader: DuckDBLoader) -> Any:
    found = loader.nested_sql["orders"]
    assert found is not None
    return found


def line(rec: dict[str, Any] | str) -> bytes:
    text = rec if isinstance(rec, str) else json.dumps(rec, default=str)
    return b'{"type":"RECORD","stream":"orders","record":' + text.encode() + b"}\n"


def test_clean_documents_are_split_in_sql(tmp_path: Path) -> None:
    texts = [line(json.loads(lines(record("orders", doc(n)))[44:-2])) for n in range(1, 40)]
    assert split_in_sql(tmp_path, texts)


# Documents SQL would read otherwise than Python, or whose check needs Python's words.
REFUSED = [
    ("sku twice in an item", '{"id":1,"items":[{"sku":"a","qty":1,"sku":"b"}]}'),
    ("city twice", '{"id":1,"address":{"city":"a","city":"b","geo":null}}'),
    ("id twice", '{"id":1,"note":null,"id":2}'),
    ("null sku, key there", '{"id":1,"items":[{"sku":null}]}'),
    ("scalar for an object", '{"id":1,"address":"Lyon"}'),
    ("array for an object", '{"id":1,"address":[1]}'),
    ("object for an array", '{"id":1,"items":{"sku":"a"}}'),
    ("scalar element", '{"id":1,"items":[7]}'),
    ("null element", '{"id":1,"items":[null]}'),
    ("null tag", '{"id":1,"tags":[null]}'),
    ("number tag", '{"id":1,"tags":[1]}'),
    ("integral float", '{"id":1,"items":[{"qty":2.0}]}'),
    ("bad date-time", '{"id":1,"items":[{"at":"soon"}]}'),
    ("cent fraction", '{"id":1,"address":{"geo":{"lat":1.001}}}'),
    ("record not an object", "[1]"),
]


@pytest.mark.parametrize("text", [t for _, t in REFUSED], ids=[n for n, _ in REFUSED])
def test_what_sql_cannot_read_alike_goes_the_python_way(tmp_path: Path, text: str) -> None:
    assert not split_in_sql(tmp_path, [line(doc(1)), line(text)])


def test_a_missing_non_null_property_is_split_in_sql(tmp_path: Path) -> None:
    assert split_in_sql(tmp_path, [line('{"id":1,"items":[{"qty":1},{}],"address":{}}')])


def test_a_key_twice_keeps_the_last_as_python_does(tmp_path: Path) -> None:
    data = lines(schema_msg()) + line('{"id":1,"items":[{"sku":"a","qty":1,"sku":"b"}]}')
    data += lines(state({"n": 1}))
    result = run_target(BIN, tmp_path, data, nested="tables")
    assert result.returncode == 0, result.stderr.decode()
    assert query(tmp_path / "w.duckdb", "SELECT sku, qty FROM orders__items") == [("b", 1)]


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ('{"id":2,"items":[{"sku":null}]}', "items[0].sku", "is null but the schema"),
        ('{"id":2,"address":"Lyon"}', "address", "'Lyon' is not object"),
        ('{"id":2,"tags":["a",1]}', "tags[1]", "1 is not string"),
    ],
)
def test_a_bad_value_is_named_as_before(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    data = lines(schema_msg(), record("orders", doc(1)), state({"n": 1})) + line(text)
    result = run_target(BIN, tmp_path, data, nested="tables")
    assert result.returncode == 65
    said = error_line(result)
    assert f"stdin line 4, stream 'orders', field '{field}': {problem}" in said, said
    assert result.stdout.decode().strip().splitlines() == ['{"n":1}']


def test_quoted_and_long_names_and_edge_values_as_the_python_split(tmp_path: Path) -> None:
    from helpers.nested_edges import LONG, LONG_PROP, QUOTED, SCHEMA

    good = {
        "id": 1,
        "items": [
            {"qty": 5, "wide": 12345, "price": 0.1, "note": "", "geo": {"lat": -0.1}},
            {"qty": -3, "at": "2024-01-02T03:04:05.123456+00:00", "geo": None, "discounts": []},
            {"note": 'a😀"b\\c\td\n', "discounts": [{"amount": Decimal("1.10")}, {}]},
        ],
        "nums": [0, 7, -7],
        "words": ["", "😀", 'q"uote'],
        "matrix": [[1, 2], [], [None]],
        QUOTED: {"x": 7},
        LONG: [{LONG_PROP: 5}],
    }
    msgs = [
        {"type": "SCHEMA", "stream": "edges", "schema": SCHEMA, "key_properties": ["id"]},
        record("edges", good),
        record("edges", {**good, "id": 2, QUOTED: None, "items": [{}]}),
        state({"n": 1}),
    ]
    got = []
    for raw_lines in (True, False):
        folder = tmp_path / f"raw_{raw_lines}"
        folder.mkdir()
        config = {"nested": "tables", "raw_lines": raw_lines}
        result = run_target(BIN, folder, lines(*msgs), **config)  # type: ignore[arg-type]
        assert result.returncode == 0, result.stderr.decode()
        db = folder / "w.duckdb"
        names = query(
            db, "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'edges%' ORDER BY 1"
        )
        got.append({t: query(db, f'SELECT * FROM "{t}" ORDER BY ALL') for (t,) in names})
    assert got[0] == got[1]
    assert len(got[0]) == 6 and got[0]["edges__words"]
