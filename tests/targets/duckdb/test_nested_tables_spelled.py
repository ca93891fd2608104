"""`nested: tables` in target-duckdb stores a JSON document as it left, as the flat paths do
(test_target_duckdb_json_spelled.py): every number spelled as the source spelled it (`1.50`,
`1E5`, `1e-7`, `-0`, 17+ digits, `1E400`), strings with control characters as orjson writes
them (`\\u001f`, never DuckDB's `\\u001F`), emoji, '' apart from NULL. Documents sit in the root
table (an open object, one inside a flattened object, an array of documents kept whole) and in
a child table (an open object in an array's elements); each comes out
of the table as the source line spelled it, row by row, whether the lines were split in SQL
(children_sql.py) or in Python (children.py), in batches of many lines or of one."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import query
from tapwell.sdk.target import TargetLoop
from tapwell.targets.duckdb.loader import DuckDBLoader

# (the document as the source writes it, as it is stored: minified, escapes only where needed)
DOCS: list[tuple[str, str]] = [
    ('{"amount":1.50}', '{"amount":1.50}'),
    ('{"a":1E5,"b":1e5,"c":1e+5,"d":2.0E0,"e":-1.0E-5,"f":1e-7}',
     '{"a":1E5,"b":1e5,"c":1e+5,"d":2.0E0,"e":-1.0E-5,"f":1e-7}'),
    ('{"z":-0,"zz":-0.0,"zzz":0.00}', '{"z":-0,"zz":-0.0,"zzz":0.00}'),
    ('{"huge":1E400,"tiny":1.5e-400}', '{"huge":1E400,"tiny":1.5e-400}'),
    ('[1.50, 2.0, 3, -0, 1e2, 0.000001, 0.00001]', '[1.50,2.0,3,-0,1e2,0.000001,0.00001]'),
    ('{"n":{"m":[{"x":2.50,"y":[10.10,{"z":1E-7}]}]}}', '{"n":{"m":[{"x":2.50,"y":[10.10,{"z":1E-7}]}]}}'),
    ('{"digits17":12345678901234567,"f":0.1000000000000000055511151231257827}',
     '{"digits17":12345678901234567,"f":0.1000000000000000055511151231257827}'),
    ('{"s":"\\u00e9 \\/ \\u001f \\u001F \\u000B \\n \\ud83d\\ude00"}',
     '{"s":"é / \\u001f \\u001f \\u000b \\n 😀"}'),
    ('{"emoji":"😀 ñ","empty":"","null":null,"digits":"1.50"}',
     '{"emoji":"😀 ñ","empty":"","null":null,"digits":"1.50"}'),
    ('{"a": 1.5, "b": [1, "x"], "c": {"d": null, "e": true}}', '{"a":1.5,"b":[1,"x"],"c":{"d":null,"e":true}}'),
    ('{"u":1.0,"v":100000.0,"w":0.1}', '{"u":1.0,"v":100000.0,"w":0.1}'),
    ("[[1.50],[]]", "[[1.50],[]]"),
    ("[]", "[]"),
    ("{}", "{}"),
]  # fmt: skip
OPEN = {"type": ["null", "object", "array"]}
PROPS = {
    "id": {"type": "integer"},
    "amount": {"type": ["null", "number"]},
    "doc": OPEN,  # a root column
    "o": {"type": ["null", "object"], "properties": {"doc": OPEN}},  # flattened: o__doc
    "items": {  # a child table with a document column
        "type": ["null", "array"],
        "items": {"type": "object", "properties": {"k": {"type": "integer"}, "doc": OPEN}},
    },
    "grid": {"type": ["null", "array"], "items": OPEN},  # kept whole: [document]
}
SCHEMA = {"type": "SCHEMA", "stream": "t", "schema": {"type": "object", "properties": PROPS},
          "key_properties": ["id"]}  # fmt: skip
# Where each document is stored, with the SQL that reads it back by record id.
PLACES = {
    "doc": "SELECT id, doc::VARCHAR FROM t ORDER BY id",
    "o__doc": "SELECT id, o__doc::VARCHAR FROM t ORDER BY id",
    "items": "SELECT _sdc_source_key_id, doc::VARCHAR FROM t__items ORDER BY 1",
    "grid": "SELECT id, grid::VARCHAR FROM t ORDER BY id",
}


def record_lines(docs: list[str]) -> bytes:
    """RECORD lines as a tap that writes a document's own text writes them (tap-csv does), each
    document in every place, beside a number column spelled 12.50 (a number DuckDB writes
    otherwise, outside any document)."""
    out = [json.dumps(SCHEMA)]
    out += [
        f'{{"type":"RECORD","stream":"t","record":{{"id":{i},"amount":12.50,"doc":{d},'
        f'"o":{{"doc":{d}}},"items":[{{"k":1,"doc":{d}}}],"grid":[{d}]}}}}'
        for i, d in enumerate(docs)
    ]
    out.append('{"type":"STATE","value":{"done":1}}')
    return ("\n".join(out) + "\n").encode()


def load(tmp_path: Path, name: str, data: bytes, **config: Any) -> dict[str, list[Any]]:
    db = tmp_path / f"{name}.duckdb"
    cfg = {"path": str(db), "nested": "tables", **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))
    return {place: query(db, sql) for place, sql in PLACES.items()}


@pytest.mark.parametrize(
    "config",
    [{}, {"batch_size_rows": 1}, {"raw_lines": False}],
    ids=["sql", "sql-batch-of-one", "python"],
)
@pytest.mark.parametrize("place", list(PLACES))
def test_documents_in_tables_are_stored_as_the_source_spelled_them(tmp_path, config, place):
    data = record_lines([source for source, _ in DOCS])
    stored = load(tmp_path, "t", data, **config)[place]
    assert stored == [(i, _as(place, text)) for i, (_, text) in enumerate(DOCS)]


def _as(place: str, doc: str) -> str:
    return f"[{doc}]" if place == "grid" else doc


def test_usual_documents_stay_in_sql(tmp_path, monkeypatch):
    """A batch whose documents DuckDB writes as the lines spell them is split in SQL, with no
    Python JSON parse; the other numbers of the line (12.50) do not send it to Python."""
    from tapwell.targets.duckdb import raw

    monkeypatch.setattr(raw, "decode", lambda *a: pytest.fail("SQL refused a usual batch"))
    docs = ['{"a":1.5,"b":[1,"x"],"c":{"d":-12}}', '[1,"é 😀",null,""]', "{}"]
    stored = load(tmp_path, "t", record_lines(docs))
    for place in PLACES:
        assert stored[place] == [(i, _as(place, d)) for i, d in enumerate(docs)], place


def test_other_values_keep_their_values_when_documents_are_read_again(tmp_path):
    """A batch read again for its documents' spelling loads its other columns as before."""
    data = record_lines(['{"x":1.50}', '{"x":1E5}'])
    for name, config in [("sql", {}), ("python", {"raw_lines": False})]:
        load(tmp_path, name, data, **config)
        db = tmp_path / f"{name}.duckdb"
        assert query(db, "SELECT id, amount FROM t ORDER BY id") == [(0, 12.5), (1, 12.5)]
        assert query(db, "SELECT _sdc_source_key_id, k FROM t__items ORDER BY 1") == [
            (0, 1),
            (1, 1),
        ]


def jsonl_batch(tmp_path: Path, docs: list[str]) -> bytes:
    """The records of `record_lines` in a jsonl BATCH file (as the runner's fast lane hands a
    `nested: tables` target), each file line the record's object as the source spelled it."""
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    f = spool / "t-0.jsonl"
    f.write_text(
        "".join(
            f'{{"id":{i},"amount":12.50,"doc":{d},"o":{{"doc":{d}}},'
            f'"items":[{{"k":1,"doc":{d}}}],"grid":[{d}]}}\n'
            for i, d in enumerate(docs)
        ),
        encoding="utf-8",
    )
    batch = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": "jsonl", "compression": "none"},
        "manifest": [f"file://{f}"],
    }
    out = [json.dumps(SCHEMA), json.dumps(batch), '{"type":"STATE","value":{"done":1}}']
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize(
    "config", [{}, {"raw_lines": False}, {"nested": "json", "raw_lines": False}],
    ids=["sql", "python", "json-python"],
)  # fmt: skip
def test_documents_from_jsonl_batch_files_are_stored_as_the_source_spelled_them(tmp_path, config):
    """The jsonl fast lane: a document's numbers as the file's line spells them (1.50, 1E5, -0),
    row by row as from RECORD lines; the lines were read by the general way, which respelled
    them through float/Decimal (1.50 -> 1.5) when the stream's lines were not read in SQL."""
    docs = [source for source, _ in DOCS]
    places = PLACES if config.get("nested") != "json" else {"doc": PLACES["doc"]}
    for name, data, more in [
        ("lane", jsonl_batch(tmp_path, docs), {"batch_root": str(tmp_path / "spool")}),
        ("records", record_lines(docs), {}),
    ]:
        db = tmp_path / f"{name}.duckdb"
        cfg = {"path": str(db), "nested": "tables", **config, **more}
        TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))
        for place, sql in places.items():
            assert query(db, sql) == [(i, _as(place, text)) for i, (_, text) in enumerate(DOCS)], (
                name,
                place,
            )
