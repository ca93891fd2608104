"""target-duckdb's csv BATCH lane reads a `number` column of scale 0 (a HUGEINT: x-precision
19..38, x-scale 0; tap-csv sends one when an inferred integer column meets '1e3' or '5.') as the
RECORD lane does: a whole number spelled with an exponent or a point ('1E+3', as tap-csv writes
it; '1.0', '1.50E+1') loads, exactly, where the lane refused '1E+3' with exit 65 (its check was
an integer's, -?[0-9]+) and the same stream's RECORD lines load 1000. A number with a fraction
is refused in the RECORD lane's words (its step), naming the file, row and column."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers.duckdb_target import (
    column_types,
    error_line,
    lines,
    query,
    record,
    run_target,
    schema,
    state,
)

WHOLE = {
    "type": ["null", "number"],
    "multipleOf": 1,
    "exclusiveMaximum": 10**38,
    "exclusiveMinimum": -(10**38),
    "x-precision": 38,
    "x-scale": 0,
}
PROPS = {"id": {"type": "integer"}, "x": WHOLE}
TEXTS = [
    "1E+3",
    "1.0",
    "1.50E+1",
    "-0",
    "-2.5e1",
    "12345678901234567890123456789012345678",
    "1.2345678901234567890123456789012345678E+37",
    "7",
    "",
]
FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"


def _batch(bin_path: Path, tmp_path: Path, texts: list[str]) -> subprocess.CompletedProcess[bytes]:
    f = tmp_path / "f.csv"
    f.write_text("id,x\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)))
    batch = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": [f.as_uri()],
    }
    data = lines(schema("t", PROPS, ["id"]), batch, state({"p": 1}))
    return run_target(bin_path, tmp_path, data, batch_keep_files=True)


def _records(
    bin_path: Path, tmp_path: Path, texts: list[str]
) -> subprocess.CompletedProcess[bytes]:
    head = lines(schema("t", PROPS, ["id"]))
    body = b"".join(
        lines(record("t", {"id": i})).replace(b"}}", f',"x":{t or "null"}}}}}'.encode())
        for i, t in enumerate(texts)
    )
    return run_target(
        bin_path, tmp_path, head + body + lines(state({"p": 1})), tmp_path / "r.duckdb"
    )


def test_whole_numbers_in_any_spelling_load_as_the_record_lane_loads_them(
    bin_path: Path, tmp_path: Path
) -> None:
    by_file, by_records = _batch(bin_path, tmp_path, TEXTS), _records(bin_path, tmp_path, TEXTS)
    assert by_records.returncode == 0, by_records.stderr.decode()
    assert by_file.returncode == 0, by_file.stderr.decode()
    sql = "SELECT id, x FROM t ORDER BY id"
    got = query(tmp_path / "w.duckdb", sql)
    assert got == query(tmp_path / "r.duckdb", sql)
    assert [x for _, x in got] == [
        1000,
        1,
        15,
        0,
        -25,
        12345678901234567890123456789012345678,
        12345678901234567890123456789012345678,
        7,
        None,
    ]
    assert column_types(tmp_path / "w.duckdb", "t")["x"] == "HUGEINT"


@pytest.mark.parametrize(
    "text",
    ["1.5", "1E-3", "1.00000000000000000000000000000000000001", "9.9999999999999999999999E+21"],
)
def test_a_fraction_is_refused_in_one_line_with_its_row(
    bin_path: Path, tmp_path: Path, text: str
) -> None:
    done = _batch(bin_path, tmp_path, ["2", text])
    assert done.returncode == 65, done.stderr.decode()
    f = tmp_path / "f.csv"
    assert error_line(done) == (
        f"target-duckdb: error: stdin line 2, stream 't': BATCH file {f} row 3, column x: "
        f"{text} is not a multiple of 1 (the schema's multipleOf) {FIX}"
    )
    assert query(tmp_path / "w.duckdb", "SELECT count(*) FROM t") == [(0,)]


@pytest.mark.parametrize("text", ["1E+39", "0x10", "1_000", " 12", "+5", ".5E+1"])
def test_no_json_whole_number_is_refused(bin_path: Path, tmp_path: Path, text: str) -> None:
    done = _batch(bin_path, tmp_path, ["2", text])
    assert done.returncode == 65, done.stderr.decode()
    assert f"row 3, column x: {text!r} is not a whole number a HUGEINT holds {FIX}" in error_line(
        done
    )
