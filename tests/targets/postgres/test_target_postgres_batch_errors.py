"""target-postgres's csv lane (a BATCH file COPYed as it lies) says a refusal as the RECORD lane
does: one line naming the file's row (the header is row 1), the column and the fix. PostgreSQL's
COPY counts physical lines, so a field quoted across lines before the bad value made it name
`row 6` for the file's row 3; its numeric overflow and invalid input syntax gave no fix; and a
`multipleOf` other than 10^-s (0.25, 5) was not looked at, so 0.3 loaded where the RECORD lane
refuses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import query, run_target, stdout_states

pytestmark = pytest.mark.services

FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
NUMBER = {"type": ["null", "number"], "x-precision": 6, "x-scale": 2}
NUMBER_WHAT = "a number a numeric(6,2) holds exactly (4 digits before the point, 2 after)"
OVERFLOW = (
    "numeric field overflow; A field with precision 6, scale 2 must round to an absolute "
    "value less than 10^4 (fix the value at the source, or change the field's type in the "
    "SCHEMA: a wider maximum, or more digits)"
)


def _text(props: dict[str, Any], files: list[Path]) -> str:
    schema = {"type": "object", "properties": props}
    out: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": "t", "schema": schema, "key_properties": ["id"]}
    ]
    for n, f in enumerate(files, 1):
        encoding = {"format": "csv", "compression": "none"}
        out.append({"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]})
        out.append({"type": "STATE", "value": {"p": n}})
    return "".join(json.dumps(m) + "\n" for m in out)


def _error(proc: Any) -> str:
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.mark.parametrize("path", ["direct", "staged"])
@pytest.mark.parametrize(
    "eol,value,why",
    [
        # refused by the lane's look (steps.py) before COPY, which counts rows itself
        ("\n", "abc", f"'abc' is not {NUMBER_WHAT} {FIX}"),
        ("\r\n", "abc", f"'abc' is not {NUMBER_WHAT} {FIX}"),
        # refused by PostgreSQL: its physical line said as the file's row
        ("\n", "123456789.5", OVERFLOW),
        ("\r\n", "123456789.5", OVERFLOW),
        ("\n", "1e99999", OVERFLOW),
    ],
    ids=["syntax", "syntax-crlf", "overflow", "overflow-crlf", "exponent"],
)
def test_copy_refusal_names_the_row_not_the_line(
    pg_db: dict[str, Any], tmp_path: Path, path: str, eol: str, value: str, why: str
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("id,t,a\n1,x,1.5\n", newline="")
    bad = tmp_path / "bad.csv"
    # row 2 spans physical lines 2-4 and row 3 lines 5-6: PostgreSQL says line 6
    bad.write_text(
        eol.join(["id,t,a", '1,"x', "y", 'z",1.5', '2,"p', f'q",{value}', ""]), newline=""
    )
    files = [bad] if path == "direct" else [first, bad]
    props = {"id": {"type": "integer"}, "t": {"type": ["null", "string"]}, "a": NUMBER}
    proc = run_target({**pg_db, "batch_keep_files": True}, _text(props, files), tmp_path)
    line = _error(proc)
    assert line == (
        f"target-postgres: error: stdin line {len(files) * 2}, stream 't': "
        f"BATCH file {bad} row 3, column a: {why}"
    ), line
    assert stdout_states(proc.stdout) == ([{"p": 1}] if path == "staged" else [])


@pytest.mark.parametrize("path", ["direct", "staged"])
@pytest.mark.parametrize(
    "prop,good,bad,why",
    [
        (
            {"type": ["null", "number"], "multipleOf": 0.25},
            "0.75",
            "0.3",
            "0.3 is not a multiple of 0.25",
        ),
        ({"type": ["null", "integer"], "multipleOf": 5}, "10", "12", "12 is not a multiple of 5"),
        (
            {"type": ["null", "number"], "multipleOf": 5},
            "-5",
            '"7.5"',
            "7.5 is not a multiple of 5",
        ),
    ],
    ids=["0.25", "integer-5", "number-5"],
)
def test_multiple_of_not_a_power_of_ten_is_refused(
    pg_db: dict[str, Any],
    tmp_path: Path,
    path: str,
    prop: dict[str, Any],
    good: str,
    bad: str,
    why: str,
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(f"id,t,m\n1,x,{good}\n", newline="")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f'id,t,m\n2,y,{good}\n3,"two\nlines",\n4,z,{bad}\n')
    files = [wrong] if path == "direct" else [first, wrong]
    props = {"id": {"type": "integer"}, "t": {"type": ["null", "string"]}, "m": prop}
    proc = run_target({**pg_db, "batch_keep_files": True}, _text(props, files), tmp_path)
    line = _error(proc)
    assert line == (
        f"target-postgres: error: stdin line {len(files) * 2}, stream 't': "
        f"BATCH file {wrong} row 4, column m: {why} (the schema's multipleOf) {FIX}"
    ), line
    assert stdout_states(proc.stdout) == ([{"p": 1}] if path == "staged" else [])
    assert len(query(pg_db, "SELECT 1 FROM t")) == len(files) - 1


def test_multiple_of_on_its_step_loads_every_value(pg_db: dict[str, Any], tmp_path: Path) -> None:
    f = tmp_path / "ok.csv"
    f.write_text('id,m,n\n1,0.25,5\n2,"-1.5",-10\n3,,0\n4,1e1,"15"\n5,0.500,\n')
    props = {
        "id": {"type": "integer"},
        "m": {"type": ["null", "number"], "multipleOf": 0.25},
        "n": {"type": ["null", "integer"], "multipleOf": 5},
    }
    proc = run_target({**pg_db, "batch_keep_files": True}, _text(props, [f]), tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [
        (i, None if m is None else str(m), n)
        for i, m, n in query(pg_db, "SELECT id, m, n FROM t ORDER BY id")
    ]
    assert rows == [
        (1, "0.25", 5),
        (2, "-1.5", -10),
        (3, None, 0),
        (4, "10", 15),
        (5, "0.500", None),
    ]
