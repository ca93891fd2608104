"""target-postgres's csv BATCH lane holds a number's text to the shape its JSON text would have
(tapwell.sdk.tap_batch), as target-duckdb's lane does: `-?[0-9]+` for an integer property,
`-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?` for a number. COPY hands the text to PostgreSQL's input
functions, which read more: blanks around a value (' 12'), '+5', '.5', '5.' in every version,
'NaN' and 'Infinity' in numeric (14+), hex in double precision ('0x10': 16), and from 16 on
'0x10', '0o17', '0b11', '1_000' in integers and numerics; these loaded with exit 0 where RECORD
lines cannot carry them (a JSON string of them is refused). A refused text is one line naming the
file, its row, the column, the value and the fix; nothing after the last good STATE is committed."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import error_line, query, run_target, schema, state, stdout_states

pytestmark = pytest.mark.services

FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"
PROPS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},  # bigint
    "w": {"type": ["null", "integer"], "maximum": 10**30},  # numeric(31,0)
    "a": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 1000},  # numeric(5,2)
    "d": {"type": ["null", "number"]},  # numeric (number_type), or double precision
}
WHAT = {
    "n": "a whole number a bigint holds",
    "w": "a whole number a numeric(31,0) holds",
    "a": "a number a numeric(5,2) holds exactly (3 digits before the point, 2 after)",
    "d": "a finite number a numeric holds",
}
GOOD_ROW = {"n": "1", "w": "1", "a": "1.50", "d": "2.5"}

# texts PostgreSQL 15's COPY reads (loaded with exit 0 before), then texts only 16+ reads (or
# none: refused before, in PostgreSQL's words rather than the lane's)
READ_BY_PG15 = [
    ("n", " 12"),
    ("n", "12 "),
    ("n", "+5"),
    ("w", "1.5"),
    ("w", ".5"),
    ("w", "5."),
    ("w", "+5"),
    ("w", "NaN"),
    ("w", "1.5E-1"),
    ("a", ".5"),
    ("a", "5."),
    ("a", "+1"),
    ("a", " 1.5"),
    ("a", "NaN"),
    ("d", "NaN"),
    ("d", "Infinity"),
    ("d", "-Infinity"),
    ("d", ".5"),
    ("d", "-.5"),
    ("d", "5."),
    ("d", "+5"),
    ("d", " 12"),
    ("d", "1e3 "),
]
READ_BY_PG16 = [
    ("n", "0x10"),
    ("n", "0o17"),
    ("n", "0b11"),
    ("n", "1_000"),
    ("w", "1_000"),
    ("a", "1_0.5"),
    ("d", "0x10"),
    ("d", "1_000"),
    ("d", "abc"),
]


def _csv(rows: list[dict[str, str]], ids: list[int]) -> str:
    return "id,n,w,a,d\n" + "".join(
        f"{i},{r['n']},{r['w']},{r['a']},{r['d']}\n" for i, r in zip(ids, rows, strict=True)
    )


def _batch(stream: str, f: Path) -> dict[str, Any]:
    encoding = {"format": "csv", "compression": "none"}
    return {"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": [f.as_uri()]}


def _load_bad_file(
    pg_db: dict[str, Any], tmp_path: Path, col: str, text: str, path: str, **config: Any
) -> tuple[Path, Any]:
    """A good file (state p 1) and, for `staged`, the same again (a key already there: the stream
    is staged and merged from then on), then a file whose row 3 holds `text` in `col`."""
    good = tmp_path / "good.csv"
    good.write_text(_csv([GOOD_ROW], [1]))
    bad = tmp_path / "bad.csv"
    bad.write_text(_csv([GOOD_ROW, {**GOOD_ROW, col: text}], [2, 3]))
    files = [good, bad] if path == "direct" else [good, good, bad]
    messages: list[Any] = [schema("t", PROPS, ["id"])]
    for n, f in enumerate(files, 1):
        messages += [_batch("t", f), state({"p": n})]
    done = run_target({**pg_db, **config, "batch_keep_files": True}, messages, tmp_path)
    return bad, done


@pytest.mark.parametrize("path", ["direct", "staged"])
@pytest.mark.parametrize("col,text", READ_BY_PG15 + READ_BY_PG16)
def test_a_text_no_json_number_is_refused_in_one_line(
    pg_db: dict[str, Any], tmp_path: Path, col: str, text: str, path: str
) -> None:
    bad, done = _load_bad_file(pg_db, tmp_path, col, text, path)
    assert done.returncode == 65, done.stderr
    line = 4 if path == "direct" else 6
    assert error_line(done) == (
        f"target-postgres: error: stdin line {line}, stream 't': BATCH file {bad} row 3, "
        f"column {col}: {text!r} is not {WHAT[col]} {FIX}"
    )
    states = [{"p": 1}] if path == "direct" else [{"p": 1}, {"p": 2}]
    assert stdout_states(done.stdout) == states
    assert query(pg_db, "SELECT id FROM t ORDER BY id") == [(1,)]


@pytest.mark.parametrize(
    "text", ["0x10", "0x1p3", "inf", "-inf", "NaN", "Infinity", " 1.5", "+5", ".5", "5."]
)
def test_a_double_precision_column_refuses_them_too(
    pg_db: dict[str, Any], tmp_path: Path, text: str
) -> None:
    bad, done = _load_bad_file(pg_db, tmp_path, "d", text, "direct", number_type="double precision")
    assert done.returncode == 65, done.stderr
    assert error_line(done) == (
        f"target-postgres: error: stdin line 4, stream 't': BATCH file {bad} row 3, "
        f"column d: {text!r} is not a finite number a double precision holds {FIX}"
    )
    assert query(pg_db, "SELECT id FROM t ORDER BY id") == [(1,)]


def test_a_quoted_text_is_held_to_the_shape_too(pg_db: dict[str, Any], tmp_path: Path) -> None:
    f = tmp_path / "q.csv"
    f.write_text('id,n,w,a,d\n"1","12","7","1.50","2.5"\n2,1,1,1.00,"1e1"\n3,"+5",1,1.00,1\n')
    messages = [schema("t", PROPS, ["id"]), _batch("t", f), state({"p": 1})]
    done = run_target({**pg_db, "batch_keep_files": True}, messages, tmp_path)
    assert done.returncode == 65, done.stderr
    assert error_line(done) == (
        f"target-postgres: error: stdin line 2, stream 't': BATCH file {f} row 4, "
        f"column n: '+5' is not {WHAT['n']} {FIX}"
    )
    assert not stdout_states(done.stdout)


JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _record_line(stream: str, row_id: int, row: dict[str, str]) -> str:
    """A RECORD line whose values are the csv texts as they are (a JSON number's spelling kept);
    an empty text is null, and a text that is no JSON number a JSON string."""

    def value(text: str) -> str:
        if not text:
            return "null"
        return text if JSON_NUMBER.fullmatch(text) else json.dumps(text)

    fields = ", ".join(f'"{k}": {value(v)}' for k, v in row.items())
    return f'{{"type": "RECORD", "stream": "{stream}", "record": {{"id": {row_id}, {fields}}}}}'


@pytest.mark.parametrize("col,text", READ_BY_PG15 + READ_BY_PG16)
def test_record_lines_refuse_the_same_texts(
    pg_db: dict[str, Any], tmp_path: Path, col: str, text: str
) -> None:
    """The lanes agree: RECORD lines carry no such number (JSON has none), and a JSON string of
    it is refused; exit 65, nothing after the last good STATE committed, as on the csv lane."""
    messages = [
        schema("t", PROPS, ["id"]),
        _record_line("t", 1, GOOD_ROW),
        state({"p": 1}),
        _record_line("t", 2, GOOD_ROW),
        _record_line("t", 3, {**GOOD_ROW, col: text}),
        state({"p": 2}),
    ]
    done = run_target(pg_db, messages, tmp_path)
    assert done.returncode == 65, done.stderr
    error_line(done)
    assert stdout_states(done.stdout) == [{"p": 1}]
    assert query(pg_db, "SELECT id FROM t ORDER BY id") == [(1,)]


# JSON spellings our taps (and others) write; each loads as its RECORD line does
SPELLED = [
    {"n": "12", "w": "123456789012345678901234567890", "a": "1.5", "d": "1E+3"},
    {"n": "-0", "w": "-0", "a": "-0.25", "d": "-0"},
    {"n": "-9223372036854775808", "w": "1E+3", "a": "1E2", "d": "-2.5E-3"},
    {"n": "", "w": "1.0", "a": "1.2300E+1", "d": "12345678901234567890.123456789012345"},
    {"n": "7", "w": "", "a": "-999.99", "d": "1e-7"},
]


def test_json_spellings_load_exactly_as_their_record_lines(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    f = tmp_path / "spelled.csv"
    ids = list(range(1, len(SPELLED) + 1))
    f.write_text(_csv(SPELLED, ids) + "9,00012,00034,001.50,0001e1\n")
    # 00012 is no JSON number: its RECORD line says 12 (target-duckdb's lane loads it as 12 too)
    last = _record_line("r", 9, {"n": "12", "w": "34", "a": "1.50", "d": "10"})
    messages = [
        schema("c", PROPS, ["id"]),
        _batch("c", f),
        schema("r", PROPS, ["id"]),
        *(_record_line("r", i, row) for i, row in zip(ids, SPELLED, strict=True)),
        last,
        state({"p": 1}),
    ]
    done = run_target(pg_db, messages, tmp_path)
    assert done.returncode == 0, done.stderr
    cols = "id, n, w, a, d::text"
    via_csv = query(pg_db, f"SELECT {cols} FROM c ORDER BY id")
    via_records = query(pg_db, f"SELECT {cols} FROM r ORDER BY id")
    assert via_csv == via_records
    assert via_csv == [
        (1, 12, Decimal("123456789012345678901234567890"), Decimal("1.50"), "1000"),
        (2, 0, Decimal("0"), Decimal("-0.25"), "0"),
        (3, -9223372036854775808, Decimal("1000"), Decimal("100.00"), "-0.0025"),
        (4, None, Decimal("1"), Decimal("12.30"), "12345678901234567890.123456789012345"),
        (5, 7, None, Decimal("-999.99"), "0.0000001"),
        (9, 12, Decimal("34"), Decimal("1.50"), "10"),
    ]


def test_an_integer_spelled_with_an_exponent_loads_into_a_bigint(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """An integer property's 1E+3 is a whole number (RECORD lines load it as 1000, and so does
    the lane into a numeric column), which PostgreSQL's bigint input does not read: sent as its
    digits (refused in PostgreSQL's words, exit 65, until 2026-12-07)."""
    _, done = _load_bad_file(pg_db, tmp_path, "n", "1E+3", "direct")
    assert done.returncode == 0, done.stderr
    assert query(pg_db, "SELECT id, n FROM t ORDER BY id") == [(1, 1), (2, 1), (3, 1000)]
