"""The demo end to end, as `make demo` runs it: tapwell run demo, twice, on a copy of the
example project. Every CSV row is compared with its DuckDB row, value by value."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "tapwell.yml", tmp_path / "tapwell.yml")
    shutil.copytree(ROOT / "catalogs", tmp_path / "catalogs")
    shutil.copytree(ROOT / "sample" / "data", tmp_path / "sample" / "data")
    (tmp_path / "state").mkdir()
    return tmp_path


def run_demo(bin_path: Path, project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_path / "tapwell"), "--project", str(project), "run", "demo"],
        capture_output=True,
        text=True,
        cwd=project,
    )


def expected(column: str, text: str, kind: str) -> object:
    """What a CSV cell must become in DuckDB."""
    if text == "" and kind != "string":
        return None
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "boolean":
        return text == "true"
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "date-time":
        value = datetime.fromisoformat(text)
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return text


KINDS = {
    "customers": {
        "id": "integer",
        "credit_limit": "decimal",
        "is_active": "boolean",
        "birth_date": "date",
        "created_at": "date-time",
        "updated_at": "date-time",
    },
    "orders": {
        "id": "integer",
        "customer_id": "integer",
        "amount": "decimal",
        "discount": "decimal",
        "exchange_rate": "decimal",
        "ordered_on": "date",
        "created_at": "date-time",
        "updated_at": "date-time",
    },
    "order_items": {
        "id": "integer",
        "order_id": "integer",
        "quantity": "integer",
        "unit_price": "decimal",
        "updated_at": "date-time",
    },
}


def column_types(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'shop' ORDER BY table_name, ordinal_position"
    ).fetchall()


def test_demo_loads_every_row_exactly_and_the_second_run_loads_nothing_new(bin_path, project):
    first = run_demo(bin_path, project)
    assert first.returncode == 0, first.stderr
    state = json.loads((project / "state" / "demo.json").read_text())
    assert set(state["bookmarks"]) == {"customers", "orders", "order_items"}

    db = project / "warehouse" / "demo.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, kinds in KINDS.items():
            with open(
                project / "sample" / "data" / f"{table}.csv", newline="", encoding="utf-8"
            ) as f:
                rows = list(csv.DictReader(f))
            columns = list(rows[0])
            got = con.execute(
                f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM shop.{table} ORDER BY id"
            ).fetchall()
            assert len(got) == len(rows), table
            for source, loaded in zip(rows, got):
                for column, value in zip(columns, loaded):
                    want = expected(column, source[column], kinds.get(column, "string"))
                    assert value == want, (
                        f"{table} id={source['id']} {column}: {value!r} != {want!r}"
                    )
            types = dict(
                con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'shop' AND table_name = ?",
                    [table],
                ).fetchall()
            )
            assert all(
                types[c].startswith("DECIMAL") for c, k in kinds.items() if k == "decimal"
            ), types
        counts_before = {
            t: con.execute(f"SELECT count(*) FROM shop.{t}").fetchone()[0] for t in KINDS
        }
        types_before = column_types(con)
    finally:
        con.close()

    second = run_demo(bin_path, project)
    assert second.returncode == 0, second.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert {
            t: con.execute(f"SELECT count(*) FROM shop.{t}").fetchone()[0] for t in KINDS
        } == counts_before
        assert column_types(con) == types_before  # the second run widened nothing (issue 11.1)
    finally:
        con.close()
    # The second run only re-sent the rows at each bookmark (Singer's >= rule). METRIC lines are
    # in the run log, not on the terminal.
    assert "METRIC" not in second.stderr, second.stderr
    run_id = second.stderr.rsplit("(run ", 1)[1].split(")", 1)[0]  # the run's last line
    log = subprocess.run(
        [str(bin_path / "tapwell"), "--project", str(project), "logs", run_id],
        capture_output=True,
        text=True,
        cwd=project,
    ).stdout
    sent = [
        json.loads(line.split("METRIC: ", 1)[1])
        for line in log.splitlines()
        if "[tap-csv] METRIC:" in line and "record_count" in line
    ]
    assert sent and all(m["value"] <= 2 for m in sent), sent


def test_make_demo_output_names_tables_and_file(bin_path, project):
    result = subprocess.run(
        [str(bin_path / "python"), "-m", "tapwell.runner.demo"],
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    assert "METRIC" not in result.stderr, result.stderr  # METRIC lines go to the run log only
    assert "shop.orders" in result.stdout and "1,500" in result.stdout and "+1,500" in result.stdout
    assert "DuckDB file:" in result.stdout and "demo.duckdb" in result.stdout
    again = subprocess.run(
        [str(bin_path / "python"), "-m", "tapwell.runner.demo"],
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert again.returncode == 0 and "+0" in again.stdout and "+1,500" not in again.stdout
