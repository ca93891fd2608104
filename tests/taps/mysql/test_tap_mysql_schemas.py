"""tap-mysql's schemas as every current reader takes them (issue 11, item 5): each SCHEMA message
and each discovered schema, over a table with every MySQL type, is valid JSON Schema draft 7
(numeric `exclusiveMaximum`, not draft 4's `true`), and each record validates against its SCHEMA
the way singer-sdk targets validate it (numbers read as Decimal, `multipleOf` evaluated: once
`1E-30` for DECIMAL(65,30), which made singer-sdk fail with DivisionImpossible)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import mariadb_server
from helpers.mysql_tap import (
    discover,
    every_type_table,
    messages,
    records,
    run_tap,
    select,
    singer_sdk_problems,
    sql,
    stream_entry,
)

pytestmark = pytest.mark.services
binlog_db = mariadb_server.binlog_db  # the fixture: LOG_BASED needs the ROW-binlog server


@pytest.mark.parametrize(
    ("method", "rkey"), [("FULL_TABLE", None), ("INCREMENTAL", "id"), ("LOG_BASED", None)]
)
def test_every_schema_is_draft7_and_every_record_validates(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path, method: str, rkey: str | None
) -> None:
    from jsonschema import Draft7Validator

    every_type_table(binlog_db)
    catalog = discover(bin_path, tmp_path, binlog_db)
    discovered = stream_entry(catalog, "every_type")["schema"]
    Draft7Validator.check_schema(discovered)
    assert "unsupported" not in str(discovered)  # every type above has a mapping

    config = {**binlog_db, "server_id": 464646}
    proc = run_tap(bin_path, tmp_path, config, catalog=select(catalog, "every_type", method, rkey))
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)  # numbers as Decimal, as singer-sdk reads them
    schemas = [m["schema"] for m in msgs if m["type"] == "SCHEMA"]
    assert schemas
    for schema in schemas:
        Draft7Validator.check_schema(schema)
    assert [r["id"] for r in records(msgs)] == [1, 2, 3]
    assert singer_sdk_problems(proc.stdout) == []


def test_decimal_schema_keeps_precision_and_scale_for_our_targets(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """Our targets read DECIMAL(p,s) from x-precision/x-scale (and singer-io's multipleOf +
    maximum): both targets' type mapping still gives numeric(p,s) / DECIMAL(p,s)."""
    from tapwell.targets.duckdb.types import duckdb_type
    from tapwell.targets.postgres.types import pg_type as postgres_type

    sql(mysql_db, "CREATE TABLE money (id INT PRIMARY KEY, a DECIMAL(65,30), b DECIMAL(12,2))")
    props = stream_entry(discover(bin_path, tmp_path, mysql_db), "money")["schema"]["properties"]
    assert props["a"] == {
        "type": ["null", "number"],
        "exclusiveMaximum": 1e35,
        "exclusiveMinimum": -1e35,
        "x-precision": 65,
        "x-scale": 30,
    }
    assert props["b"] == {
        "type": ["null", "number"],
        "multipleOf": 0.01,
        "exclusiveMaximum": 10**10,
        "exclusiveMinimum": -(10**10),
        "x-precision": 12,
        "x-scale": 2,
    }
    assert postgres_type(props["a"]) == "numeric(65,30)"
    assert postgres_type(props["b"]) == "numeric(12,2)"
    assert duckdb_type(props["b"]) == "DECIMAL(12,2)"


def test_an_old_catalog_with_draft4_bounds_is_sent_as_draft7(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """A catalog discovered by an older tap-mysql (boolean exclusiveMaximum, multipleOf 1e-30)
    still yields SCHEMA messages a draft 7 reader accepts."""
    from jsonschema import Draft7Validator

    sql(
        mysql_db,
        "CREATE TABLE money (id INT PRIMARY KEY, a DECIMAL(65,30), b DECIMAL(12,2))",
        "INSERT INTO money VALUES (1, '12345678901234567890123456789012345.123456789', 1.25)",
    )
    catalog = select(discover(bin_path, tmp_path, mysql_db), "money")
    props = catalog["streams"][0]["schema"]["properties"]
    props["a"] = {
        "type": ["null", "number"],
        "multipleOf": 1e-30,
        "exclusiveMaximum": True,
        "maximum": 1e35,
        "exclusiveMinimum": True,
        "minimum": -1e35,
        "x-precision": 65,
        "x-scale": 30,
    }
    props["b"] = {
        "type": ["null", "number"],
        "multipleOf": 0.01,
        "exclusiveMaximum": True,
        "maximum": 10**10,
        "exclusiveMinimum": False,
        "minimum": -(10**10),
    }
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=catalog)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    schema = next(m["schema"] for m in msgs if m["type"] == "SCHEMA")
    Draft7Validator.check_schema(schema)
    assert schema["properties"]["a"] == {
        "type": ["null", "number"],
        "exclusiveMaximum": 1e35,
        "exclusiveMinimum": -1e35,
        "x-precision": 65,
        "x-scale": 30,
    }
    assert schema["properties"]["b"] == {
        "type": ["null", "number"],
        "multipleOf": 0.01,
        "exclusiveMaximum": 10**10,
        "minimum": -(10**10),
    }
    assert len(records(msgs)) == 1
    assert singer_sdk_problems(proc.stdout) == []
