"""A JSON document column holds the document its record holds, as the source spelled it, even where
another place of the same line holds a key of the column's name followed by DuckDB's (or orjson's)
writing of it: `{"doc":{"a":1.50},"other":{"doc":{"a":1.5}}}` stores doc `{"a":1.50}`, not the
`{"a":1.5}` found inside `other`. The same key nested deeper, inside an array, as a string value, at
two depths, behind a quote in a key's name, a unicode key written raw or as `\\u00e9`; documents
that are scalars; a plain number column beside a document holding its key. RECORD lines read in
SQL (batches of one line and whole batches, with and without a version) and in Python, and tap-csv's
csv BATCH lane: every stored text equals the source's document (minified as our writers write it:
tapwell.singer.wire.loads_spelled, then dumps), row by row, and a second run changes nothing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers.duckdb_target import query
from tapwell.sdk.target import TargetLoop
from tapwell.singer.wire import dumps, loads_spelled
from tapwell.targets.duckdb import raw
from tapwell.targets.duckdb.loader import DuckDBLoader

DOC: dict[str, Any] = {"type": ["null", "object", "array"]}
PROPS = {"id": {"type": "integer"}, "doc": DOC, "other": DOC, 'x"doc': DOC, "dé": DOC}
# Each record as its line spells it (every property there: the strict read takes the batch).
RECORDS = [
    # the defect: doc's text as DuckDB writes it stands inside `other`
    '{"id":0,"doc":{"a":1.50},"other":{"doc":{"a":1.5}},"x\\"doc":null,"dé":null}',
    '{"id":1,"x\\"doc":null,"dé":null,"other":{"doc":{"a":1.5}},"doc":{"a":1.50}}',
    # deeper, inside an array
    '{"id":2,"doc":{"a":1.50},"other":{"x":{"y":[{"doc":{"a":1.5}}]}},"x\\"doc":null,"dé":null}',
    '{"id":3,"doc":[1E5,-0],"other":[{"doc":[100000.0,0]}],"x\\"doc":null,"dé":null}',
    # "doc" as a string value, and as one beside the key nested
    '{"id":4,"doc":{"a":1.50},"other":["doc",{"a":1.5}],"x\\"doc":null,"dé":null}',
    '{"id":5,"doc":{"k":"doc","a":2.0E0},"other":{"k":"doc","doc":{"k":"doc","a":2.0}},'
    '"x\\"doc":null,"dé":null}',
    # the same key twice at different depths
    '{"id":6,"doc":{"b":[1.50]},"other":{"p":{"doc":{"b":[1.5]}},"doc":{"b":[1.5]}},'
    '"x\\"doc":null,"dé":null}',
    # a key with a quote in its name, nested and at the top level (last, then first)
    '{"id":7,"doc":{"a":1.50},"other":{"x\\"doc":{"a":1.5}},"x\\"doc":null,"dé":null}',
    '{"id":8,"dé":null,"other":null,"doc":{"a":1.50},"x\\"doc":{"a":1.5}}',
    '{"id":9,"x\\"doc":{"a":1.50},"dé":null,"other":{"x\\"doc":{"a":1.5}},"doc":{"a":1.5}}',
    # unicode keys, raw or escaped at either place
    '{"id":10,"doc":null,"other":{"dé":{"a":1.5}},"x\\"doc":null,"dé":{"a":1.50}}',
    '{"id":11,"doc":null,"other":{"dé":{"a":1.5}},"x\\"doc":null,"d\\u00e9":{"a":1.50}}',
    '{"id":12,"doc":null,"other":{"d\\u00e9":{"a":1.5}},"x\\"doc":null,"dé":{"a":1.50}}',
    '{"id":13,"d\\u006fc":{"a":1.50},"other":{"doc":{"a":1.5}},"x\\"doc":null,"dé":null}',
    # blanks in the document (tap-csv passes a file's text on), DuckDB's text beside it
    '{"id":14,"doc":{ "a": 1.50 },"other":{"doc":{"a":1.5}},"x\\"doc":null,"dé":null}',
    # the other way round: DuckDB's spelling at the top, the source's inside
    '{"id":15,"doc":{"a":1.5},"other":{"doc":{"a":1.50}},"x\\"doc":null,"dé":null}',
    # escapes as the document's own text, é written both ways
    '{"id":16,"doc":{"s":"\\u00e9","t":"é","a":1.50},"other":{"doc":{"s":"é","t":"é","a":1.5}},'
    '"x\\"doc":null,"dé":null}',
]


def lines(records: list[str], stream: str = "t", props: dict[str, Any] = PROPS,
          version: int | None = None) -> bytes:  # fmt: skip
    schema = {"type": "SCHEMA", "stream": stream, "key_properties": ["id"],
              "schema": {"type": "object", "properties": props}}  # fmt: skip
    tail = "}" if version is None else f',"version":{version}}}'
    out = [json.dumps(schema)]
    out += [f'{{"type":"RECORD","stream":"{stream}","record":{r}{tail}' for r in records]
    out.append('{"type":"STATE","value":{"done":1}}')
    return ("\n".join(out) + "\n").encode()


def written(records: list[str], props: list[str]) -> list[tuple[Any, ...]]:
    """Each record's documents as the source spelled them, minified as our writers write them."""
    out = []
    for text in records:
        rec = loads_spelled(text)
        out.append(
            (rec["id"], *(None if rec.get(p) is None else dumps(rec[p]).decode() for p in props))
        )
    return out


def select(props: list[str], table: str = "t") -> str:
    docs = ", ".join(f'"{p.replace(chr(34), chr(34) * 2)}"::VARCHAR' for p in props)
    return f"SELECT id, {docs} FROM {table} ORDER BY id"


def load(db: Path, data: bytes, **config: Any) -> None:
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))


CONFIGS = [{}, {"batch_size_rows": 1}, {"raw_lines": False}]
IDS = ["sql", "sql-batch-of-one", "python"]
DOCS = ["doc", "other", 'x"doc', "dé"]


@pytest.mark.parametrize("version", [None, 3])
@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_a_document_is_its_own_record_s_not_a_nested_one_of_its_name(tmp_path, config, version):
    db = tmp_path / "w.duckdb"
    want = written(RECORDS, DOCS)
    assert want[0] == (0, '{"a":1.50}', '{"doc":{"a":1.5}}', None, None)
    for _ in range(2):  # a re-run changes nothing
        load(db, lines(RECORDS, version=version), **config)
        assert query(db, select(DOCS)) == want


def test_sql_reads_the_unambiguous_lines_itself(tmp_path, monkeypatch):
    """Whole batches stay in SQL (no refusal to the Python decode) and only the lines whose
    documents DuckDB spelled otherwise are read again: one batch of lines that each hold a
    document's key once reads none again; the same documents beside a nested key of the
    column's name read those lines again, and store the same text."""
    again: list[bytes] = []
    reread = raw.loads_spelled

    def count(line: bytes) -> Any:
        again.append(line)
        return reread(line)

    monkeypatch.setattr(raw, "loads_spelled", count)
    monkeypatch.setattr(raw, "decode", lambda *a: pytest.fail("SQL refused a good batch"))
    props = {"id": {"type": "integer"}, "doc": DOC, "n": {"type": ["null", "number"]}}
    alone = [f'{{"id":{i},"n":2.50,"doc":{{"a":1.5,"b":[{i}]}}}}' for i in range(50)]
    load(tmp_path / "a.duckdb", lines(alone, props=props))
    assert again == []
    assert query(tmp_path / "a.duckdb", select(["doc"])) == written(alone, ["doc"])
    nested = [
        f'{{"id":{i},"n":2.50,"doc":{{"a":1.50,"x":{{"doc":{{"a":1.5}}}}}}}}' for i in range(50, 53)
    ]
    load(tmp_path / "b.duckdb", lines(alone + nested, props=props))
    assert len(again) == 3
    assert query(tmp_path / "b.duckdb", select(["doc"])) == written(alone + nested, ["doc"])


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_a_key_ending_in_the_document_s_name_is_not_its_place(tmp_path, config):
    """Each line holds `"doc":` once, and `doc":` twice (the key "mydoc" ends in it, holding
    DuckDB's writing of doc's document): SQL looks for `doc":` and the document's text (as_written
    with `alone`) only where the batch holds `doc":` once a line, so doc keeps `1.50`."""
    props = {"id": {"type": "integer"}, "doc": DOC, "mydoc": DOC}
    records = [f'{{"id":{i},"doc":{{"a":1.50}},"mydoc":{{"a":1.5}}}}' for i in range(0, 40, 2)]
    records += [f'{{"id":{i},"mydoc":{{"a":1.5}},"doc":{{"a":1.50}}}}' for i in range(1, 40, 2)]
    db = tmp_path / "w.duckdb"
    load(db, lines(records, props=props), **config)
    assert query(db, select(["doc", "mydoc"])) == sorted(written(records, ["doc", "mydoc"]))
    assert query(db, select(["doc"]))[0] == (0, '{"a":1.50}')
    data = b"".join(lines(records, props=props).splitlines(keepends=True)[1:-1])
    plan = raw.Plan("", [raw.Column(SimpleNamespace(prop="doc"), "", "", "", key=b'"doc"')], [])  # type: ignore[arg-type]
    assert raw.alone([data], len(records), plan) == frozenset()
    assert raw.alone([data.replace(b'"mydoc"', b'"other"')], len(records), plan) == {0}


# Documents that are scalars (an open schema: a JSON column of any kind), each beside a document
# holding the column's key with another spelling of the same value.
SCALARS = ['"doc"', "1.50", "true", "null", "[]", "{}", "-0", "1E5", '"x\\"any\\":1.5"', "[1.50]"]
ANY = {"id": {"type": "integer"}, "any": {}, "other": {}}


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_scalar_documents_are_stored_as_written(tmp_path, config):
    records = [
        f'{{"id":{i},"any":{s},"other":{{"any":{json.dumps(json.loads(s))}}}}}'
        for i, s in enumerate(SCALARS)
    ]
    db = tmp_path / "w.duckdb"
    want = written(records, ["any"])
    assert [w[1] for w in want] == [None if s == "null" else s for s in SCALARS]
    for _ in range(2):
        load(db, lines(records, props=ANY), **config)
        assert query(db, select(["any"])) == want


def test_a_plain_number_column_made_text_keeps_its_spelling_beside_a_nested_key(tmp_path):
    """A plain number (no multipleOf) whose column is text keeps `1.50` when a document of the
    same record holds `"x":1.5`, on either path. (The column is made text by a load of its own:
    records read while that batch loads hold the wire's text, plainnumber.respeller.)"""
    props = {"id": {"type": "integer"}, "x": {"type": ["null", "number"]}, "doc": DOC}
    records = [
        '{"id":0,"x":123456789012345678901234567890.123456789012345678901234567890,"doc":null}',
        '{"id":1,"x":1.50,"doc":{"x":1.5}}',
        '{"id":2,"doc":{"x":1E5},"x":1E5}',
        '{"id":3,"doc":{"y":[{"x":100000.0}]},"x":1E5}',
    ]
    # the source's digits, positional (`1E5` as 100000: types.decimal_text)
    texts = [loads_spelled(records[0])["x"].text, "1.50", "100000", "100000"]
    for name, config in [("sql", {}), ("python", {"raw_lines": False})]:
        db = tmp_path / f"{name}.duckdb"
        load(db, lines(records[:1], props=props), **config)
        for _ in range(2):
            load(db, lines(records, props=props), **config)
            assert query(db, "SELECT x FROM t ORDER BY id") == [(t,) for t in texts]


def test_the_csv_lane_and_record_lines_store_the_same_text(bin_path, tmp_path):
    """tap-csv's csv BATCH lane and its RECORD lines (read in SQL, and in Python) store each
    document as the file spelled it, minified, where a nested key of the column's name holds
    another spelling."""
    pairs = [(r["doc"], r["other"]) for r in map(loads_spelled, RECORDS[:10])]
    rows = [(i, dumps(d).decode() if d is not None else "", dumps(o).decode() if o is not None else "")
            for i, (d, o) in enumerate(pairs)]  # fmt: skip
    rows.append((10, '{ "a": 1.50 }', '{"doc":{"a":1.5}}'))
    path = tmp_path / "t.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "doc", "other"])
        w.writerows(rows)
    props = {"id": {"type": "integer"}, "doc": DOC, "other": DOC}
    stream = {"name": "t", "path": str(path), "key_properties": ["id"],
              "schema": {"type": "object", "properties": props}}  # fmt: skip
    want = [
        (i, dumps(loads_spelled(d)).decode() if d else None, dumps(loads_spelled(o)).decode() if o else None)
        for i, d, o in rows
    ]  # fmt: skip
    assert want[0] == (0, '{"a":1.50}', '{"doc":{"a":1.5}}')
    spool = tmp_path / "spool"
    spool.mkdir()
    lane = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)}}
    for name, tap, target in [
        ("csv-lane", {"batch_config": lane}, {}),
        ("records-sql", {}, {}),
        ("records-python", {}, {"raw_lines": False}),
    ]:
        cfg = tmp_path / f"{name}.json"
        cfg.write_text(json.dumps({"streams": [stream], **tap}))
        catalog = tmp_path / f"{name}-catalog.json"
        tap_csv = str(bin_path / "tap-csv")
        catalog.write_bytes(
            subprocess.run(
                [tap_csv, "--config", str(cfg), "--discover"], capture_output=True, check=True
            ).stdout  # fmt: skip
        )
        db = tmp_path / f"{name}.duckdb"
        target_cfg = tmp_path / f"{name}-target.json"
        target_cfg.write_text(json.dumps({"path": str(db), **target}))
        for _ in range(2):  # the csv lane's files are deleted once loaded: the tap runs again
            out = subprocess.run([tap_csv, "--config", str(cfg), "--catalog", str(catalog)],
                                 capture_output=True, check=True).stdout  # fmt: skip
            done = subprocess.run(
                [str(bin_path / "target-duckdb"), "--config", str(target_cfg)],
                input=out,
                capture_output=True,
            )
            assert done.returncode == 0, done.stderr.decode()
            assert query(db, select(["doc", "other"])) == want, name


def test_a_key_spelled_with_an_escape_is_not_counted_as_absent(tmp_path):
    """A batch whose lines hold the key `"doc"` once each in all (one line's own key written
    `"d\\u006fc"`, its only `"doc"` inside another document): the count alone would take that
    one for the record's property; the escape that may spell the key sends the batch's lines to
    the look per line, which reads that line again."""
    props = {"id": {"type": "integer"}, "doc": DOC, "other": DOC}
    records = [
        '{"id":0,"d\\u006fc":{"a":1.50},"other":{"doc":{"a":1.5}}}',
        '{"id":1,"doc":{"a":2.50},"other":null}',
    ]
    db = tmp_path / "w.duckdb"
    load(db, lines(records, props=props))
    assert query(db, select(["doc"])) == [(0, '{"a":1.50}'), (1, '{"a":2.50}')]
    joined = b"".join(lines(records, props=props).splitlines(keepends=True)[1:3])
    staged = SimpleNamespace(prop="doc")
    plan = raw.Plan("", [raw.Column(staged, "", "", "", key=b'"doc"')], [])  # type: ignore[arg-type]
    assert joined.count(b'"doc"') == 2
    assert raw.alone([joined], 2, plan) == frozenset()
    unescaped = joined.replace(b"\\u006f", b"o").replace(b'{"doc"', b'{"x"')
    assert raw.alone([unescaped], 2, plan) == {0}


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_nested_tables_keep_each_document_of_a_shared_key(tmp_path, config):
    """`nested: tables`: a child table's document column, its key held by each element and by a
    root column: each element's document as written (`1.50` beside another element's `1.5`)."""
    item = {"type": "object", "properties": {"k": {"type": "integer"}, "doc": DOC}}
    props = {
        "id": {"type": "integer"},
        "doc": DOC,
        "items": {"type": ["null", "array"], "items": item},
    }
    records = [
        '{"id":0,"doc":{"a":1.5},"items":[{"k":1,"doc":{"a":1.50}},{"k":2,"doc":{"a":1.5}}]}',
        '{"id":1,"doc":{"a":1.50},"items":[{"k":1,"doc":{"a":1.5}},{"k":2,"doc":{"a":1.5}}]}',
        '{"id":2,"doc":[1E5],"items":[{"k":1,"doc":[1E5]},{"k":2,"doc":[100000.0]}]}',
    ]
    db = tmp_path / "w.duckdb"
    for _ in range(2):
        load(db, lines(records, props=props), nested="tables", **config)
        assert query(db, select(["doc"])) == written(records, ["doc"])
        got = query(db, "SELECT _sdc_source_key_id, k, doc::VARCHAR FROM t__items ORDER BY 1, 2")
        want = [
            (rec["id"], it["k"], dumps(it["doc"]).decode())
            for rec in map(loads_spelled, records)
            for it in rec["items"]
        ]
        assert got == want
