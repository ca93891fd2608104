"""target-postgres's csv BATCH lane takes in an integer column what RECORD lines take for an
integer property: a whole number in any JSON spelling ('1.0', '1.000', '1E+3', '1e3', '10E-1',
'-0') loads as its integer. A bigint's input reads digits only, so COPY refused '1.0' and
'1E+3' (exit 65, in PostgreSQL's words) where RECORD lines load 1 and 1000: such a field is now
sent as its digits (steps.NumberScan.as_integers). A fraction or a value past the column's range
is refused, as RECORD lines refuse it, in one line naming the file, row, column, value and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import error_line, query, run_target, schema, state, stdout_states
from tapwell.targets.postgres.steps import NumberScan, checks_of

FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
PROPS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},  # bigint
    "w": {"type": ["null", "integer"], "maximum": 10**30},  # numeric(31,0)
}
SPELLED = [
    ("1.0", "1.000"),
    ("1E+3", "1e3"),
    ("10E-1", "-0"),
    ("-0.0", "1.50E+1"),
    ("9.223372036854775807E+18", "1.2345678901234567890123456789E+29"),
    ("-9223372036854775808.000", ""),
    ('"1.0E+1"', "7"),
    ("12", "0.0E-5"),
    ("", "-2E0"),
]


def _batch(stream: str, f: Path) -> dict[str, Any]:
    encoding = {"format": "csv", "compression": "none"}
    return {"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": [f.as_uri()]}


def _csv(f: Path, rows: list[tuple[str, str]], first: int = 1, eol: str = "\n") -> Path:
    body = "".join(f"{i},{n},{w}{eol}" for i, (n, w) in enumerate(rows, first))
    f.write_bytes(f"id,n,w{eol}{body}".encode())
    return f


def _record(stream: str, row_id: int, n: str, w: str) -> str:
    """The RECORD line of a csv row, each number spelled as the file spells it."""
    fields = [f'"id":{row_id}']
    fields += [f'"{k}":{v.strip(chr(34)) or "null"}' for k, v in (("n", n), ("w", w))]
    return f'{{"type":"RECORD","stream":"{stream}","record":{{{",".join(fields)}}}}}'


@pytest.mark.services
@pytest.mark.parametrize("path", ["direct", "staged", "direct-then-staged"])
@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_whole_numbers_in_any_spelling_load_as_record_lines_load_them(
    pg_db: dict[str, Any], tmp_path: Path, path: str, eol: str
) -> None:
    """`staged`: a file with a key already in the table, merged; `direct-then-staged`: the file
    COPYed straight in first, rolled back at the key already there, and COPYed again staged
    (its pieces not looked through again)."""
    f = _csv(tmp_path / "f.csv", SPELLED, eol=eol)
    first = _csv(tmp_path / "first.csv", [("5", "5")], 99 if path != "direct-then-staged" else 1)
    batches: list[Any] = [_batch("c", f), state({"p": 1})]
    if path != "direct":
        batches = [_batch("c", first), state({"p": 0}), _batch("c", first), *batches]
    records = [_record("r", i, n, w) for i, (n, w) in enumerate(SPELLED, 1)]
    messages = [schema("c", PROPS, ["id"]), *batches, schema("r", PROPS, ["id"]), *records]
    done = run_target({**pg_db, "batch_keep_files": True}, [*messages, state({"p": 2})], tmp_path)
    assert done.returncode == 0, done.stderr
    via_csv = query(pg_db, "SELECT id, n, w FROM c WHERE id < 99 ORDER BY id")
    assert via_csv == query(pg_db, "SELECT id, n, w FROM r ORDER BY id")
    assert [(i, n) for i, n, _ in via_csv] == [
        (1, 1), (2, 1000), (3, 1), (4, 0), (5, 9223372036854775807),
        (6, -9223372036854775808), (7, 10), (8, 12), (9, None),
    ]  # fmt: skip
    assert [int(w) if w is not None else None for _, _, w in via_csv] == [
        1, 1000, 0, 15, 123456789012345678901234567890, None, 7, 0, -2,
    ]  # fmt: skip


@pytest.mark.services
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1.5", "'1.5' is not a whole number a bigint holds"),
        ("1E-1", "'1E-1' is not a whole number a bigint holds"),
        ("9.223372036854775808E+18", "'9.223372036854775808E+18' is not a whole number a bigint holds"),
        ("-9.223372036854775809E+18", "'-9.223372036854775809E+18' is not a whole number a bigint holds"),
        ("1e400", "'1e400' is not a whole number a bigint holds"),
        ("1.00000000000000000001", "'1.00000000000000000001' is not a whole number a bigint holds"),
    ],
)  # fmt: skip
def test_what_record_lines_refuse_is_refused_in_one_line(
    pg_db: dict[str, Any], tmp_path: Path, text: str, problem: str
) -> None:
    f = _csv(tmp_path / "bad.csv", [("2", "2"), (text, "1")])
    messages = [schema("t", PROPS, ["id"]), _batch("t", f), state({"p": 1})]
    done = run_target({**pg_db, "batch_keep_files": True}, messages, tmp_path)
    assert done.returncode == 65, done.stderr
    assert error_line(done) == (
        f"target-postgres: error: stdin line 2, stream 't': BATCH file {f} row 3, column n: "
        f"{problem} {FIX}"
    )
    assert not stdout_states(done.stdout)
    records = [schema("r", PROPS, ["id"]), _record("r", 1, text, "1"), state({"p": 1})]
    assert run_target(pg_db, records, tmp_path).returncode == 65


@pytest.mark.parametrize(
    ("sqltype", "top"), [("smallint", 2**15 - 1), ("integer", 2**31 - 1), ("bigint", 2**63 - 1)]
)
def test_each_integer_column_s_range_holds_a_spelled_whole_number(sqltype: str, top: int) -> None:
    checks = checks_of(PROPS, {}, ["id", "n"], {"id": "bigint", "n": sqltype})
    check = checks[1]
    assert check.digits(f"{top}.0") == str(top)
    assert check.digits(f"-{top + 1}.0") == str(-top - 1)
    assert check.digits(f"{top + 1}.0") is None and check.problem(f"{top + 1}.0") is not None
    assert check.digits(f"-{top + 2}.0") is None
    assert check.digits("1e999999999") is None  # told without making the integer


def test_as_integers_writes_only_spelled_whole_numbers_and_keeps_the_rest() -> None:
    checks = checks_of(PROPS, {}, ["id", "n", "w"], {"id": "bigint", "n": "bigint"})
    scan = NumberScan(checks)
    head = b"id,n,w\n"
    rows = b'1,1.0,1.0\n2,"1E+3",7\n3,12,1e3\r\n4,,-0.0\n5,"1.50E+1",2\n'
    piece = head + rows
    assert scan.first_off(piece, len(head)) is None
    want = head + b"1,1,1.0\n2,1000,7\n3,12,1e3\r\n4,,-0.0\n5,15,2\n"
    assert scan.as_integers(piece, 0) == want
    assert scan.as_integers(rows, 1 << 20) == rows  # a piece first_off found none in
    assert scan.as_integers(piece, 0) == want  # the file COPYed again: not looked through
    plain = NumberScan(checks)
    assert plain.first_off(head + b"1,2,3\n", len(head)) is None
    assert plain.as_integers(head + b"1,2,3\n", 0) == head + b"1,2,3\n" and not plain.integers
