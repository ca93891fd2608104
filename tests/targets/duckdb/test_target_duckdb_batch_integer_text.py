"""target-duckdb's csv BATCH lane takes in an integer column what RECORD lines take for an
integer property: a whole number in any JSON spelling ('1.0', '1.000', '1E+3', '1e3', '10E-1',
'-0') loads as its integer, where the lane refused everything but `-?[0-9]+` with exit 65; a
fraction ('1.5', '1E-1') or a value past the column's range is refused, as RECORD lines refuse
it, in one line naming the file, row, column, value and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

PROPS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},  # BIGINT
    "s": {"type": ["null", "integer"], "maximum": 32767, "minimum": -32768},  # still a BIGINT
    "h": {"type": ["null", "integer"], "maximum": 10**30, "minimum": -(10**30)},  # HUGEINT
}
COLUMNS = ["n", "s", "h"]
SPELLED = [
    ["1.0", "1.000", "1E+3"],
    ["1e3", "10E-1", "-0"],
    ["-0.0", "1.50E+1", "1.2345678901234567890123456789E+29"],
    ["9.223372036854775807E+18", "-2E0", "100000000000000000000000000000.0"],
    ["-9223372036854775808.000", "", "7"],
    ["12", "0.0E-5", "-1E1"],
]
RANGE = ("9.223372036854775808E+18", "1e400", "9223372036854775808")
FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"


def _csv(tmp_path: Path, rows: list[list[str]]) -> Path:
    f = tmp_path / "f.csv"
    f.write_text("id," + ",".join(COLUMNS) + "\n")
    with f.open("a") as out:
        for i, row in enumerate(rows, 1):
            out.write(f"{i}," + ",".join(row) + "\n")
    return f


def _by_file(bin_path: Path, tmp_path: Path, rows: list[list[str]]) -> Any:
    f = _csv(tmp_path, rows)
    batch = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": [f.as_uri()],
    }
    data = lines(schema("t", PROPS, ["id"]), batch, state({"p": 1}))
    return run_target(bin_path, tmp_path, data, batch_keep_files=True), f


def _by_records(bin_path: Path, tmp_path: Path, rows: list[list[str]], **config: Any) -> Any:
    """The same values as RECORD lines, each number spelled as the file spells it."""
    body = b""
    for i, row in enumerate(rows, 1):
        fields = "".join(f',"{c}":{t or "null"}' for c, t in zip(COLUMNS, row, strict=True))
        body += lines(record("t", {"id": i})).replace(b"}}", f"{fields}}}}}".encode())
    data = lines(schema("t", PROPS, ["id"])) + body + lines(state({"p": 1}))
    return run_target(bin_path, tmp_path, data, tmp_path / "r.duckdb", **config)


@pytest.mark.parametrize("raw_lines", [True, False])
def test_whole_numbers_in_any_spelling_load_as_record_lines_load_them(
    bin_path: Path, tmp_path: Path, raw_lines: bool
) -> None:
    (by_file, _), by_records = (
        _by_file(bin_path, tmp_path, SPELLED),
        _by_records(bin_path, tmp_path, SPELLED, raw_lines=raw_lines),
    )
    assert by_records.returncode == 0, by_records.stderr.decode()
    assert by_file.returncode == 0, by_file.stderr.decode()
    sql = "SELECT id, n, s, h FROM t ORDER BY id"
    got = query(tmp_path / "w.duckdb", sql)
    assert got == query(tmp_path / "r.duckdb", sql)
    assert got == [
        (1, 1, 1, 1000),
        (2, 1000, 1, 0),
        (3, 0, 15, 123456789012345678901234567890),
        (4, 9223372036854775807, -2, 100000000000000000000000000000),
        (5, -9223372036854775808, None, 7),
        (6, 12, 0, -10),
    ]


@pytest.mark.parametrize(
    ("column", "text"),
    [
        ("n", "1.5"),
        ("n", "1E-1"),
        ("n", "1.00000000000000000001"),
        ("n", "9.223372036854775808E+18"),
        ("n", "1e400"),
        ("n", "9223372036854775808"),
        ("h", "1.5E+0"),
        ("n", "+5"),
        ("n", "1."),
    ],
)
def test_what_record_lines_refuse_is_refused_in_one_line(
    bin_path: Path, tmp_path: Path, column: str, text: str
) -> None:
    row = ["1", "1", "1"]
    row[COLUMNS.index(column)] = text
    done, f = _by_file(bin_path, tmp_path, [["2", "2", "2"], row])
    assert done.returncode == 65, done.stderr.decode()
    sqltype = "BIGINT" if column == "n" else "HUGEINT"
    where = f"target-duckdb: error: stdin line 2, stream 't': BATCH file {f} row 3, column {column}"
    if text in RANGE:  # as the lane says a plain text past it (9223372036854775808)
        assert error_line(done) == (
            f"{where}: {text} is outside the range of a BIGINT column (64 bits): fix the value "
            "at the source, or declare the field's maximum (and minimum) in the SCHEMA beyond 64 "
            "bits for a wider column"
        )
    else:
        assert (
            error_line(done) == f"{where}: {text!r} is not a whole number a {sqltype} holds {FIX}"
        )
    assert not done.stdout
    if text not in ("+5", "1."):  # RECORD lines cannot carry those (no JSON number)
        refused = _by_records(bin_path, tmp_path, [row])
        assert refused.returncode == 65, refused.stderr.decode()
