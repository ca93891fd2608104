"""tap-csv's csv lane with a declared untyped property (`{}`): the RECORD line carries each value
as a JSON string, which target-duckdb stores in a JSON column; the csv file must carry that
string too (its JSON text), so the table is the RECORD path's row by row: 'hello' loads as the
string "hello" (it was refused), '{"a": 1}' as that string (it loaded as a document)."""

from __future__ import annotations

from helpers.csv_tap import tap_csv_into_duckdb as run
from helpers.duckdb_target import query

ROWS = [
    ("1", "hello"),
    ("2", '{"a": 1}'),
    ("3", ""),
    ("4", "\\N"),
    ("5", "[1, 2]"),
    ("6", "12"),
    ("7", "true"),
    ("8", 'say "hi", \\ \u00e9 \U0001f600'),
    ("9", "null"),
]


def test_an_untyped_property_loads_as_the_record_path_through_the_csv_lane(bin_path, tmp_path):
    path = tmp_path / "t.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("id,u\n")
        for key, value in ROWS:
            f.write(key + ',"' + value.replace('"', '""') + '"\n')
    props = {"id": {"type": "integer"}, "u": {}}
    stream = {
        "name": "t",
        "path": str(path),
        "key_properties": ["id"],
        "null_values": ["\\N"],
        "schema": {"type": "object", "properties": props},
    }
    spool = tmp_path / "spool"
    spool.mkdir()
    lane = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)}, "batch_size": 1000}
    out, batched = run(bin_path, tmp_path, "batch", {"streams": [stream], "batch_config": lane})
    assert b'"type":"BATCH"' in out and b'"type":"RECORD"' not in out
    _, recorded = run(bin_path, tmp_path, "records", {"streams": [stream]})
    sql = "SELECT id, u::VARCHAR, json_type(u) FROM t ORDER BY id"
    want = query(recorded, sql)
    assert want[0] == (1, '"hello"', "VARCHAR") and want[3] == (4, None, None)
    assert query(batched, sql) == want
