"""target-duckdb's csv BATCH lane holds a number's text to the shape its JSON text would have
(tapwell.sdk.tap_batch: the target reads each column as it would the RECORD): DuckDB's casts
read '0x10' and '0b11' as BIGINT 16 and 3, '1_000' as 1000 and '1_0.5' as 10.5, which loaded
with exit 0 where the RECORD lane refuses them. A refused text is one line naming the file, its
row, the column, the value and the fix; a text that is no number in a plain number (DOUBLE)
column was refused without its row and column ('... refused column d')."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.duckdb_target import error_line, lines, query, run_target, schema, state

FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
PROPS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},
    "a": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 1000},
    "d": {"type": ["null", "number"]},
}
WHAT = {
    "n": "a whole number a BIGINT holds",
    "a": "a number a DECIMAL(5,2) holds exactly (3 digits before the point, 2 after)",
    "d": "a finite number a DOUBLE holds",
}


def _run(
    bin_path: Path, tmp_path: Path, body: str
) -> tuple[Path, subprocess.CompletedProcess[bytes]]:
    f = tmp_path / "f.csv"
    f.write_text("id,n,a,d\n" + body)
    batch = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": [f.as_uri()],
    }
    data = lines(schema("t", PROPS, ["id"]), batch, state({"p": 1}))
    return f, run_target(bin_path, tmp_path, data, batch_keep_files=True)


@pytest.mark.parametrize(
    "col,text",
    [
        ("n", "0x10"),
        ("n", "0b11"),
        ("n", "1_000"),
        ("n", " 12"),
        ("n", "+5"),
        ("a", "1_0.5"),
        ("a", " 1.5"),
        ("a", "+1"),
        ("a", ".5"),
        ("d", "1_0.5"),
        ("d", "-.5"),
        ("d", "abc"),
    ],
)
def test_a_text_no_json_number_is_refused_in_one_line(
    bin_path: Path, tmp_path: Path, col: str, text: str
) -> None:
    row = {"n": "1", "a": "1.50", "d": "2.5", col: text}
    f, done = _run(bin_path, tmp_path, f"1,1,1.00,1\n2,{row['n']},{row['a']},{row['d']}\n")
    assert done.returncode == 65, done.stderr.decode()
    assert error_line(done) == (
        f"target-duckdb: error: stdin line 2, stream 't': BATCH file {f} row 3, column {col}: "
        f"{text!r} is not {WHAT[col]} {FIX}"
    )
    assert not done.stdout
    assert query(tmp_path / "w.duckdb", "SELECT count(*) FROM t") == [(0,)]


def test_json_number_texts_load_as_before(bin_path: Path, tmp_path: Path) -> None:
    body = "1,12,1.5,1e1\n2,-0,-0.25,-2.5E-3\n3,00012,1E2,0\n4,,,\n"
    _, done = _run(bin_path, tmp_path, body)
    assert done.returncode == 0, done.stderr.decode()
    assert query(tmp_path / "w.duckdb", "SELECT id, n, a, d FROM t ORDER BY id") == [
        (1, 12, Decimal("1.50"), 10.0),
        (2, 0, Decimal("-0.25"), -0.0025),
        (3, 12, Decimal("100.00"), 0.0),
        (4, None, None, None),
    ]
