"""target-duckdb's csv BATCH lane refuses what its RECORD lane refuses for a `multipleOf` that is
no 10^-s (0.25 on a number, 5 on an integer or a number): the lane counted only digits after the
point, so 0.3 and 12 loaded with exit 0 where RECORD lines are refused (exit 65). Each refusal
is one line naming the file, its row (the header is row 1; a newline quoted in a field before it
does not count), the column, the value and the fix, in the RECORD lane's words; nothing of that
file is committed and STATE stays at the last committed file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
PROPS = {
    "id": {"type": "integer"},
    "t": {"type": ["null", "string"]},
    "m": {"type": ["null", "number"], "multipleOf": 0.25},
    "n": {"type": ["null", "integer"], "multipleOf": 5},
    "f": {"type": ["null", "number"], "multipleOf": 5, "maximum": 1000},
    "a": {"type": ["null", "number"], "x-precision": 6, "x-scale": 2},
}
GOOD = {"m": "0.75", "n": "10", "f": "-5", "a": "1.50"}


def _batches(files: list[Path]) -> bytes:
    out: list[dict[str, Any]] = [schema("t", PROPS)]
    for n, f in enumerate(files, 1):
        encoding = {"format": "csv", "compression": "none"}
        out.append({"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]})
        out.append(state({"p": n}))
    return lines(*out)


def _states(stdout: bytes) -> list[Any]:
    return [json.loads(x) for x in stdout.decode().splitlines()]


def _csv_row(values: dict[str, str], n: int, t: str, eol: str) -> str:
    return ",".join([str(n), t] + [values[c] for c in ("m", "n", "f", "a")]) + eol


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("path", ["direct", "staged"])
@pytest.mark.parametrize(
    "col,bad,why",
    [
        ("m", "0.3", f"0.3 is not a multiple of 0.25 (the schema's multipleOf) {FIX}"),
        ("n", "12", f"12 is not a multiple of 5 (the schema's multipleOf) {FIX}"),
        ("f", "7.5", f"7.5 is not a multiple of 5 (the schema's multipleOf) {FIX}"),
        (
            "a",
            "1.234",
            f"1.234 has more than 2 digits after the point (the schema's x-scale 2) {FIX}",
        ),
        (
            "a",
            "123456789.5",
            "123456789.5 has more than 4 digits before the point, which a DECIMAL(6,2) column "
            "cannot hold: fix the value at the source, or change the field's type in the SCHEMA "
            "(a larger maximum, or fewer decimal places, for a wider column)",
        ),
    ],
    ids=["number-0.25", "integer-5", "number-5", "x-scale", "digits-before"],
)
def test_csv_and_record_lanes_refuse_the_same_value_alike(
    bin_path: Path, tmp_path: Path, eol: str, path: str, col: str, bad: str, why: str
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("id,t,m,n,f,a" + eol + _csv_row(GOOD, 1, "x", eol), newline="")
    wrong = tmp_path / "wrong.csv"
    body = _csv_row(GOOD, 2, "y", eol) + _csv_row(GOOD, 3, f'"two{eol}lines"', eol)
    wrong.write_text("id,t,m,n,f,a" + eol + body + _csv_row({**GOOD, col: bad}, 4, "z", eol))
    files = [wrong] if path == "direct" else [first, wrong]
    done = run_target(bin_path, tmp_path, _batches(files), batch_keep_files=True)
    assert done.returncode == 65, done.stderr.decode()
    line = error_line(done)
    assert line == (
        f"target-duckdb: error: stdin line {len(files) * 2}, stream 't': "
        f"BATCH file {wrong} row 4, column {col}: {why}"
    ), line
    assert len([x for x in done.stderr.decode().splitlines() if "error" in x]) == 1
    assert _states(done.stdout) == ([{"p": 1}] if path == "staged" else [])
    if path == "staged":
        assert query(tmp_path / "w.duckdb", "SELECT id FROM t") == [(1,)]

    # the RECORD lane: the same value in a RECORD line, the same words after its field
    rec = {"id": 4, "t": "z", **{c: Decimal(v) for c, v in GOOD.items()}, col: Decimal(bad)}
    if col == "n":
        rec[col] = int(bad)
    data = lines(schema("t", PROPS), record("t", rec), state({"p": 1}))
    plain = run_target(bin_path, tmp_path, data, tmp_path / "r.duckdb")
    assert plain.returncode == 65, plain.stderr.decode()
    assert (
        error_line(plain) == f"target-duckdb: error: stdin line 2, stream 't', field '{col}': {why}"
    )


def test_the_first_refused_row_is_named_whichever_check_refuses_it(
    bin_path: Path, tmp_path: Path
) -> None:
    """A value SQL refuses ('abc', row 3) before a value off its step (row 4): row 3 is named,
    with the fix; the step's refusal, found first, does not hide it."""
    f = tmp_path / "f.csv"
    f.write_text(
        "id,t,m,n,f,a\n"
        + _csv_row(GOOD, 1, "x", "\n")
        + _csv_row({**GOOD, "a": "abc"}, 2, "y", "\n")
        + _csv_row({**GOOD, "m": "0.3"}, 3, "z", "\n")
    )
    done = run_target(bin_path, tmp_path, _batches([f]), batch_keep_files=True)
    assert done.returncode == 65
    assert error_line(done) == (
        f"target-duckdb: error: stdin line 2, stream 't': BATCH file {f} row 3, column a: "
        f"'abc' is not a number a DECIMAL(6,2) holds exactly (4 digits before the point, 2 after) "
        f"{FIX}"
    )
    assert not done.stdout


def test_values_on_their_steps_load_alike_on_both_lanes(bin_path: Path, tmp_path: Path) -> None:
    rows = [
        ("1", "0.25", "5", "-5", "1.5"),
        ("2", "-1.5", "-10", "0", "-2.25"),
        ("3", "", "", "", ""),
        ("4", "1e1", "0", "1E1", "0.10"),
        ("5", "0.500", "15", "995", "9999.99"),
        ("6", "12345678901234.75", "9223372036854775805", "2.5e1", "0"),
    ]
    f = tmp_path / "ok.csv"
    f.write_text("id,m,n,f,a\r\n" + "".join(",".join(r) + "\r\n" for r in rows), newline="")
    data = _batches([f])
    done = run_target(bin_path, tmp_path, data, tmp_path / "csv.duckdb")
    assert done.returncode == 0, done.stderr.decode()
    recs = [
        record(
            "t",
            {
                "id": int(r[0]),
                "m": Decimal(r[1]) if r[1] else None,
                "n": int(r[2]) if r[2] else None,
                "f": Decimal(r[3]) if r[3] else None,
                "a": Decimal(r[4]) if r[4] else None,
            },
        )
        for r in rows
    ]
    plain = run_target(
        bin_path, tmp_path, lines(schema("t", PROPS), *recs, state({"p": 1})), tmp_path / "r.duckdb"
    )
    assert plain.returncode == 0, plain.stderr.decode()
    sql = "SELECT id, m, n, f, a FROM t ORDER BY id"
    got = query(tmp_path / "csv.duckdb", sql)
    assert got == query(tmp_path / "r.duckdb", sql)
    assert [(r[0], r[2], str(r[3]), str(r[4])) for r in got] == [
        (1, 5, "-5", "1.50"),
        (2, -10, "0", "-2.25"),
        (3, None, "None", "None"),
        (4, 0, "10", "0.10"),
        (5, 15, "995", "9999.99"),
        (6, 9223372036854775805, "25", "0.00"),
    ]
