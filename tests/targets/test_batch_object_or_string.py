"""A column whose schema admits an object (or array) and a string, through the csv BATCH lane:
the kit's writer (tapwell.sdk.tap_batch.BatchFile) wrote a string as it is (`hello`), which
target-postgres's COPY refused as no JSON (naming row 1 whatever the row: jsonb's own context
line) and a string that looks like a document (`{"a": 1}`) loaded as the document; tap-csv writes
the string's JSON text (`"hello"`), which target-duckdb loaded as the string of that text
(`"\"hello\""`). Now a JSON column holds every value's JSON text and both targets load each file
as they load the same records on RECORD lines, compared row by row."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import duckdb_target as duck
from helpers import pg_target as pg
from tapwell.sdk.tap_batch import BatchConfig, BatchFile, LocalStorage
from tapwell.singer.wire import dumps

PROPS = {
    "id": {"type": "integer"},
    "os": {"type": ["null", "object", "string"]},
    "oas": {"type": ["array", "object", "string"]},
    "any": {},
    "doc": {"type": ["null", "object"]},
}
ROWS = [
    {"id": 1, "os": {"a": 1}, "oas": [1, "x"], "any": {"n": Decimal("1.50")}, "doc": {"a": 1}},
    {"id": 2, "os": "hello", "oas": "hello", "any": "hello", "doc": None},
    {"id": 3, "os": '{"a": 1}', "oas": "[1]", "any": '{"a": 1}', "doc": None},
    {"id": 4, "os": "", "oas": "", "any": "", "doc": {}},
    {"id": 5, "os": '"x", \\ \n', "oas": "null", "any": "1", "doc": None},
    {"id": 6, "os": None, "oas": {}, "any": None, "doc": None},
]
BATCH_CSV = {"format": "csv", "compression": "none"}


def _kit_file(tmp_path: Path) -> str:
    cfg = BatchConfig("csv", "none", f"file://{tmp_path}", "", 100)
    f = BatchFile(cfg, LocalStorage(str(tmp_path)), "t-1", list(PROPS), properties=PROPS)
    f.write(ROWS, dumps)
    return f.close()


def _messages(url: str | None) -> list[dict[str, Any]]:
    head = duck.schema("t", PROPS, ["id"])
    if url is None:
        body = [duck.record("t", r) for r in ROWS]
    else:
        body = [{"type": "BATCH", "stream": "t", "encoding": BATCH_CSV, "manifest": [url]}]
    return [head, *body, duck.state({"p": 1})]


def test_the_kit_writes_a_json_columns_values_as_their_json_text(tmp_path: Path) -> None:
    url = _kit_file(tmp_path)
    lines = Path(url.removeprefix("file://")).read_text().split("\n")
    assert lines[0] == '"id","os","oas","any","doc"'
    assert lines[1] == '"1","{""a"":1}","[1,""x""]","{""n"":1.50}","{""a"":1}"'
    assert lines[2] == '"2","""hello""","""hello""","""hello""",'
    assert lines[3] == '"3","""{\\""a\\"": 1}""","""[1]""","""{\\""a\\"": 1}""",'
    assert lines[4] == '"4","""""","""""","""""","{}"'


def _pg_rows(config: dict[str, Any]) -> list[Any]:
    return pg.query(config, 'SELECT id, os, oas, "any", doc FROM t ORDER BY id')


@pytest.mark.services
def test_target_postgres_loads_the_kits_file_as_the_records(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    url = _kit_file(tmp_path)
    by_records = pg.run_target(pg_db, duck.lines(*_messages(None)).decode(), tmp_path)
    assert by_records.returncode == 0, by_records.stderr
    want = _pg_rows(pg_db)
    assert want[1][1:4] == ("hello", "hello", "hello")  # JSON strings, read back by psycopg2
    pg.query(pg_db, "DROP TABLE t")
    done = pg.run_target(pg_db, _messages(url), tmp_path)
    assert done.returncode == 0, done.stderr
    assert pg.stdout_states(done.stdout) == [{"p": 1}]
    assert _pg_rows(pg_db) == want


def _duck_rows(db: Path) -> list[Any]:
    return duck.query(db, 'SELECT id, os, oas, "any", doc FROM t ORDER BY id')


def test_target_duckdb_loads_the_kits_file_as_the_records(bin_path: Path, tmp_path: Path) -> None:
    url = _kit_file(tmp_path)
    rec, bat = tmp_path / "r.duckdb", tmp_path / "b.duckdb"
    done = duck.run_target(bin_path, tmp_path, duck.lines(*_messages(None)), rec)
    assert done.returncode == 0, done.stderr.decode()
    assert _duck_rows(rec)[1][1:4] == ('"hello"', '"hello"', '"hello"')
    done = duck.run_target(bin_path, tmp_path, duck.lines(*_messages(url)), bat)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == ['{"p":1}']
    assert _duck_rows(bat) == _duck_rows(rec)


TAP_PROPS = {"id": {"type": "integer"}, "os": {"type": ["null", "object", "string"]}}
TAP_CSV = 'id,os\n1,"{""a"": [1, ""x""]}"\n2,"""hello"""\n3,"""{\\""a\\"": 1}"""\n4,""""""\n5,\n'


def _tap_csv(tmp_path: Path, spool: Path | None) -> bytes:
    """tap-csv's output over TAP_CSV with the declared schema, on RECORD lines or the csv lane."""
    (tmp_path / "t.csv").write_text(TAP_CSV)
    entry = {"name": "t", "path": "t.csv", "key_properties": ["id"]}
    entry["schema"] = {"type": "object", "properties": TAP_PROPS}
    config: dict[str, Any] = {"base_dir": str(tmp_path), "streams": [entry]}
    if spool is not None:
        spool.mkdir()
        config["batch_config"] = {
            "encoding": {"format": "csv"},
            "storage": {"root": f"file://{spool}"},
        }
    (tmp_path / "tap.json").write_text(json.dumps(config))
    done = subprocess.run(
        [str(pg.BIN / "tap-csv"), "--config", str(tmp_path / "tap.json")],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_tap_csv_into_target_duckdb_loads_a_string_as_its_records_do(
    bin_path: Path, tmp_path: Path
) -> None:
    rec, bat = tmp_path / "r.duckdb", tmp_path / "b.duckdb"
    by_records = duck.run_target(bin_path, tmp_path, _tap_csv(tmp_path, None), rec)
    assert by_records.returncode == 0, by_records.stderr.decode()
    lane = _tap_csv(tmp_path, tmp_path / "spool")
    assert b'"BATCH"' in lane
    done = duck.run_target(bin_path, tmp_path, lane, bat)
    assert done.returncode == 0, done.stderr.decode()
    got = duck.query(bat, "SELECT id, os FROM t ORDER BY id")
    assert got == duck.query(rec, "SELECT id, os FROM t ORDER BY id")
    assert got[1:] == [(2, '"hello"'), (3, '"{\\"a\\": 1}"'), (4, '""'), (5, None)]


# (text in the os column, what the line says): each a value the RECORD lane refuses there
PG_BAD = [
    ('"1"', "'1' is not object or string"),
    ('"true"', "'true' is not object or string"),
    ('"[1]"', "'[1]' is not object or string"),
    ('"hello"', "invalid input syntax for type json"),
]


@pytest.mark.services
@pytest.mark.parametrize("text,why", PG_BAD, ids=[t for t, _ in PG_BAD])
def test_target_postgres_refuses_another_kind_naming_its_row(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, text: str, why: str
) -> None:
    f = tmp_path / "f.csv"
    f.write_text(f'id,os\n"1","{{}}"\n"2","""a"""\n"3",{text}\n')
    msgs = _messages(f.as_uri())
    msgs[0] = duck.schema("t", TAP_PROPS, ["id"])
    done = pg.run_target({**pg_db, "batch_keep_files": True}, msgs, tmp_path)
    assert done.returncode == 65, done.stderr
    line = pg.error_line(done)
    assert f"stream 't': BATCH file {f} row 4, column os: {why}" in line, line
    assert "(fix the value at the source, or change the field's type in the SCHEMA)" in line
    assert done.stdout == ""
    assert pg.query(pg_db, "SELECT count(*) FROM t") == [(0,)]
