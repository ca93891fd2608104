"""target-postgres's csv lane holds a date-time, date, time, boolean, document (object or array)
and bytea column's text to what the RECORD lane takes (targets/postgres/kinds.py): PostgreSQL's
input functions read `now`, `epoch`, `infinity`, `J2451187`, `allballs`, `24:00:00`, `t`, `yes`,
a JSON scalar in an object column and escape-format bytea, which the RECORD lane refuses in one
line; on the csv lane they loaded (`now` a new value on every load). A refused value is the
usual line naming the stream, the file, its row and column, exit 65, no STATE past the last
commit; the texts our taps write load as before, most without a closer look."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import query, run_target, stdout_states
from tapwell.targets.postgres.kinds import text_checks_of
from tapwell.targets.postgres.steps import NumberScan

PROPS = {
    "id": {"type": "integer"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "day": {"type": ["null", "string"], "format": "date"},
    "clock": {"type": ["null", "string"], "format": "time"},
    "ok": {"type": ["null", "boolean"]},
    "doc": {"type": ["null", "object"]},
    "list": {"type": ["null", "array"]},
    "raw": {"type": ["null", "string"], "contentEncoding": "x-bytea-hex"},
}
COLS = list(PROPS)
GOOD_ROW = [
    "2024-01-08T04:05:06.123456+00:00",
    "2024-01-08",
    "04:05:06.5",
    "true",
    '{"a": 1}',
    "[1]",
    "\\x00ff",
]


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _line(i: int, values: list[str]) -> str:
    return ",".join([str(i), *(_q(v) for v in values)]) + "\n"


def _file(path: Path, rows: list[list[str]], first: int = 1) -> Path:
    path.write_text(
        ",".join(COLS) + "\n" + "".join(_line(first + n, r) for n, r in enumerate(rows))
    )
    return path


def _text(files: list[Path], key: bool = True) -> str:
    out: list[dict[str, Any]] = [
        {
            "type": "SCHEMA",
            "stream": "t",
            "schema": {"type": "object", "properties": PROPS},
            "key_properties": ["id"] if key else [],
        }
    ]
    for n, f in enumerate(files, 1):
        encoding = {"format": "csv", "compression": "none"}
        out.append({"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]})
        out.append({"type": "STATE", "value": {"p": n}})
    return "".join(json.dumps(m) + "\n" for m in out)


def _run(pg: dict[str, Any], text: str, tmp: Path) -> Any:
    return run_target({**pg, "batch_keep_files": True}, text, tmp)


def test_the_texts_our_taps_write_load_as_the_record_lane_loads_them(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    rows = [
        GOOD_ROW,
        [
            "2024-01-08 04:05:06",  # tap-mysql's: a space, and naive (UTC)
            "2024-02-29",
            "23:59:59.999999",
            "false",
            ' {"a": [null]}',  # blanks before a document: still an object
            "[]",
            "\\x",
        ],
        [
            "2024-01-08T04:05:06.1234567Z",  # 7 digits: cut, as the RECORD lane cuts them
            "2024-12-31",
            "04:05",
            "true",
            "{}",
            '[{"a": 1}]',
            "\\xDEADbeef",
        ],
    ]
    good = _file(tmp_path / "good.csv", rows)
    with good.open("a") as f:
        f.write("4,,,,,,,\n")  # NULL everywhere
    proc = _run(pg_db, _text([good]), tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = query(pg_db, "SELECT id, at, day, clock, ok, doc, list, raw FROM t ORDER BY id")
    assert [tuple(r[1:5]) for r in got] == [
        (datetime(2024, 1, 8, 4, 5, 6, 123456, UTC), date(2024, 1, 8), time(4, 5, 6, 500000), True),
        (
            datetime(2024, 1, 8, 4, 5, 6, tzinfo=UTC),
            date(2024, 2, 29),
            time(23, 59, 59, 999999),
            False,
        ),
        (datetime(2024, 1, 8, 4, 5, 6, 123456, UTC), date(2024, 12, 31), time(4, 5), True),
        (None, None, None, None),
    ]
    assert [tuple(r[5:7]) for r in got] == [
        ({"a": 1}, [1]),
        ({"a": [None]}, []),
        ({}, [{"a": 1}]),
        (None, None),
    ]
    assert [None if r[7] is None else bytes(r[7]) for r in got] == [
        b"\x00\xff",
        b"",
        b"\xde\xad\xbe\xef",
        None,
    ]


# (column, text, what the error line says of it): each the RECORD lane refuses, and each
# PostgreSQL's input read (a few into another value on every load)
BAD = [
    ("at", "now", "'now' is not a valid date-time string"),
    ("at", "today", "'today' is not a valid date-time string"),
    ("at", "epoch", "'epoch' is not a valid date-time string"),
    ("at", "infinity", "'infinity' is not a valid date-time string"),
    ("at", "-infinity", "'-infinity' is not a valid date-time string"),
    ("at", "J2451187", "'J2451187' is not a valid date-time string"),
    ("at", "2024-01-08 allballs", "'2024-01-08 allballs' is not a valid date-time string"),
    ("at", "January 8, 1999", "'January 8, 1999' is not a valid date-time string"),
    ("at", "1/8/1999", "'1/8/1999' is not a valid date-time string"),
    ("at", "2024-01-01 00:00:00 PST", "'2024-01-01 00:00:00 PST' is not a valid date-time"),
    ("at", "20240108T040506", "'20240108T040506' is not a valid date-time string"),
    ("at", "2024-01-08T24:00:00", "'2024-01-08T24:00:00' is not a valid date-time string"),
    ("at", "2024-01-08T23:59:60", "'2024-01-08T23:59:60' is not a valid date-time string"),
    ("at", " 2024-01-08T04:05:06Z", "' 2024-01-08T04:05:06Z' is not a valid date-time string"),
    ("at", "2024-01-08 04:05:06 BC", "'2024-01-08 04:05:06 BC' is not a valid date-time"),
    ("at", "", "'' is not a valid date-time string"),
    ("day", "today", "'today' is not a valid date string"),
    ("day", "infinity", "'infinity' is not a valid date string"),
    ("day", "20240108", "'20240108' is not a valid date string"),
    ("day", "2024-01-08 04:05:06", "'2024-01-08 04:05:06' is not a valid date string"),
    ("day", "10000-01-01", "'10000-01-01' is not a valid date string"),
    ("day", "99-01-08", "'99-01-08' is not a valid date string"),
    ("clock", "allballs", "'allballs' is not a valid time string"),
    ("clock", "now", "'now' is not a valid time string"),
    ("clock", "24:00:00", "'24:00:00' is not a valid time string"),
    ("clock", "04:05 PM", "'04:05 PM' is not a valid time string"),
    ("clock", "4:5:6", "'4:5:6' is not a valid time string"),
    ("ok", "t", "'t' is not true or false"),
    ("ok", "yes", "'yes' is not true or false"),
    ("ok", "1", "'1' is not true or false"),
    ("ok", "TRUE", "'TRUE' is not true or false"),
    ("ok", " true", "' true' is not true or false"),
    ("doc", "1", "'1' is not object"),
    ("doc", '"x"', "'\"x\"' is not object"),
    ("doc", "[1]", "'[1]' is not object"),
    ("doc", "null", "'null' is not object (a JSON null: NULL is the unquoted empty field)"),
    ("list", '{"a": 1}', "'{\"a\": 1}' is not array"),
    ("raw", "abc", "'abc' is not bytea hex text"),
]


def _wrong(tmp_path: Path, column: str, text: str) -> Path:
    """A file whose row 4 (the header is row 1) holds `text` in `column`, after a row with a
    quoted newline."""
    bad = list(GOOD_ROW)
    bad[COLS.index(column) - 1] = text
    first = list(GOOD_ROW)
    first[4] = '{"a": "two\nlines, now"}'
    return _file(tmp_path / "wrong.csv", [first, GOOD_ROW, bad])


def _refused(proc: Any, path: Path, column: str, why: str) -> None:
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    assert f"BATCH file {path} row 4, column {column}: {why}" in errors[0], errors[0]
    assert "stream" in errors[0] and "fix the value at the source" in errors[0], errors[0]


@pytest.mark.parametrize("column,text,why", BAD, ids=[f"{c}:{t}" for c, t, _ in BAD])
def test_a_text_the_record_lane_refuses_is_refused_naming_the_row(
    pg_db: dict[str, Any], tmp_path: Path, column: str, text: str, why: str
) -> None:
    wrong = _wrong(tmp_path, column, text)
    proc = _run(pg_db, _text([wrong]), tmp_path)
    _refused(proc, wrong, column, why)
    assert stdout_states(proc.stdout) == []
    assert query(pg_db, "SELECT count(*) FROM t") == [(0,)]


@pytest.mark.parametrize("path", ["staged", "append"])
def test_a_merge_or_an_append_refuses_it_too(
    pg_db: dict[str, Any], tmp_path: Path, path: str
) -> None:
    first = _file(tmp_path / "first.csv", [GOOD_ROW, GOOD_ROW], first=100)
    wrong = _wrong(tmp_path, "at", "now")
    proc = _run(pg_db, _text([first, wrong], key=path != "append"), tmp_path)
    _refused(proc, wrong, "at", "'now' is not a valid date-time string")
    assert stdout_states(proc.stdout) == [{"p": 1}]  # no STATE past the last commit
    assert query(pg_db, "SELECT count(*) FROM t") == [(2,)]


# Forms Python's fromisoformat reads and the record check's date-time rule refuses (RFC 3339 with
# tapwell's leeway, tapwell.singer.schema.DATETIME_RULE), which PostgreSQL reads too (T00 not).
ISOCHECK_BAD = [
    ("at", "2024-01-08T04:05:06+0530", "'2024-01-08T04:05:06+0530' is not a valid date-time"),
    ("at", "2024-01-08T00", "'2024-01-08T00' is not a valid date-time string"),
    ("clock", "040506", "'040506' is not a valid time string"),
    ("clock", "T04:05:06", "'T04:05:06' is not a valid time string"),
]


@pytest.mark.parametrize("column,text,why", ISOCHECK_BAD, ids=[t for _, t, _ in ISOCHECK_BAD])
def test_isocheck_forms_are_refused_as_the_record_lane_refuses_them(
    pg_db: dict[str, Any], tmp_path: Path, column: str, text: str, why: str
) -> None:
    wrong = _wrong(tmp_path, column, text)
    _refused(_run(pg_db, _text([wrong]), tmp_path), wrong, column, why)


def test_the_look_reads_closer_only_texts_off_the_common_forms() -> None:
    types = {"raw": "bytea"}
    scan = NumberScan(text_checks_of(PROPS, {}, COLS, types))
    common = [
        ["2024-01-08T04:05:06.123456+00:00", "2024-01-08", "04:05:06.5", "true", '{"a":1}', "[]"],
        ["2024-01-08 04:05:06", "2024-01-31", "23:59:59", "false", "{}", '[{"a":1}]'],
        ["2024-01-08 04:05:06.1-05:30", "1999-12-31", "00:00:00.000001", "true", "{}", "[]"],
        ["2024-01-08T04:05:06Z", "0001-01-01", "12:00:00", "false", "{}", "[]"],
    ]
    piece = "".join(_line(i, [*r, "\\x00"]) for i, r in enumerate(common)).encode()
    assert scan.first_off(piece) is None and scan.closer == 0
    bare = b"1,2024-01-08 04:05:06+00:00,2024-01-08,04:05:06,true,,,\\x00\n"
    assert scan.first_off(bare) is None and scan.closer == 0  # as tap-mysql writes them
    # read closer and taken: the rule's other forms (no seconds, a date alone, 7+ digits)
    rare = b'1,"2024-01-08T04:05","2024-01-08","04:05","true",,,\n2,"2024-01-08",,,,,,\n'
    assert scan.first_off(rare) is None and scan.closer == 2
    at, index, why = scan.first_off(b'1,"2024-01-08T04:05:06Z",,,"t",,,\n') or (0, 0, "")
    assert (at, index, why) == (0, 4, "'t' is not true or false")


def test_a_document_last_in_the_look_is_told_by_its_start() -> None:
    """The row is read up to its last checked column: a document there is told by its first
    character, a document before another checked column read to its end."""
    last = NumberScan(text_checks_of(PROPS, {}, COLS[:6], {}))
    assert last.first_off(b'1,,,,,"{""a"": ""x,\ny""}"\n2,,,,,\n') is None and last.closer == 0
    at, index, why = last.first_off(b'1,,,,,"[1]"\n') or (0, 0, "")
    assert (index, why) == (5, "'[1]' is not object")
    inner = NumberScan(text_checks_of(PROPS, {}, COLS[:7], {}))
    assert inner.first_off(b'1,,,,,"{""a"": ""x,\ny""}","[1]"\n') is None and inner.closer == 0
    at, index, why = inner.first_off(b'1,,,,,"{}","{}"\n') or (0, 0, "")
    assert (index, why) == (6, "'{}' is not array")
