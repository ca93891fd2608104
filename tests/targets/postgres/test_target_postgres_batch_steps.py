"""target-postgres's csv lane holds a number column with x-scale s (or multipleOf 10^-s) to its
scale by looking through the file before COPY (targets/postgres/steps.py), so a first load goes
straight into the table, as a file without such columns does: the DEBUG line names where each
file went and how many rows were read closer. A value with a digit past the scale is refused
naming the file, row and column, on the direct path, the staged merge and an append-only
stream; a value whose extra digits are zeros (1.2300 in scale 2 is 1.23) is the same number as
the RECORD lane takes it, and is loaded."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import query, run_target, stdout_states
from tapwell.targets.postgres.steps import NumberScan, checks_of

SCALE = {"type": ["null", "number"], "x-precision": 12, "x-scale": 2}
STEP = {"type": ["null", "number"], "multipleOf": 0.001}
PROPS = {
    "id": {"type": "integer"},
    "note": {"type": ["null", "string"]},
    "a": SCALE,
    "b": STEP,
}
# each (a, b) as written in the file, and the number stored (None: NULL)
GOOD = [
    ("1.23", "1.234"),
    ("1.2300", "1.234000"),  # zeros past the scale: the same number
    ("-0.01", "-0.001"),
    ('"4.56"', '"0.5"'),  # quoted as tap_batch writes every value
    ("1.55E1", "1234e-3"),  # exponents PostgreSQL's numeric reads, as exactly
    ("123456e-2", "5E-3"),  # an integer's exponent within the scale: plain, not read closer
    ("", ""),  # NULL
    ("12", "0"),
]


def _schema(key: bool = True) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": "t",
        "schema": {"type": "object", "properties": PROPS},
        "key_properties": ["id"] if key else [],
    }


def _file(path: Path, rows: list[tuple[str, str]], first: int = 1, note: str = "n") -> Path:
    body = "".join(f"{first + i},{note},{a},{b}\n" for i, (a, b) in enumerate(rows))
    path.write_text("id,note,a,b\n" + body)
    return path


def _text(files: list[Path], key: bool = True) -> str:
    out = [_schema(key)]
    for n, f in enumerate(files, 1):
        encoding = {"format": "csv", "compression": "none"}
        out.append({"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]})
        out.append({"type": "STATE", "value": {"p": n}})
    return "".join(json.dumps(m) + "\n" for m in out)


def _run(pg: dict[str, Any], text: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TAPWELL_LOG_LEVEL", "DEBUG")
    return run_target({**pg, "batch_keep_files": True}, text, tmp)


def _num(text: str) -> Decimal | None:
    text = text.strip('"')
    return None if text == "" else Decimal(text)


def _went(stderr: str, path: Path) -> list[tuple[str, int]]:
    """Where the DEBUG lines say each COPY of `path` went, and the rows read closer."""
    return [
        (m.group(1), int(m.group(2)))
        for m in re.finditer(
            rf"BATCH file {re.escape(str(path))} COPYed into the (table|staging table), "
            r"its checked columns looked through \(rows read closer: (\d+)\)",
            stderr,
        )
    ]


def test_a_file_within_its_scales_is_copied_straight_into_the_table(
    pg_db: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _file(tmp_path / "good.csv", GOOD)
    proc = _run(pg_db, _text([good]), tmp_path, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    # only the exponents' row is read field by field; quoted numbers are plain too
    assert _went(proc.stderr, good) == [("table", 1)], proc.stderr
    rows = query(pg_db, "SELECT id, a, b FROM t ORDER BY id")
    assert [tuple(r) for r in rows] == [(i, _num(a), _num(b)) for i, (a, b) in enumerate(GOOD, 1)]
    assert query(pg_db, "SELECT a::text FROM t WHERE id = 2") == [("1.23",)]


def test_a_merge_load_looks_through_the_file_too(
    pg_db: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _file(tmp_path / "first.csv", [("9.99", "8.888")] * 3)
    again = _file(tmp_path / "again.csv", GOOD)
    proc = _run(pg_db, _text([first, again]), tmp_path, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert _went(proc.stderr, first) == [("table", 0)], proc.stderr
    assert _went(proc.stderr, again) == [("staging table", 1)], proc.stderr
    assert len(query(pg_db, "SELECT 1 FROM t")) == len(GOOD)


BAD = [
    ("1.239", "a", "1.239 has more than 2 digits after the point (the schema's x-scale 2)"),
    ("-1.231", "a", "-1.231 has more than 2 digits after the point"),
    ('"1.239"', "a", "1.239 has more than 2 digits after the point"),
    ("1239e-3", "a", "1239e-3 has more than 2 digits after the point"),
    ("1.2301", "a", "1.2301 has more than 2 digits after the point"),
    ("0.001", "a", "0.001 has more than 2 digits after the point"),
]


@pytest.mark.parametrize("path", ["direct", "staged", "append"])
@pytest.mark.parametrize("bad,column,why", BAD, ids=[b[0] for b in BAD])
def test_a_digit_past_the_scale_is_refused_naming_the_row(
    pg_db: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    bad: str,
    column: str,
    why: str,
) -> None:
    files = [_file(tmp_path / "first.csv", [("9.99", "8.888")] * 2, first=100)]
    if path == "direct":
        files = []
    # row 4 of the file (the header is row 1), after a quoted note across two lines
    rows = [("1.00", "1"), ("2.00", "2"), (bad, "0.001")]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(
        'id,note,a,b\n1,"two\nlines, 1.239",1.00,1\n'
        + "".join(f"{i},n,{a},{b}\n" for i, (a, b) in enumerate(rows[1:], 2))
    )
    proc = _run(pg_db, _text([*files, wrong], key=path != "append"), tmp_path, monkeypatch)
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    assert f"BATCH file {wrong} row 4, column {column}: {why}" in errors[0], errors[0]
    assert stdout_states(proc.stdout) == ([{"p": 1}] if files else [])  # no STATE past it
    assert len(query(pg_db, "SELECT 1 FROM t")) == (2 if files else 0)


def test_multiple_of_past_its_step_is_refused_in_a_later_piece(
    pg_db: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of several 1 MB pieces: the row is counted across them."""
    rows = [("1.25", "0.125")] * 30_000
    rows[24_999] = ("1.25", "0.1255")
    big = _file(tmp_path / "big.csv", rows, note="a note long enough to take some room " * 2)
    assert big.stat().st_size > 2 << 20
    proc = _run(pg_db, _text([big]), tmp_path, monkeypatch)
    assert proc.returncode == 65, proc.stderr
    assert (
        f"BATCH file {big} row 25001, column b: 0.1255 is not a multiple of 0.001 "
        "(the schema's multipleOf)" in proc.stderr
    ), proc.stderr


def test_the_look_reads_closer_only_rows_not_plainly_in_scale() -> None:
    scan = NumberScan(checks_of(PROPS, {}, ["id", "note", "a", "b"]))
    piece = b"".join(b'%d,"x\n1,x,1.239,1",1.20,1.5\n' % i for i in range(1000))
    assert scan.first_off(piece) is None
    assert scan.closer == 0  # the newline inside the quotes is no row start
    assert scan.first_off(b"7,x,1.5e1,\n") is None and scan.closer == 1
    assert scan.first_off(b"7,x,15e-1,1E+3\n") is None and scan.closer == 1
    assert scan.first_off(b"7,x,15e-3,\n") is not None and scan.closer == 2
    assert scan.first_off(b"id,note,a,b\n7,x,1,2\n", start=12) is None
    at, index, why = scan.first_off(b"1,x,1,1\n2,x,-0.005,1\n") or (0, 0, "")
    assert (at, index) == (8, 2) and why.startswith("-0.005 has more than 2 digits")
