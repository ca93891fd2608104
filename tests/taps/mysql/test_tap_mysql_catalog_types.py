"""tap-mysql and a catalog whose types the user edited: the SCHEMA it prints and its records agree.
A type the column's values fit (a number for an INT) is announced as the catalog says; one they do
not fit (a string for an INT, an integer for a DECIMAL) is refused before any message, in one
line naming the stream, the column, both types and the fix. A property taken out of the catalog's
schema, or deselected in its metadata, is not sent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql, stream_entry

pytestmark = pytest.mark.services


def _table(db: dict[str, Any]) -> None:
    sql(
        db,
        "CREATE TABLE t (id INT PRIMARY KEY, code INT, amount DECIMAL(10,2), name VARCHAR(20), "
        "at DATETIME(6))",
        "INSERT INTO t VALUES (1, 12, 1.50, 'é🎉', '2024-01-31 10:00:00.123456'), "
        "(2, 7, -2.25, '', '2024-02-01 00:00:00'), (3, NULL, NULL, NULL, NULL)",
    )


def _edited(bin_path: Path, tmp_path: Path, db: dict[str, Any], **types: Any) -> dict[str, Any]:
    catalog = select(discover(bin_path, tmp_path, db), "t")
    stream_entry(catalog, "t")["schema"]["properties"].update(types)
    return catalog


@pytest.mark.parametrize(
    ("column", "prop", "live"),
    [
        ("code", {"type": ["null", "string"]}, "int(11)"),
        ("amount", {"type": ["null", "integer"]}, "decimal(10,2)"),
        ("name", {"type": ["null", "number"]}, "varchar(20)"),
    ],
)
def test_a_catalog_type_the_values_do_not_fit_is_refused_before_any_message(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, column: str, prop: Any, live: str
) -> None:
    _table(mysql_db)
    catalog = _edited(bin_path, tmp_path, mysql_db, **{column: prop})
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=catalog)
    assert proc.returncode == 2
    assert proc.stdout == b""
    sid = stream_entry(catalog, "t")["tap_stream_id"]
    line = proc.stderr.decode().splitlines()[-1]
    assert line.startswith(
        f"tap-mysql: error: stream {sid!r}, column {column!r}: the catalog types it "
        f'{{"type":{str(prop["type"]).replace(chr(39), chr(34)).replace(" ", "")}}}, but '
        f"tap-mysql sends the {live} column's values as "
    )
    assert line.endswith(
        ": give the column that type in the catalog again (as --discover writes it), or convert "
        "it after the tap (a mapper, or the target)"
    )


def test_a_wider_catalog_type_is_announced_and_the_values_fit_it(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    _table(mysql_db)
    catalog = _edited(bin_path, tmp_path, mysql_db, code={"type": ["null", "number"]})
    entry = stream_entry(catalog, "t")
    del entry["schema"]["properties"]["at"]  # taken out of the catalog's schema
    for item in entry["metadata"]:
        if item["breadcrumb"] == ["properties", "name"]:
            item["metadata"]["selected"] = False
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=catalog)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    schema = next(m["schema"] for m in msgs if m["type"] == "SCHEMA")
    assert list(schema["properties"]) == ["id", "code", "amount"]
    assert schema["properties"]["code"] == {"type": ["null", "number"]}
    assert records(msgs) == [
        {"id": 1, "code": 12, "amount": Decimal("1.50")},
        {"id": 2, "code": 7, "amount": Decimal("-2.25")},
        {"id": 3, "code": None, "amount": None},
    ]
