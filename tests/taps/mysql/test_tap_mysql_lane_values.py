"""tap-mysql's csv lane renders every line on the server (csv_select): each edge-value table goes
through the RECORD lane and through the csv lane into target-postgres and into target-duckdb, and
the two destinations are compared row by row (every type at its limits, '' vs NULL, emoji, zero
dates, JSON scalars and pretty documents, names with quotes, spaces and percent signs, a latin1
column). Zero dates are counted, or refused under zero_dates: "error", as in the RECORD lane."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import duckdb_target
from helpers.batch_lane import batch_config, pipe
from helpers.mysql_tap import discover, every_type_table, run_tap, select, sql
from helpers.pg_target import query
from tapwell.singer.wire import loads

pytestmark = pytest.mark.services

DOCUMENTS = [
    '"just a string"',
    '""',
    '"émoji 😀, an escaped \\"quote\\", a tab\\t and \\u00e9"',
    "12345678901234567890.123456789012345678901",
    "-1.5E-7",
    "true",
    "null",
    '{"a": 1, "n": 1.000000000000000000001}',
    "[]",
    '  "padded"  ',
    '{\n  "pretty": [1,\n    2],\r\n  "s": "line\\nbreak, \\"q\\""\n}',
]


def _connect(db: dict[str, Any], mode: str | None = None) -> Any:
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
    if mode is not None:
        conn.cursor().execute(f"SET SESSION sql_mode = '{mode}'")
    return conn


def _every_type(db: dict[str, Any]) -> str:
    every_type_table(db)
    return "every_type"


def _zero_dates(db: dict[str, Any]) -> str:
    sql(db, "CREATE TABLE z (id INT PRIMARY KEY, d DATE, dt DATETIME(6), ts TIMESTAMP NULL)")
    conn = _connect(db, "ALLOW_INVALID_DATES")
    conn.cursor().execute(
        "INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00', NULL),"
        " (2, '2022-11-00', '2022-02-30 10:00:00.000001', '1970-01-01 00:00:01'),"
        " (3, '2022-11-05', NULL, '0000-00-00 00:00:00'),"
        " (4, '0001-01-01', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07')"
    )
    conn.close()
    return "z"


def _json_docs(db: dict[str, Any]) -> str:
    sql(db, "CREATE TABLE docs (id INT PRIMARY KEY, j JSON)")
    rows = ", ".join(f"({i}, %s)" for i in range(1, len(DOCUMENTS) + 1))
    conn = _connect(db)
    conn.cursor().execute(
        f"INSERT INTO docs VALUES {rows}, ({len(DOCUMENTS) + 1}, NULL)", DOCUMENTS
    )
    conn.close()
    return "docs"


def _names(db: dict[str, Any]) -> str:
    sql(
        db,
        'CREATE TABLE `odd ``names`` 100` (`i d` BIGINT PRIMARY KEY, `v"x` VARCHAR(20),'
        " `p;s` TEXT NOT NULL, `l1` VARCHAR(10) CHARACTER SET latin1, `u,c` CHAR(2),"
        " `dec` DECIMAL(12,2) NOT NULL, `b` TINYINT(1) NOT NULL)",
    )
    conn = _connect(db)
    conn.cursor().execute(
        "INSERT INTO `odd ``names`` 100` VALUES"
        " (1, %s, %s, %s, %s, 0.10, 0), (2, NULL, '', NULL, NULL, -1.00, 5),"
        " (3, %s, %s, %s, '', 99999.99, 1), (4, %s, %s, NULL, NULL, 0.00, 0)",
        # row 4: NUL characters, which target-postgres replaces (nul_characters) on both lanes
        ['a,"b"\r\n', "\\N", "é", "ü", "", "NULL", "ÿ", "\x00", "x\x00y\x00"],
    )
    conn.close()
    return "odd `names` 100"


TABLES = {"every_type": _every_type, "z": _zero_dates, "docs": _json_docs, "names": _names}


def _pg_rows(pg: dict[str, Any], schema: str, table: str) -> list[Any]:
    name = table.replace('"', '""')
    got = query(pg, f'SELECT to_jsonb(row_)::text FROM "{schema}"."{name}" row_')
    got = [(json.loads(r[0]),) for r in got]
    rows = [{k: v for k, v in r[0].items() if not k.startswith("_sdc_")} for r in got]
    return sorted(rows, key=repr)


def _duck_rows(db: Path, table: str) -> list[Any]:
    """The table's rows; a JSON column's text parsed exactly (the RECORD lane stores the
    target's re-encoding of the document, the csv lane the server's text: `\\u00e9` and `é`
    are the same JSON string)."""
    cols = [
        r
        for r in duckdb_target.query(
            db,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        )
        if not r[0].startswith("_sdc_")
    ]
    listed = ", ".join('"' + c.replace('"', '""') + '"' for c, _ in cols)
    quoted = '"' + table.replace('"', '""') + '"'
    rows = duckdb_target.query(db, f"SELECT {listed} FROM {quoted}")
    is_json = [t == "JSON" for _, t in cols]
    out = [
        tuple(loads(v) if j and v is not None else v for v, j in zip(r, is_json, strict=True))
        for r in rows
    ]
    return sorted(out, key=repr)


@pytest.mark.parametrize("target", ["target-postgres", "target-duckdb"])
@pytest.mark.parametrize("table", list(TABLES))
def test_csv_lane_equals_record_lane(
    mysql_db: dict[str, Any],
    pg_db: dict[str, Any],
    bin_path: Path,
    tmp_path: Path,
    table: str,
    target: str,
) -> None:
    name = TABLES[table](mysql_db)
    cat = select(discover(bin_path, tmp_path, mysql_db), name)
    spool = tmp_path / "spool"
    spool.mkdir()
    lane_tap = {**mysql_db, "batch_config": batch_config(spool, "csv", size=2)}
    if target == "target-postgres":
        rec_cfg: dict[str, Any] = {**pg_db, "default_target_schema": "rec"}
        lane_cfg: dict[str, Any] = {**pg_db, "default_target_schema": "lane"}
    else:
        rec_cfg = {"path": str(tmp_path / "rec.duckdb")}
        lane_cfg = {"path": str(tmp_path / "lane.duckdb")}
    plain, code = pipe(bin_path, tmp_path, mysql_db, cat, target, rec_cfg, "rec")
    assert code == 0 and plain.returncode == 0, plain.stderr.decode()
    lane, code = pipe(
        bin_path, tmp_path, lane_tap, cat, target, {**lane_cfg, "batch_root": str(spool)}, "lane"
    )
    assert code == 0 and lane.returncode == 0, lane.stderr.decode()
    # again: now every key is in the table (a first load COPYs straight into it; this one is
    # staged and merged)
    again, code = pipe(
        bin_path, tmp_path, lane_tap, cat, target, {**lane_cfg, "batch_root": str(spool)}, "lane"
    )
    assert code == 0 and again.returncode == 0, again.stderr.decode()
    if target == "target-postgres":
        want, got = _pg_rows(pg_db, "rec", name), _pg_rows(pg_db, "lane", name)
    else:
        want, got = (
            _duck_rows(tmp_path / "rec.duckdb", name),
            _duck_rows(tmp_path / "lane.duckdb", name),
        )
    assert len(want) >= 3
    assert got == want
    assert list(spool.iterdir()) == []


@pytest.mark.parametrize("mode", ["null", "error"])
def test_zero_dates_counted_or_refused_on_the_lane(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, mode: str
) -> None:
    name = _zero_dates(mysql_db)
    cat = select(discover(bin_path, tmp_path, mysql_db), name)
    spool = tmp_path / "spool"
    spool.mkdir()
    cfg = {**mysql_db, "zero_dates": mode, "batch_config": batch_config(spool, "csv", size=10)}
    proc = run_tap(bin_path, tmp_path, cfg, catalog=cat)
    err = proc.stderr.decode()
    assert "Traceback" not in err
    if mode == "error":
        assert proc.returncode != 0
        assert "invalid date '0000-00-00'" in err
        assert b'"type":"BATCH"' not in proc.stdout
    else:
        assert proc.returncode == 0, err
        assert "5 zero or invalid dates became null" in err
