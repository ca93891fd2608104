"""A JSON document arrives as it left, on every lane of target-duckdb: stored minified, every number
spelled as the source spelled it (`1.50`, `1E5`, `-0`, `1E400`, 17+ digits), every string as JSON
defines it (escapes only where JSON needs them: `\\u00e9` is stored é, a control character as
orjson writes it). RECORD lines read in SQL, the same lines read in Python (`raw_lines: false`)
and tap-csv's csv lane store the same text, row by row; SQL keeps reading the usual documents
itself and hands only the respelled ones to Python."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import query
from tapwell.sdk.target import TargetLoop
from tapwell.targets.duckdb import raw
from tapwell.targets.duckdb.loader import DuckDBLoader

# (the document as the source writes it, as it is stored)
DOCS: list[tuple[str, str]] = [
    ('{"amount":1.50}', '{"amount":1.50}'),
    ('{"a":1E5,"b":1e5,"c":1e+5,"d":2.0E0,"e":-1.0E-5}', '{"a":1E5,"b":1e5,"c":1e+5,"d":2.0E0,"e":-1.0E-5}'),
    ('{"z":-0,"zz":-0.0,"zzz":0.00}', '{"z":-0,"zz":-0.0,"zzz":0.00}'),
    ('{"huge":1E400,"tiny":1.5e-400}', '{"huge":1E400,"tiny":1.5e-400}'),
    ('[1.50, 2.0, 3, -0, 1e2, 0.000001, 0.00001]', '[1.50,2.0,3,-0,1e2,0.000001,0.00001]'),
    ('{"n":{"m":[{"x":2.50,"y":[10.10,{"z":1E-7}]}]}}', '{"n":{"m":[{"x":2.50,"y":[10.10,{"z":1E-7}]}]}}'),
    ('{"digits17":12345678901234567,"f":0.1000000000000000055511151231257827}',
     '{"digits17":12345678901234567,"f":0.1000000000000000055511151231257827}'),
    ('{"big":18446744073709551616,"neg":-9223372036854775809}',
     '{"big":18446744073709551616,"neg":-9223372036854775809}'),
    ('{"s":"\\u00e9 \\/ \\u001f \\u000B \\n \\ud83d\\ude00"}', '{"s":"é / \\u001f \\u000b \\n 😀"}'),
    ('{"emoji":"😀 ñ","digits":"1.50","exp":"1E5","neg":"-0"}', '{"emoji":"😀 ñ","digits":"1.50","exp":"1E5","neg":"-0"}'),
    ('{"a": 1.5, "b": [1, "x"], "c": {"d": null, "e": true}}', '{"a":1.5,"b":[1,"x"],"c":{"d":null,"e":true}}'),
    ('{"t":"10:00:00.500000","u":1.0,"v":100000.0,"w":1e-7}', '{"t":"10:00:00.500000","u":1.0,"v":100000.0,"w":1e-7}'),
    ("[]", "[]"),
    ("{}", "{}"),
]  # fmt: skip
PROPS = {"id": {"type": "integer"}, "doc": {"type": ["null", "object", "array"]}}
SCHEMA = {"type": "SCHEMA", "stream": "t", "schema": {"type": "object", "properties": PROPS},
          "key_properties": ["id"]}  # fmt: skip


def record_lines(docs: list[str]) -> bytes:
    """RECORD lines as a tap that writes a document's own text writes them (tap-csv does)."""
    out = [json.dumps(SCHEMA)]
    out += [
        f'{{"type":"RECORD","stream":"t","record":{{"id":{i},"doc":{d}}}}}'
        for i, d in enumerate(docs)
    ]
    out.append('{"type":"STATE","value":{"done":1}}')
    return ("\n".join(out) + "\n").encode()


def load(tmp_path: Path, name: str, data: bytes, **config: Any) -> list[tuple[Any, ...]]:
    db = tmp_path / f"{name}.duckdb"
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))
    return query(db, "SELECT id, doc::VARCHAR FROM t ORDER BY id")


def expected() -> list[tuple[int, str]]:
    return [(i, stored) for i, (_, stored) in enumerate(DOCS)]


@pytest.mark.parametrize("config", [{}, {"batch_size_rows": 1}, {"raw_lines": False}],
                         ids=["sql", "sql-batch-of-one", "python"])  # fmt: skip
def test_documents_are_stored_as_the_source_spelled_them(tmp_path, config):
    data = record_lines([source for source, _ in DOCS])
    assert load(tmp_path, "t", data, **config) == expected()


def test_sql_reads_every_document_and_python_writes_only_the_respelled(tmp_path, monkeypatch):
    """Batches of one line, all read in SQL (none refused to Python): a document whose text in
    the line is DuckDB's own writing of it, or whose line holds no number DuckDB would spell
    otherwise (blanks, escapes: tap-csv passes a file's text on), is stored as DuckDB wrote it;
    only the lines whose numbers or control characters DuckDB wrote otherwise are read again in
    Python, for their documents alone. (A line with a three-digit exponent, 1E400, never comes
    to SQL: the exact parser reads it.)"""
    seen: list[bool] = []
    real = DuckDBLoader._load_lines

    def spy(self: DuckDBLoader, batch: Any, *args: Any) -> bool:
        took = real(self, batch, *args)
        seen.append(took)
        return took

    again: list[bytes] = []
    reread = raw.loads_spelled

    def count(line: bytes) -> Any:
        again.append(line)
        return reread(line)

    monkeypatch.setattr(DuckDBLoader, "_load_lines", spy)
    monkeypatch.setattr(raw, "loads_spelled", count)
    monkeypatch.setattr(raw, "decode", lambda *a: pytest.fail("SQL refused a good batch"))
    cases = [  # (document in the line, read again in Python, stored)
        ('{"a":1.5}', False, '{"a":1.5}'),
        ('{"a":1.50}', True, '{"a":1.50}'),
        ('[1,"x",{"k":null}]', False, '[1,"x",{"k":null}]'),
        ("[-0]", True, "[-0]"),
        ('{"s":"é 😀 \\n"}', False, '{"s":"é 😀 \\n"}'),
        ('{"s":"\\u00e9"}', False, '{"s":"é"}'),
        (
            '{"a": 1.5, "b": [1, "x"], "c": {"d": -12}}',
            False,
            '{"a":1.5,"b":[1,"x"],"c":{"d":-12}}',
        ),
        ('{"a": 1.50, "b": [1]}', True, '{"a":1.50,"b":[1]}'),
        ('{"a":1e5}', True, '{"a":1e5}'),
        ('{"a":0.1}', False, '{"a":0.1}'),
        ('{"s":"\\u001f"}', True, '{"s":"\\u001f"}'),
        ('{"t":"10:00:00.500000","d":"1.50"}', False, '{"t":"10:00:00.500000","d":"1.50"}'),
    ]
    rows = load(tmp_path, "t", record_lines([d for d, _, _ in cases]), batch_size_rows=1)
    assert seen == [True] * len(cases)
    # the batch checked ahead reads its lines on its own thread beside the load before it, so
    # the lines read again are compared as a multiset: each once, in no fixed order
    assert sorted(d for d, python, _ in cases if python) == sorted(
        line.split(b'"doc":', 1)[1][:-3].decode() for line in again
    )
    assert [r[1] for r in rows] == [stored for _, _, stored in cases]


def test_other_columns_keep_their_values_when_a_line_is_read_again(tmp_path):
    """A line read again for its document's spelling keeps every other value as before: a
    number column gets the same double, an integer stays an integer, a string its text."""
    props = {"id": {"type": "integer"}, "n": {"type": ["null", "integer"]},
             "x": {"type": ["null", "number"]}, "s": {"type": ["null", "string"]},
             "doc": {"type": ["null", "object"]}}  # fmt: skip
    schema = {**SCHEMA, "schema": {"type": "object", "properties": props}}
    lines = [json.dumps(schema)] + [
        f'{{"type":"RECORD","stream":"t","record":{{"id":{i},"n":-0,"x":{x},"s":"1.50",'
        f'"doc":{{"x":{x}}}}}}}'
        for i, x in enumerate(["2.50", "1E5", "0.1", "-0"])
    ]
    data = ("\n".join(lines) + "\n").encode()
    sql = "SELECT id, n, x, s, doc::VARCHAR FROM t ORDER BY id"
    for name, config in [("sql", {}), ("python", {"raw_lines": False})]:
        load(tmp_path, name, data, **config)
        assert query(tmp_path / f"{name}.duckdb", sql) == [
            (0, 0, 2.5, "1.50", '{"x":2.50}'),
            (1, 0, 100000.0, "1.50", '{"x":1E5}'),
            (2, 0, 0.1, "1.50", '{"x":0.1}'),
            (3, 0, 0.0, "1.50", '{"x":-0}'),
        ]


def test_the_csv_lane_and_record_lines_store_the_same_text(bin_path, tmp_path):
    """tap-csv's csv BATCH lane and its RECORD lines (read in SQL, and in Python) store each
    document as the file spelled it, minified."""
    path = tmp_path / "t.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "doc"])
        for i, (source, _) in enumerate(DOCS):
            w.writerow([i, source])
    stream = {"name": "t", "path": str(path), "key_properties": ["id"],
              "schema": {"type": "object", "properties": PROPS}}  # fmt: skip
    spool = tmp_path / "spool"
    spool.mkdir()
    lane = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)}}
    tables = {}
    for name, tap, target in [
        ("csv-lane", {"batch_config": lane}, {}),
        ("records-sql", {}, {}),
        ("records-python", {}, {"raw_lines": False}),
    ]:
        cfg = tmp_path / f"{name}.json"
        cfg.write_text(json.dumps({"streams": [stream], **tap}))
        catalog = tmp_path / f"{name}-catalog.json"
        catalog.write_bytes(
            subprocess.run(
                [str(bin_path / "tap-csv"), "--config", str(cfg), "--discover"],
                capture_output=True,
                check=True,
            ).stdout
        )
        out = subprocess.run(
            [str(bin_path / "tap-csv"), "--config", str(cfg), "--catalog", str(catalog)],
            capture_output=True,
            check=True,
        ).stdout
        db = tmp_path / f"{name}.duckdb"
        target_cfg = tmp_path / f"{name}-target.json"
        target_cfg.write_text(json.dumps({"path": str(db), **target}))
        done = subprocess.run(
            [str(bin_path / "target-duckdb"), "--config", str(target_cfg)],
            input=out,
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr.decode()
        tables[name] = query(db, "SELECT id, doc::VARCHAR FROM t ORDER BY id")
    assert tables["csv-lane"] == expected()
    assert tables["records-sql"] == expected()
    assert tables["records-python"] == expected()
