"""tap-mysql | target-postgres through a real pipe: every value arrives exactly as it left MariaDB."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from helpers.mysql_tap import discover, select, sql, write_json

pytestmark = pytest.mark.services

TEXT = 'tab\there\nnew line \\ back "q" emoji 😀'


def test_mysql_to_postgres_exact(
    mysql_db: dict[str, Any], pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(
        mysql_db,
        "CREATE TABLE things (id BIGINT PRIMARY KEY, d DECIMAL(30,10), big BIGINT UNSIGNED, f DOUBLE, "
        "txt TEXT, vc VARCHAR(20), dt DATETIME(6), dte DATE, b TINYINT(1), j JSON)",
        "INSERT INTO things VALUES (1, 12345678901234567890.0123456789, 18446744073709551615, 0.1, "
        f"{_mysql_literal(TEXT)}, '', '2024-02-29 23:59:59.123456', '0001-01-01', 1, "
        '\'{"a": [1, 2.5, "x"]}\')',
        "INSERT INTO things VALUES (2, -0.0000000001, 0, -1.5e300, NULL, NULL, NULL, NULL, 0, NULL)",
    )
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
            str(bin_path / "target-postgres"),
            "--config",
            str(write_json(tmp_path / "pg.json", pg_db)),
        ],
        stdin=tap.stdout,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tap.wait(timeout=60) == 0
    assert target.returncode == 0, target.stderr
    last_state = json.loads(target.stdout.splitlines()[-1])
    stream_state = next(iter(last_state["bookmarks"].values()))
    assert stream_state.get("initial_full_table_complete") is True

    conn = psycopg2.connect(
        host=pg_db["host"], port=pg_db["port"], user=pg_db["user"], dbname=pg_db["dbname"]
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(
                "SELECT id, d, big, f, txt, vc, dt::text, dte::text, b, j FROM things ORDER BY id"
            )
            rows = cur.fetchall()
            cur.execute("SELECT value FROM tapwell_state")
            stored = cur.fetchone()
    finally:
        conn.close()
    assert rows == [
        (
            1,
            Decimal("12345678901234567890.0123456789"),
            Decimal("18446744073709551615"),
            Decimal("0.1"),
            TEXT,
            "",
            "2024-02-29 23:59:59.123456+00",
            "0001-01-01",
            True,
            {"a": [1, 2.5, "x"]},
        ),
        (
            2,
            Decimal("-0.0000000001"),
            Decimal(0),
            Decimal("-1.5e300"),
            None,
            None,
            None,
            None,
            False,
            None,
        ),
    ]
    assert stored == (last_state,)


def _mysql_literal(text: str) -> str:
    return (
        "'"
        + text.replace("\\", "\\\\").replace("'", "\\'").replace("\t", "\\t").replace("\n", "\\n")
        + "'"
    )
