"""target-postgres: a plain `number` (no multipleOf: an unconstrained numeric column) holds what
PostgreSQL makes of the source's text, on RECORD lines as on the csv lane. A stream with no
multipleOf is read with floats, and a float's text lost the source's scale: `1.50` was stored
1.5 and `1E5` 100000.0 from RECORD lines, where the csv lane (and a stream with a multipleOf
column, read exactly) stored 1.50 and 100000 (audit 2026-12-07: a singer-sdk tap's Decimal
prices, tap-csv through `tapwell run` with the fast lane on and off)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import query, run_target, schema, state

pytestmark = pytest.mark.services

# (the number's text, the document beside it, holding the same key with the float's spelling)
TEXTS = ["1.50", "1E5", "-0", "12.50", "1e-7", "0.000001", "2.0", "1.5", "100", "-2.50E+3"]
PROPS = {
    "id": {"type": "integer"},
    "amount": {"type": ["null", "number"]},
    "doc": {"type": ["null", "object"]},
}


def _lines(stream: str, blank: str = "") -> list[str]:
    return [
        f'{{"type":"RECORD","stream":"{stream}","record":{{"id":{i},'
        f'"amount":{blank}{t},"doc":{{"amount":1.5}}}}}}'
        for i, t in enumerate(TEXTS)
    ]


def _own(pg_db: dict[str, Any]) -> list[Any]:
    return [query(pg_db, "SELECT %s::numeric::text", (t,))[0][0] for t in TEXTS]


@pytest.mark.parametrize("blank", ["", " "])
def test_record_lines_keep_a_plain_numbers_text(
    pg_db: dict[str, Any], tmp_path: Path, blank: str
) -> None:
    messages: list[Any] = [schema("t", PROPS, ["id"]), *_lines("t", blank), state({"p": 1})]
    for _ in range(2):  # a second load (merged on the key) changes nothing
        done = run_target(pg_db, messages, tmp_path)
        assert done.returncode == 0, done.stderr
        stored = [r[0] for r in query(pg_db, "SELECT amount::text FROM t ORDER BY id")]
        assert stored == _own(pg_db)
    assert stored[:2] == ["1.50", "100000"]
    docs = query(pg_db, "SELECT DISTINCT doc::text FROM t")
    assert docs == [('{"amount": 1.5}',)]


def test_the_csv_lane_and_record_lines_hold_the_same_numbers(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    f = tmp_path / "t.csv"
    f.write_text(
        "id,amount,doc\n" + "".join(f'{i},{t},"{{""amount"":1.5}}"\n' for i, t in enumerate(TEXTS)),
        encoding="utf-8",
    )
    encoding = {"format": "csv", "compression": "none"}
    batch = {"type": "BATCH", "stream": "c", "encoding": encoding, "manifest": [f.as_uri()]}
    messages: list[Any] = [
        schema("c", PROPS, ["id"]),
        json.dumps(batch),
        schema("r", PROPS, ["id"]),
        *_lines("r"),
        state({"p": 1}),
    ]
    done = run_target({**pg_db, "batch_keep_files": True}, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    via_csv = query(pg_db, "SELECT id, amount::text, doc::text FROM c ORDER BY id")
    via_records = query(pg_db, "SELECT id, amount::text, doc::text FROM r ORDER BY id")
    assert via_records == via_csv


def test_a_declared_scale_and_double_precision_are_as_before(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """numeric(p,s) writes its own scale; `number_type: double precision` holds floats."""
    props = {**PROPS, "p": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 1000}}
    lines = [
        '{"type":"RECORD","stream":"t","record":{"id":1,"amount":1.50,"p":1.5}}',
        '{"type":"RECORD","stream":"t","record":{"id":2,"amount":1E5,"p":2}}',
    ]
    done = run_target(
        {**pg_db, "number_type": "double precision"},
        [schema("t", props, ["id"]), *lines, state({"p": 1})],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert query(pg_db, "SELECT amount::text, p::text FROM t ORDER BY id") == [
        ("1.5", "1.50"),
        ("100000", "2.00"),
    ]


def test_a_jsonl_batch_file_keeps_a_plain_numbers_text(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """The jsonl lane reads each file line as a RECORD's: the same texts, the same rows."""
    spool = tmp_path / "spool"
    spool.mkdir()
    f = spool / "t-0.jsonl"
    f.write_text(
        "".join(f'{{"id":{i},"amount":{t},"doc":{{"amount":1.5}}}}\n' for i, t in enumerate(TEXTS)),
        encoding="utf-8",
    )
    encoding = {"format": "jsonl", "compression": "none"}
    batch = {"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]}
    messages: list[Any] = [schema("t", PROPS, ["id"]), json.dumps(batch), state({"p": 1})]
    done = run_target({**pg_db, "batch_root": str(spool)}, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    stored = [r[0] for r in query(pg_db, "SELECT amount::text FROM t ORDER BY id")]
    assert stored == _own(pg_db)
