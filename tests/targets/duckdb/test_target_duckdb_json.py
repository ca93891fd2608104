"""JSON columns hold any JSON value with every digit the tap sent (issues 11.10, 11.6):
`12.3456789012345678` inside a document kept every digit, and a scalar (a string, a number, a
boolean) is stored as that JSON value, not refused and not turned into something else."""

from __future__ import annotations

import json
from decimal import Decimal

from helpers.duckdb_target import error_line, query, run_target

DOCUMENTS = [
    (1, b'{"price":12.3456789012345678,"big":123456789012345678901234567890,"deep":[1e400]}'),
    (2, b'"just a string"'),
    (3, b"12.3456789012345678"),
    (4, b"true"),
    (5, b"false"),
    (6, b"[]"),
    (7, b'"\\u00e9 \\ud83d\\ude00 \\"quoted\\""'),
    (8, b"-0.000000000000000000001"),
    (9, b"null"),
]

SCHEMA = (
    b'{"type":"SCHEMA","stream":"docs","key_properties":["id"],"schema":{"type":"object",'
    b'"properties":{"id":{"type":"integer"},"doc":{},"obj":{"type":["null","object"]}}}}\n'
)


def messages() -> bytes:
    out = SCHEMA
    for i, doc in DOCUMENTS:
        out += (
            b'{"type":"RECORD","stream":"docs","record":{"id":%d,"doc":%s,"obj":{"n":12.3456789012345678}}}\n'
            % (
                i,
                doc,
            )
        )
    return out + b'{"type":"STATE","value":{"done":true}}\n'


def test_json_values_keep_every_digit_and_scalars_stay_scalars(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    for _ in range(2):  # a second run merges onto the same rows, changing nothing
        result = run_target(bin_path, tmp_path, messages(), db)
        assert result.returncode == 0, error_line(result)
        got = query(db, "SELECT id, doc, obj, json_type(doc) FROM docs ORDER BY id")
        assert len(got) == len(DOCUMENTS)
        for (i, doc), (gid, stored, obj, _kind) in zip(DOCUMENTS, got):
            assert gid == i
            if doc == b"null":
                assert stored is None  # JSON null in a nullable column is SQL NULL
                continue
            # the same JSON value, every digit of every number (an exponent may be respelled:
            # 1e400 is stored as 1E+400, the same number)
            assert json.loads(stored, parse_float=Decimal) == json.loads(
                doc, parse_float=Decimal
            ), (i, stored)
            assert obj == '{"n":12.3456789012345678}'
        kinds = {gid: kind for gid, _, _, kind in got}
        assert kinds[2] == "VARCHAR" and kinds[3] == "DOUBLE" and kinds[4] == "BOOLEAN"
        assert b"12.3456789012345678" in got[0][1].encode()
