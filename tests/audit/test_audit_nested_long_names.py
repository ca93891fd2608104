"""`nested: tables` and a property whose name passes PostgreSQL's 63 bytes (audit, 2026-12-06,
a singer-sdk tap through `tapwell run` into target-postgres): the second load of the same stream
took the property's shortened column for a JSON column left by `nested: json`, warned about it,
and set it to NULL in every row it upserted: silent loss of the column's values on every load
after the first. (tapwell.sdk.nested.json_columns compared property names with the root table's
column names, which are shortened.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
LONG = "a_very_long_property_name_that_is_well_past_sixty_four_bytes_in_utf8_xx"


def messages(value: str) -> str:
    props = {
        "id": {"type": "integer"},
        LONG: {"type": ["null", "string"]},
        "tags": {"type": ["null", "array"], "items": {"type": "string"}},
    }
    return (
        "\n".join(
            json.dumps(m)
            for m in (
                {"type": "SCHEMA", "stream": "s", "schema": {"properties": props},
                 "key_properties": ["id"]},
                {"type": "RECORD", "stream": "s", "record": {"id": 1, LONG: value, "tags": ["a"]}},
                {"type": "STATE", "value": {"n": value}},
            )
        )
        + "\n"
    )  # fmt: skip


@pytest.mark.services
def test_a_long_property_name_keeps_its_values_on_every_load(
    tmp_path: Path, pg_db: dict[str, Any]
) -> None:
    import psycopg

    config = tmp_path / "pg.json"
    config.write_text(json.dumps({**pg_db, "nested": "tables"}))
    for value in ("first", "second"):
        proc = subprocess.run(
            [str(BIN / "target-postgres"), "--config", str(config)],
            input=messages(value).encode(),
            capture_output=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        assert "WARNING" not in proc.stderr.decode(), proc.stderr.decode()
    dsn = f"host={pg_db['host']} port={pg_db['port']} user={pg_db['user']} dbname={pg_db['dbname']}"
    with psycopg.connect(dsn) as con:
        column = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 's' "
            "AND column_name LIKE 'a\\_very\\_long%'"
        ).fetchall()
        assert len(column) == 1 and len(column[0][0].encode()) <= 63
        rows = con.execute(f'SELECT id, "{column[0][0]}" FROM s').fetchall()
    assert rows == [(1, "second")]
