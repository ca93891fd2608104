"""target-postgres with `nested: tables`: values inside documents arrive exactly or are refused
(tests/helpers/nested_edges.py): every edge value read back as it was sent (long names shortened
by PostgreSQL's 63-byte rule), and each bad value refused with one line naming its path in the
document, the good record before it committed with its STATE and nothing after it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.nested_edges import EXPECTED, GEO, OWN, REFUSED, STREAM, found_rows, messages
from helpers.pg_target import error_line, query, run_target
from psycopg2 import sql

pytestmark = pytest.mark.services
NESTED = {"nested": "tables"}


def reader(config: dict[str, Any]) -> Any:
    def read(table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        names = [
            c
            for (c,) in query(
                config,
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,),
            )
        ]
        order = sorted(c for c in names if c.startswith("_sdc_level_")) or ["id"]
        statement = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, order)),
        )
        return query(config, statement)

    return read


def test_edge_values_inside_documents_arrive_exactly(pg_db: dict[str, Any], tmp_path: Path) -> None:
    done = run_target({**pg_db, **NESTED}, messages(), tmp_path)
    assert done.returncode == 0, done.stderr
    got, geo = found_rows(reader(pg_db), shortened=True)
    assert got == EXPECTED
    assert geo == GEO
    assert query(pg_db, f"SELECT matrix::text FROM {STREAM}") == [("[[1, 2], [], [null]]",)]


@pytest.mark.parametrize(
    ("doc", "field", "problem"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_a_bad_value_inside_a_document_is_refused_naming_its_path(
    pg_db: dict[str, Any], tmp_path: Path, doc: dict[str, Any], field: str, problem: str | None
) -> None:
    done = run_target({**pg_db, **NESTED}, messages(doc), tmp_path)
    if problem is None:  # inside a JSON column: stored as it is
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 65, done.stderr
    assert error_line(done) == (
        f"target-postgres: error: stdin line 4, stream {STREAM!r}, field {field!r}: {problem}"
    )
    assert done.stdout.splitlines() == ['{"n":1}']
    assert query(pg_db, f"SELECT id FROM {STREAM}") == [(1,)]


def test_a_number_past_a_double_inside_a_document_is_kept_exactly(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """1e400 is valid JSON, read exactly; a numeric column holds it."""
    data = messages({"items": [{"discounts": [{"amount": 1}, {"amount": 0.5}]}]})
    data[3] = data[3].replace("0.5", "1e400")
    done = run_target({**pg_db, **NESTED}, data, tmp_path)
    assert done.returncode == 0, done.stderr
    got = query(
        pg_db,
        f"SELECT amount FROM {STREAM}__items__discounts WHERE _sdc_source_key_id = 2 "
        "ORDER BY _sdc_level_1_id",
    )
    assert [v for (v,) in got] == [1, Decimal("1e400")]


def test_a_record_replaced_in_its_batch_is_checked_too(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """A later record with the same key replaces it in the batch: its bad value is still
    refused, and the error names the first bad record in input order."""
    data = messages({"items": [{"qty": 1.5}]}, {"items": [{"qty": 1}]})
    data[4] = data[4].replace('"id":3', '"id":2')
    done = run_target({**pg_db, **NESTED}, data, tmp_path)
    assert done.returncode == 65
    assert error_line(done).startswith(
        f"target-postgres: error: stdin line 4, stream {STREAM!r}, field 'items[0].qty': 1.5 is"
    )


@pytest.mark.parametrize(("doc", "field"), [c[1:] for c in OWN], ids=[c[0] for c in OWN])
def test_a_bad_field_of_the_record_is_refused_as_in_json_mode(
    pg_db: dict[str, Any], tmp_path: Path, doc: dict[str, Any], field: str
) -> None:
    """The splitter checks the record's own fields too (one pass): the same line as json's."""
    said = []
    for mode in ("tables", "json"):
        config = {**pg_db, "nested": mode, "default_target_schema": mode}
        done = run_target(config, messages(doc), tmp_path)
        assert done.returncode == 65, done.stderr
        said.append(error_line(done))
        assert done.stdout.splitlines() == ['{"n":1}']
    assert said[0] == said[1]
    assert said[0].startswith(
        f"target-postgres: error: stdin line 4, stream {STREAM!r}, field {field!r}: "
    )
