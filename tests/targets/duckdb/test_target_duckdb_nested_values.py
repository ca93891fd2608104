"""target-duckdb with `nested: tables`: values inside documents arrive exactly or are refused
(tests/helpers/nested_edges.py): every edge value read back as it was sent, and each bad value
refused with one line naming its path in the document, the good record before it committed with
its STATE and nothing after it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import error_line, query, run_target
from helpers.nested_edges import EXPECTED, GEO, OWN, REFUSED, STREAM, found_rows, messages
from tapwell.sdk.sql_names import quote_ident

NESTED = {"nested": "tables"}


BIN = Path(sys.executable).parent


def run(tmp_path: Path, *bad: dict[str, Any], name: str = "w") -> Any:
    data = "".join(m + "\n" for m in messages(*bad)).encode()
    db = tmp_path / f"{name}.duckdb"
    return run_target(BIN, tmp_path, data, db=db, **NESTED), db


def reader(db: Path) -> Any:
    def read(table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        levels = [
            c for (c,) in query(db, f"SELECT column_name FROM (DESCRIBE {quote_ident(table)})")
        ]
        order = [c for c in levels if c.startswith("_sdc_level_")] or ["id"]
        cols = ", ".join(quote_ident(c) for c in columns)
        by = ", ".join(quote_ident(c) for c in order)
        return query(db, f"SELECT {cols} FROM {quote_ident(table)} ORDER BY {by}")

    return read


def test_edge_values_inside_documents_arrive_exactly(tmp_path: Path) -> None:
    done, db = run(tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    got, geo = found_rows(reader(db), shortened=False)
    assert got == EXPECTED
    assert geo == GEO
    assert query(db, f"SELECT matrix::VARCHAR FROM {STREAM}") == [("[[1,2],[],[null]]",)]


@pytest.mark.parametrize(
    ("doc", "field", "problem"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_a_bad_value_inside_a_document_is_refused_naming_its_path(
    tmp_path: Path, doc: dict[str, Any], field: str, problem: str | None
) -> None:
    done, db = run(tmp_path, doc)
    if problem is None:  # inside a JSON column: stored as it is
        assert done.returncode == 0, done.stderr.decode()
        return
    assert done.returncode == 65, done.stderr.decode()
    assert error_line(done) == (
        f"target-duckdb: error: stdin line 4, stream {STREAM!r}, field {field!r}: {problem}"
    )
    assert done.stdout.decode().splitlines() == ['{"n":1}']
    assert query(db, f"SELECT id FROM {STREAM}") == [(1,)]


def test_a_number_past_a_double_inside_a_document_is_refused(tmp_path: Path) -> None:
    """1e400 is valid JSON, read exactly; a DOUBLE column cannot hold it."""
    done, db = run(tmp_path, {"items": [{"price": 1}, {"geo": {"lat": 1e308}, "price": None}]})
    assert done.returncode == 0
    data = messages({"items": [{"discounts": [{"amount": 1}, {"amount": 0.5}]}]})
    data[3] = data[3].replace("0.5", "1e400")
    done = run_target(
        BIN,
        tmp_path,
        "".join(m + "\n" for m in data).encode(),
        db=tmp_path / "x.duckdb",
        **NESTED,
    )
    assert done.returncode == 65
    assert error_line(done) == (
        f"target-duckdb: error: stdin line 4, stream {STREAM!r}, field "
        "'items[0].discounts[1].amount': 1E+400 is outside the range of a DOUBLE column "
        "(about ±1.8e308): fix the value at the source, or load the stream with `nested: json` "
        "(each document kept as written)"
    )


def test_a_record_replaced_in_its_batch_is_checked_too(tmp_path: Path) -> None:
    """A later record with the same key replaces it in the batch: its bad value is still
    refused, and the error names the first bad record in input order."""
    data = messages({"items": [{"qty": 1.5}]}, {"items": [{"qty": 1}]})
    data[4] = data[4].replace('"id":3', '"id":2')
    done = run_target(
        BIN,
        tmp_path,
        "".join(m + "\n" for m in data).encode(),
        db=tmp_path / "r.duckdb",
        **NESTED,
    )
    assert done.returncode == 65
    assert error_line(done).startswith(
        f"target-duckdb: error: stdin line 4, stream {STREAM!r}, field 'items[0].qty': 1.5 is"
    )


@pytest.mark.parametrize(("doc", "field"), [c[1:] for c in OWN], ids=[c[0] for c in OWN])
def test_a_bad_field_of_the_record_is_refused_as_in_json_mode(
    tmp_path: Path, doc: dict[str, Any], field: str
) -> None:
    """The splitter checks the record's own fields too (one pass): the same line as json's."""
    said = []
    for mode in ("tables", "json"):
        data = "".join(m + "\n" for m in messages(doc)).encode()
        done = run_target(BIN, tmp_path, data, db=tmp_path / f"{mode}.duckdb", nested=mode)
        assert done.returncode == 65, done.stderr.decode()
        said.append(error_line(done))
        assert done.stdout.decode().splitlines() == ['{"n":1}']
    assert said[0] == said[1]
    assert said[0].startswith(
        f"target-duckdb: error: stdin line 4, stream {STREAM!r}, field {field!r}: "
    )
