"""tap-mysql and JSON columns holding any JSON value (issue 11, item 6, the tap's part): a
scalar document ('"just a string"', numbers, booleans, null) arrives as that value, with a schema
that admits every JSON type (it said object or array, so targets refused the scalar), numbers
keep every digit, and a pretty-printed document never splits its RECORD line (MariaDB keeps a
JSON column's text as written). The same values come through the binlog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import mariadb_server
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql, states
from tapwell.singer.wire import loads

pytestmark = pytest.mark.services
binlog_db = mariadb_server.binlog_db  # the fixture: LOG_BASED needs the ROW-binlog server

DOCUMENTS = [
    '"just a string"',
    '""',
    '"émoji 😀, an escaped \\"quote\\", a tab\\t and \\u00e9"',
    "12345678901234567890.123456789012345678901",
    "-0.5",
    "0",
    "-1.5E-7",
    "true",
    "false",
    "null",
    '{"a": 1, "n": 1.000000000000000000001}',
    "[]",
    '  "padded"  ',
    '{\n  "pretty": [1,\n    2],\r\n  "s": "line\\nbreak"\n}',
]


def _json_table(db: dict[str, Any]) -> None:
    sql(db, "CREATE TABLE docs (id INT PRIMARY KEY, j JSON)")


def _insert(db: dict[str, Any]) -> None:
    rows = ", ".join(f"({i}, %s)" for i in range(1, len(DOCUMENTS) + 1))
    import MySQLdb

    conn = MySQLdb.connect(
        host=db["host"],
        port=db["port"],
        user=db["user"],
        passwd=db["password"],
        db=db["database"],
        charset="utf8mb4",
        autocommit=True,
    )
    try:
        conn.cursor().execute(
            f"INSERT INTO docs VALUES {rows}, ({len(DOCUMENTS) + 1}, NULL)", DOCUMENTS
        )
    finally:
        conn.close()


def _check(out: bytes, schema_types: list[str]) -> list[dict[str, Any]]:
    """Every line is one whole message; each `j` is its document's value, exactly."""
    from jsonschema import Draft7Validator

    msgs = messages(out)
    assert len(msgs) == len(out.splitlines())  # no document split a line
    schema = next(m["schema"] for m in msgs if m["type"] == "SCHEMA")
    assert schema["properties"]["j"]["type"] == schema_types
    recs = records(msgs)
    got = {r["id"]: r["j"] for r in recs}
    for i, doc in enumerate(DOCUMENTS, start=1):
        want = loads(doc)  # the exact reader: long numbers as Decimal
        assert got[i] == want and type(got[i]) is type(want), (i, doc)
    assert got[len(DOCUMENTS) + 1] is None
    validator = Draft7Validator(schema)
    for r in recs:
        assert list(validator.iter_errors(r)) == [], r
    # numbers keep every digit, never through a float
    assert b"12345678901234567890.123456789012345678901" in out
    assert b"1.000000000000000000001" in out
    return recs


EVERY_JSON_TYPE = ["null", "object", "array", "string", "number", "boolean"]


def test_json_scalars_full_table(mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> None:
    _json_table(mysql_db)
    _insert(mysql_db)
    catalog = discover(bin_path, tmp_path, mysql_db)
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=select(catalog, "docs"))
    assert proc.returncode == 0, proc.stderr.decode()
    _check(proc.stdout, EVERY_JSON_TYPE)


def test_json_scalars_from_the_binlog_equal_the_snapshot(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    _json_table(binlog_db)
    catalog = select(discover(bin_path, tmp_path, binlog_db), "docs", "LOG_BASED")
    config = {**binlog_db, "server_id": 474747}
    first = run_tap(bin_path, tmp_path, config, catalog=catalog)
    assert first.returncode == 0, first.stderr.decode()
    _insert(binlog_db)
    proc = run_tap(
        bin_path, tmp_path, config, catalog=catalog, state=states(messages(first.stdout))[-1]
    )
    assert proc.returncode == 0, proc.stderr.decode()
    from_binlog = _check(proc.stdout, EVERY_JSON_TYPE)
    snapshot = run_tap(bin_path, tmp_path, config, catalog=select(catalog, "docs"))
    assert snapshot.returncode == 0, snapshot.stderr.decode()
    from_snapshot = records(messages(snapshot.stdout))
    assert [{k: v for k, v in r.items() if k != "_sdc_deleted_at"} for r in from_binlog] == (
        from_snapshot
    )
