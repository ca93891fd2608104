"""target-postgres's csv lane and a property that does not admit null: in tapwell's dialect
(tapwell.sdk.tap_batch) NULL is the unquoted empty field and '' is `""`, so the two are told
apart. COPY stored NULL there where the RECORD lane refuses a null in one line (and
target-duckdb's csv lane refuses it); now the usual line naming the stream, the file, its row and
column, exit 65, no STATE past the last commit. '' stays '' on both lanes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import error_line, query, run_target, stdout_states

pytestmark = pytest.mark.services

PROPS = {
    "id": {"type": "integer"},
    "s": {"type": "string"},
    "n": {"type": "integer"},
    "ok": {"type": "boolean"},
    "o": {"type": "object"},
    "maybe": {"type": ["null", "string"]},
    "last": {"type": "string"},
}
COLS = list(PROPS)
GOOD = ['"x"', '"1"', '"true"', '"{}"', '"m"', '"z"']
FIX = "(fix the value at the source, or change the field's type in the SCHEMA)"


def _file(path: Path, rows: list[list[str]], eol: str = "\n") -> Path:
    body = "".join(f'"{n}",' + ",".join(r) + eol for n, r in enumerate(rows, 1))
    path.write_bytes((",".join(COLS) + eol + body).encode())
    return path


def _messages(files: list[Path], records: list[dict[str, Any]] | None = None) -> str:
    out: list[dict[str, Any]] = [
        {
            "type": "SCHEMA",
            "stream": "t",
            "schema": {"type": "object", "properties": PROPS},
            "key_properties": ["id"],
        }
    ]
    for r in records or []:
        out.append({"type": "RECORD", "stream": "t", "record": r})
    for n, f in enumerate(files, 1):
        encoding = {"format": "csv", "compression": "none"}
        out.append({"type": "BATCH", "stream": "t", "encoding": encoding, "manifest": [f.as_uri()]})
        out.append({"type": "STATE", "value": {"p": n}})
    if records is not None:
        out.append({"type": "STATE", "value": {"p": 1}})
    return "".join(json.dumps(m) + "\n" for m in out)


def _rows(pg: dict[str, Any]) -> list[Any]:
    return query(pg, "SELECT id, s, n, ok, o, maybe, last FROM t ORDER BY id")


def test_an_empty_text_stays_empty_and_null_stays_null_as_on_the_record_lane(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    f = _file(tmp_path / "f.csv", [GOOD, ['""', '"2"', '"false"', '"{}"', "", '""']])
    done = run_target({**pg_db, "batch_keep_files": True}, _messages([f]), tmp_path)
    assert done.returncode == 0, done.stderr
    by_file = _rows(pg_db)
    assert by_file[1] == (2, "", 2, False, {}, None, "")
    query(pg_db, "DROP TABLE t")
    records = [
        {"id": 1, "s": "x", "n": 1, "ok": True, "o": {}, "maybe": "m", "last": "z"},
        {"id": 2, "s": "", "n": 2, "ok": False, "o": {}, "maybe": None, "last": ""},
    ]
    done = run_target(pg_db, _messages([], records), tmp_path)
    assert done.returncode == 0, done.stderr
    assert _rows(pg_db) == by_file


@pytest.mark.parametrize("column", ["s", "n", "ok", "o", "last"])
@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_null_where_the_schema_does_not_allow_it_is_refused_naming_the_row(
    pg_db: dict[str, Any], tmp_path: Path, column: str, eol: str
) -> None:
    first = _file(tmp_path / "first.csv", [GOOD], eol)
    wrong = list(GOOD)
    wrong[COLS.index(column) - 1] = ""
    second = _file(tmp_path / "second.csv", [GOOD, GOOD, wrong], eol)
    done = run_target({**pg_db, "batch_keep_files": True}, _messages([first, second]), tmp_path)
    assert done.returncode == 65, done.stderr
    line = error_line(done)
    assert (
        f"stream 't': BATCH file {second} row 4, column {column}: is NULL (the unquoted "
        f"empty field) but the schema does not allow null {FIX}"
    ) in line, line
    assert stdout_states(done.stdout) == [{"p": 1}]  # nothing past the last commit
    assert query(pg_db, "SELECT count(*) FROM t") == [(1,)]


def test_the_look_tells_null_from_an_empty_text() -> None:
    from tapwell.targets.postgres.steps import NumberScan, not_null_of

    schema = {k: v for k, v in PROPS.items() if k in ("id", "s", "maybe")}
    cols = ["id", "s", "maybe"]
    scan = NumberScan({}, not_null_of(schema, {c: c for c in cols}, cols))
    assert scan.first_off(b'"1","",\n"2","a",""\n"3","b",') is None
    null = "is NULL (the unquoted empty field) but the schema does not allow null"
    assert scan.first_off(b'"1","",\n"2",,"a"\n') == (8, 1, null)
    assert scan.first_off(b'"1","a",\r\n"2",,\r\n') is not None
    assert scan.first_off(b'"1","a"\n"2",') is not None
