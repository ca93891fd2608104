"""tap-mysql | target-duckdb through a real pipe, twice (issue 11.1: the second load turned every
timestamp column into VARCHAR; 11.10: digits inside JSON). Every MariaDB
type the tap maps lands in the same DuckDB type both times, and every value row by row."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import column_types, query
from helpers.mysql_tap import discover, select, sql, write_json

pytestmark = pytest.mark.services

COLUMNS = (
    "id BIGINT PRIMARY KEY, d DECIMAL(30,10), wide DECIMAL(65,30), big BIGINT UNSIGNED, "
    "i INT, f DOUBLE, txt TEXT, vc VARCHAR(20), dt DATETIME(6), ts TIMESTAMP(6) NULL, "
    "dte DATE, tm TIME(6), b TINYINT(1), j JSON"
)


def load(bin_path: Path, tmp_path: Path, mysql_db: dict[str, Any], db: Path) -> str:
    catalog = select(discover(bin_path, tmp_path, mysql_db), "things")
    tap = subprocess.Popen(
        [
            str(bin_path / "tap-mysql"),
            "--config",
            str(write_json(tmp_path / "tap.json", mysql_db)),
            "--catalog",
            str(write_json(tmp_path / "catalog.json", catalog)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    target = subprocess.run(
        [
            str(bin_path / "target-duckdb"),
            "--config",
            str(write_json(tmp_path / "duckdb.json", {"path": str(db), "hard_delete": True})),
        ],
        stdin=tap.stdout,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tap.wait(timeout=60) == 0
    assert target.returncode == 0, target.stderr
    return target.stdout


def test_mysql_to_duckdb_twice_keeps_types_and_values(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(
        mysql_db,
        f"CREATE TABLE things ({COLUMNS})",
        "INSERT INTO things VALUES (1, 12345678901234567890.0123456789, "
        "12345678901234567890123456789012345.123456789012345678901234567890, "
        "18446744073709551615, -2147483648, 0.1, 'tab\\there 😀', '', "
        "'2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.123456', '0001-01-01', "
        '\'23:59:59.999999\', 1, \'{"price": 12.3456789012345678, "a": [1, "x"]}\')',
        "INSERT INTO things VALUES (2, -0.0000000001, 0, 0, 0, -1.5e300, NULL, NULL, NULL, NULL, "
        "NULL, NULL, 0, '{}')",
        "INSERT INTO things VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL, NULL, '[12.3456789012345678]')",
    )
    db = tmp_path / "w.duckdb"
    load(bin_path, tmp_path, mysql_db, db)
    (table,) = [
        r[0]
        for r in query(db, "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%things'")
    ]
    types = column_types(db, table)
    cols = "id, d, wide, big, i, f, txt, vc, dt, ts, dte, tm, b, j"
    first = query(db, f'SELECT {cols} FROM "{table}" ORDER BY id')
    assert types["dt"] == types["ts"] == "TIMESTAMP WITH TIME ZONE" and types["j"] == "JSON"
    assert first[0][:13] == (
        1,
        Decimal("12345678901234567890.0123456789"),
        "12345678901234567890123456789012345.123456789012345678901234567890",
        18446744073709551615,
        -2147483648,
        0.1,
        "tab\there 😀",
        "",
        datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
        first[0][9],  # TIMESTAMP: the session time zone's instant, compared across runs below
        date(1, 1, 1),
        "23:59:59.999999",  # MySQL TIME spans ±838 hours: tap-mysql sends text
        True,
    )
    assert json.loads(first[0][13], parse_float=Decimal) == {
        "price": Decimal("12.3456789012345678"),
        "a": [1, "x"],
    }
    # (JSON scalars: tap-mysql's JSON schema says object or array today; the target side is
    # pinned in test_target_duckdb_json.py)
    assert first[1][13] == "{}" and first[2][13] == "[12.3456789012345678]"

    load(bin_path, tmp_path, mysql_db, db)  # the same tables again: a FULL_TABLE reload
    assert column_types(db, table) == types
    assert query(db, f'SELECT {cols} FROM "{table}" ORDER BY id') == first
