"""Helpers for tap-mysql's integration tests: run SQL on the test database, run the tap as a
subprocess and read its messages back exactly."""

from __future__ import annotations

import decimal
import json
import subprocess
from pathlib import Path
from typing import Any

from tapwell.singer.wire import loads


def sql(cfg: dict[str, Any], *statements: str, db: str | None = None) -> list[tuple[Any, ...]]:
    """Run statements in the test database (autocommit); returns the last one's rows."""
    import MySQLdb

    conn = MySQLdb.connect(
        host=cfg["host"],
        port=cfg["port"],
        user=cfg["user"],
        passwd=cfg["password"],
        db=db or cfg["database"],
        charset="utf8mb4",
        autocommit=True,
    )
    rows: list[tuple[Any, ...]] = []
    try:
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        for s in statements:
            cur.execute(s)
            rows = list(cur.fetchall() or [])
    finally:
        conn.close()
    return rows


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def run_tap(
    bin_path: Path,
    tmp: Path,
    config: dict[str, Any],
    *,
    catalog: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    discover: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    args = [str(bin_path / "tap-mysql"), "--config", str(write_json(tmp / "config.json", config))]
    if discover:
        args.append("--discover")
    if catalog is not None:
        args += ["--catalog", str(write_json(tmp / "catalog.json", catalog))]
    if state is not None:
        args += ["--state", str(write_json(tmp / "state.json", state))]
    return subprocess.run(args, capture_output=True, timeout=300)


def messages(out: bytes) -> list[dict[str, Any]]:
    return [loads(line) for line in out.splitlines() if line.strip()]


def records(msgs: list[dict[str, Any]], stream: str | None = None) -> list[dict[str, Any]]:
    return [
        m["record"]
        for m in msgs
        if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
    ]


def states(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["value"] for m in msgs if m["type"] == "STATE"]


def discover(bin_path: Path, tmp: Path, config: dict[str, Any]) -> dict[str, Any]:
    proc = run_tap(bin_path, tmp, config, discover=True)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def select(
    catalog: dict[str, Any],
    table: str,
    method: str = "FULL_TABLE",
    replication_key: str | None = None,
) -> dict[str, Any]:
    """The catalog with only `table` selected, with the given replication method."""
    out = {"streams": []}
    for stream in catalog["streams"]:
        if stream["stream"] != table:
            continue
        for item in stream["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
                item["metadata"]["replication-method"] = method
                if replication_key:
                    item["metadata"]["replication-key"] = replication_key
        out["streams"].append(stream)
    assert out["streams"], f"table {table} not discovered"
    return out


def stream_entry(catalog: dict[str, Any], table: str) -> dict[str, Any]:
    return next(s for s in catalog["streams"] if s["stream"] == table)


def root_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    return next(i["metadata"] for i in entry["metadata"] if i["breadcrumb"] == [])


EVERY_TYPE_DDL = """
CREATE TABLE every_type (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT,
  miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  flag TINYINT(1), boo BOOL,
  d65 DECIMAL(65,30), d650 DECIMAL(65,0), d2810 DECIMAL(28,10), d29 DECIMAL(29,2), d52 DECIMAL(5,2),
  d10 DECIMAL(10,0), num NUMERIC(12,4), dunsigned DECIMAL(8,3) UNSIGNED,
  f FLOAT, f2 FLOAT(7,3), dbl DOUBLE, rl REAL,
  c CHAR(3), vc VARCHAR(20), tt TINYTEXT, t TEXT, mt MEDIUMTEXT, lt LONGTEXT,
  e ENUM('small','big'), s SET('red','green','blue'),
  bin BINARY(4), vb VARBINARY(10), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
  dt DATE, dtm DATETIME, dtm6 DATETIME(6), ts TIMESTAMP NULL, ts3 TIMESTAMP(3) NULL,
  tm TIME, tm6 TIME(6), y YEAR,
  j JSON, b1 BIT(1), b10 BIT(10), b64 BIT(64),
  geo GEOMETRY, pt POINT, ls LINESTRING, pg POLYGON, mpt MULTIPOINT, mls MULTILINESTRING,
  mpg MULTIPOLYGON, gc GEOMETRYCOLLECTION
)"""

EDGE_ROWS = [
    """INSERT INTO every_type VALUES (1,
  -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615, 1, 0,
  '99999999999999999999999999999999999.999999999999999999999999999999',
  '99999999999999999999999999999999999999999999999999999999999999999',
  '999999999999999999.9999999999', '999999999999999999999999999.99', -999.99,
  9999999999, -99999999.9999, 99999.999,
  1.1, 1234.567, 0.1, -1e308,
  'abc', 'émoji 😀 tab\\t nl\\n', '', 'x', 'm', 'l',
  'big', 'red,blue',
  X'00FF0001', X'DEADBEEF', X'00', X'000102', X'FF', X'',
  '1000-01-01', '9999-12-31 23:59:59', '1000-01-01 00:00:00.000001',
  '1970-01-01 00:00:01', '2038-01-19 03:14:07.999',
  '838:59:59', '-838:59:59.000000', 2155,
  '{"n": 12345678901234567890.123456789012345678901234567890, "a": [1, "x", null, true]}',
  b'1', b'1010101010', b'1111111111111111111111111111111111111111111111111111111111111111',
  ST_GeomFromText('POINT(1 1)'), ST_GeomFromText('POINT(1.5 -2)'),
  ST_GeomFromText('LINESTRING(0 0, 1 1)'), ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'),
  ST_GeomFromText('MULTIPOINT(0 0, 1 1)'), ST_GeomFromText('MULTILINESTRING((0 0, 1 1))'),
  ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))'),
  ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1))'))""",
    """INSERT INTO every_type (id, d65, d650, d2810, d29, d52, d10, num, dunsigned, f, dbl,
  vc, t, j, dt, dtm6) VALUES (2,
  '-99999999999999999999999999999999999.999999999999999999999999999999',
  '-99999999999999999999999999999999999999999999999999999999999999999',
  '-0.0000000001', '0.01', 0, 0, 0.0001, 0, -0.0, 5e-324,
  '', '', '[]', '2024-02-29', '2024-02-29 12:00:00.5')""",
    "INSERT INTO every_type (id) VALUES (3)",
]


def every_type_table(db: dict[str, Any]) -> None:
    """The table with every MySQL type and its edge rows (largest and smallest values, empty
    strings, emoji, nulls) in `db`."""
    sql(db, EVERY_TYPE_DDL, *EDGE_ROWS)


def singer_sdk_problems(out: bytes) -> list[str]:
    """What a singer-sdk target's record check says about a tap's output: every line read as
    singer-sdk reads it (`json.loads(line, parse_float=Decimal)`, the schema's numbers too), each
    RECORD validated against its stream's latest SCHEMA by jsonschema's draft 7 validator."""
    from jsonschema import Draft7Validator

    problems: list[str] = []
    validators: dict[str, Any] = {}
    for line in out.splitlines():
        msg = json.loads(line, parse_float=decimal.Decimal)
        if msg["type"] == "SCHEMA":
            validators[msg["stream"]] = Draft7Validator(msg["schema"])
        elif msg["type"] == "RECORD":
            try:
                errors = [e.message for e in validators[msg["stream"]].iter_errors(msg["record"])]
            except decimal.DecimalException as exc:  # singer-sdk dies with this one
                errors = [f"{type(exc).__name__} while validating"]
            problems += [f"record {msg['record'].get('id')}: {e}" for e in errors]
    return problems
