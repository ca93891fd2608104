"""A replication key that no index starts with makes every INCREMENTAL run scan and sort the
whole table: tap-mysql says so once at discovery (the date/time columns that have none) and once
at sync (the stream's key), naming the column and the index to add; an indexed key is quiet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.mysql_tap import discover, run_tap, select, sql


def warnings_of(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if "index" in line]


def test_unindexed_replication_key_is_said_once_at_discovery_and_at_sync(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    db = mysql_db["database"]
    sql(
        mysql_db,
        "CREATE TABLE orders (id INT PRIMARY KEY, updated_at DATETIME(6))",
        "INSERT INTO orders VALUES (1, '2024-01-01 00:00:00'), (2, '2024-01-02 00:00:00')",
    )
    found = run_tap(bin_path, tmp_path, mysql_db, discover=True)
    assert found.returncode == 0, found.stderr.decode()
    advice = f"CREATE INDEX `orders_updated_at` ON `{db}`.`orders` (`updated_at`)"
    said = warnings_of(found.stderr)
    assert len(said) == 1 and f"{db}.orders.updated_at" in said[0] and advice in said[0]

    cat = select(discover(bin_path, tmp_path, mysql_db), "orders", "INCREMENTAL", "updated_at")
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    said = warnings_of(proc.stderr)
    assert len(said) == 1 and said[0].endswith(
        f"stream '{db}-orders': replication key 'updated_at' has no index, so every "
        f"INCREMENTAL run scans and sorts the whole table; add one: {advice}"
    )

    sql(mysql_db, advice)
    found = run_tap(bin_path, tmp_path, mysql_db, discover=True)
    assert warnings_of(found.stderr) == []
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat)
    assert proc.returncode == 0 and warnings_of(proc.stderr) == []
