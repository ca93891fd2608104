"""Loading the same streams twice changes no column type (issue 11.1: the second `make demo` turned
every TIMESTAMPTZ column into VARCHAR, because DuckDB reports it as `TIMESTAMP WITH TIME ZONE`).
Every type target-duckdb creates is loaded twice, through the command line, and compared row by
row; the demo itself is run twice as `make demo` runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import duckdb
from helpers.duckdb_target import column_types, lines, query, record, run_target, schema, state
from tapwell.targets.duckdb.ddl import wider
from tapwell.targets.duckdb.types import canonical

ROOT = Path(__file__).resolve().parents[3]

# One property per type the target creates (see targets/duckdb/types.py), and the type.
EVERY_TYPE = {
    "id": ({"type": "integer"}, "BIGINT"),
    "flag": ({"type": ["null", "boolean"]}, "BOOLEAN"),
    "big": ({"type": ["null", "integer"], "maximum": 18446744073709551615}, "HUGEINT"),
    "dec20": ({"type": ["null", "number"], "multipleOf": 1, "maximum": 10**20}, "HUGEINT"),
    "money": ({"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10}, "DECIMAL(12,2)"),
    "wide": ({"type": ["null", "number"], "multipleOf": 1e-30, "maximum": 1e35}, "VARCHAR"),
    "ratio": ({"type": ["null", "number"]}, "DOUBLE"),
    "text": ({"type": ["null", "string"]}, "VARCHAR"),
    "either": ({"type": ["null", "string", "integer"]}, "VARCHAR"),
    "at": ({"type": ["null", "string"], "format": "date-time"}, "TIMESTAMP WITH TIME ZONE"),
    "day": ({"type": ["null", "string"], "format": "date"}, "DATE"),
    "clock": ({"type": ["null", "string"], "format": "time"}, "TIME"),
    "obj": ({"type": ["null", "object"]}, "JSON"),
    "arr": ({"type": ["null", "array"]}, "JSON"),
    "anything": ({}, "JSON"),
}

ROWS = [
    {
        "id": 1,
        "flag": True,
        "big": 18446744073709551615,
        "dec20": 99999999999999999999,
        "money": Decimal("12345678.90"),
        "wide": Decimal("12345678901234567890123456789012345.123456789012345678901234567890"),
        "ratio": 0.1,
        "text": 'tab\there "quote" 😀',
        "either": "x",
        "at": "2024-02-29T23:59:59.123456+05:30",
        "day": "2024-02-29",
        "clock": "23:59:59.999999",
        "obj": {"a": [1, {"b": None}]},
        "arr": [1, "x"],
        "anything": "just a string",
    },
    {
        "id": 2,
        "flag": False,
        "big": 0,
        "dec20": -1,
        "money": Decimal("-0.01"),
        "wide": Decimal("0.000000000000000000000000000001"),
        "ratio": -1e-7,
        "text": "",
        "either": 5,
        "at": "1970-01-01T00:00:00Z",
        "day": "0001-01-01",
        "clock": "00:00:00",
        "obj": {},
        "arr": [],
        "anything": 3,
    },
    {"id": 3, **{name: None for name in EVERY_TYPE if name != "id"}},
]

EXPECTED = [
    (
        1,
        True,
        18446744073709551615,
        99999999999999999999,
        Decimal("12345678.90"),
        "12345678901234567890123456789012345.123456789012345678901234567890",
        0.1,
        'tab\there "quote" 😀',
        "x",
        datetime(2024, 2, 29, 18, 29, 59, 123456, tzinfo=UTC),
        date(2024, 2, 29),
        time(23, 59, 59, 999999),
        '{"a":[1,{"b":null}]}',
        '[1,"x"]',
        '"just a string"',
    ),
    (
        2,
        False,
        0,
        -1,
        Decimal("-0.01"),
        "0.000000000000000000000000000001",  # at its scale, as NUMERIC(65,30) (was 1e-30)
        -1e-7,
        "",
        "5",
        datetime(1970, 1, 1, tzinfo=UTC),
        date(1, 1, 1),
        time(0, 0),
        "{}",
        "[]",
        "3",
    ),
    (3, *([None] * (len(EVERY_TYPE) - 1))),
]


def every_type_input(run: int) -> bytes:
    props = {name: prop for name, (prop, _) in EVERY_TYPE.items()}
    return lines(
        schema("types", props),
        {"type": "ACTIVATE_VERSION", "stream": "types", "version": run},
        *(record("types", r, version=run) for r in ROWS),
        {"type": "ACTIVATE_VERSION", "stream": "types", "version": run},
        state({"run": run}),
    )


def rows(db: Path) -> list[tuple]:
    cols = ", ".join(f'"{name}"' for name in EVERY_TYPE)
    return query(db, f"SELECT {cols} FROM main.types ORDER BY id")


def test_every_type_loaded_twice_keeps_its_type_and_every_value(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    first = run_target(bin_path, tmp_path, every_type_input(1), db)
    assert first.returncode == 0, first.stderr.decode()
    types_first = column_types(db, "types")
    assert {c: types_first[c] for c in EVERY_TYPE} == {
        name: sqltype for name, (_, sqltype) in EVERY_TYPE.items()
    }
    assert types_first["_sdc_table_version"] == "BIGINT"
    assert rows(db) == EXPECTED

    second = run_target(bin_path, tmp_path, every_type_input(2), db)
    assert second.returncode == 0, second.stderr.decode()
    assert column_types(db, "types") == types_first
    assert query(db, "SELECT count(*) FROM main.types") == [(3,)]
    assert rows(db) == EXPECTED
    # soft delete added _sdc_deleted_at on the first run; a third run keeps it and every type
    third = run_target(bin_path, tmp_path, every_type_input(3), db)
    assert third.returncode == 0, third.stderr.decode()
    assert column_types(db, "types") == types_first
    assert rows(db) == EXPECTED


def test_the_demo_run_twice_changes_no_type_and_no_count(bin_path, tmp_path):
    for part in ("tapwell.yml",):
        shutil.copy(ROOT / part, tmp_path / part)
    shutil.copytree(ROOT / "catalogs", tmp_path / "catalogs")
    shutil.copytree(ROOT / "sample" / "data", tmp_path / "sample" / "data")
    (tmp_path / "state").mkdir()
    db = tmp_path / "warehouse" / "demo.duckdb"
    tables = ("customers", "orders", "order_items")

    def demo() -> tuple[dict[str, dict[str, str]], dict[str, int], dict[str, list[tuple]]]:
        result = subprocess.run(
            [str(bin_path / "python"), "-m", "tapwell.runner.demo"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        types = {t: column_types(db, t, "shop") for t in tables}
        counts = {t: query(db, f"SELECT count(*) FROM shop.{t}")[0][0] for t in tables}
        content = {t: query(db, f"SELECT * FROM shop.{t} ORDER BY id") for t in tables}
        return types, counts, content

    types, counts, content = demo()
    assert types["orders"]["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert counts["orders"] == 1500
    assert demo() == (types, counts, content)
    assert json.loads((tmp_path / "state" / "demo.json").read_text())["bookmarks"]


CREATED = [
    "BOOLEAN",
    "BIGINT",
    "HUGEINT",
    "DOUBLE",
    "VARCHAR",
    "TIMESTAMPTZ",
    "DATE",
    "TIME",
    "JSON",
    "DECIMAL(12,2)",
    "DECIMAL(38,30)",
    "DECIMAL(1,0)",
]
# Other names a user's own table may use, and the type each is.
ALIASES = {
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "INT8": "BIGINT",
    "INT": "INTEGER",
    "NUMERIC(10, 3)": "DECIMAL(10,3)",
    "TEXT": "VARCHAR",
    "VARCHAR(10)": "VARCHAR",
    "BOOL": "BOOLEAN",
    "FLOAT8": "DOUBLE",
    "TIMETZ": "TIMETZ",
    "TIMESTAMP": "TIMESTAMP",
}


def test_every_spelling_duckdb_reports_is_the_type_we_created():
    con = duckdb.connect()
    try:
        cols = ", ".join(f'"c{i}" {t}' for i, t in enumerate([*CREATED, *ALIASES]))
        con.execute(f"CREATE TABLE t ({cols})")
        reported = [
            r[0]
            for r in con.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_name = 't' "
                "ORDER BY ordinal_position"
            ).fetchall()
        ]
    finally:
        con.close()
    for created, spelled in zip([*CREATED, *ALIASES.values()], reported):
        assert canonical(spelled) == created, spelled
        assert wider(spelled, created) is None, (spelled, created)
