"""A bad value inside a singer-sdk jsonl.gz BATCH file, read on the kit's Python path: the one
error line names the stream, the file, the record's row in it, the field and the fix (as the csv
BATCH lanes do), not only the BATCH message's input line; exit 65, no STATE past the last commit,
no row of the file loaded. Both targets, and each way a file's records are read: lines the raw
lane takes (the value refused at the load), and records made dicts (with metadata columns)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from helpers import duckdb_target as duck
from helpers import pg_target as pg

PROPS = {"id": {"type": "integer"}, "big": {"type": ["null", "integer"]}}
ROWS = [b'{"id": 1, "big": 5}', b'{"id": 2, "big": 18446744073709551616}', b'{"id": 3, "big": 7}']
WHY = {
    "duckdb": "18446744073709551616 is outside the range of a BIGINT column (64 bits): fix the value",
    "postgres": 'value does not fit the column: value "18446744073709551616" is out of range',
}


def _messages(tmp_path: Path, rows: list[bytes] = ROWS) -> tuple[list[dict[str, Any]], Path]:
    path = tmp_path / "things-1.jsonl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\n".join(rows) + b"\n")
    batch = {
        "type": "BATCH",
        "stream": "things",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": [f"file://{path}"],
    }
    head = [duck.schema("things", PROPS, ["id"]), duck.state({"p": 0})]
    return [*head, batch, duck.state({"p": 1})], path


def _expected(target: str, path: Path) -> str:
    where = f"stdin line 3, stream 'things', BATCH file {path} row 2, field 'big': "
    return f"target-{target}: error: {where}{WHY[target]}"


@pytest.mark.parametrize("metadata", [False, True])
def test_target_duckdb_names_the_files_row(bin_path: Path, tmp_path: Path, metadata: bool) -> None:
    messages, path = _messages(tmp_path)
    db = tmp_path / "w.duckdb"
    done = duck.run_target(
        bin_path, tmp_path, duck.lines(*messages), db, add_record_metadata=metadata
    )
    assert done.returncode == 65
    assert duck.error_line(done).startswith(_expected("duckdb", path))
    assert done.stdout.decode().splitlines() == ['{"p":0}']
    assert not duck.query(
        db, "SELECT * FROM information_schema.tables WHERE table_name = 'things'"
    ) or (duck.query(db, "SELECT count(*) FROM things") == [(0,)])


def test_a_record_its_schema_refuses_names_the_files_row(bin_path: Path, tmp_path: Path) -> None:
    rows = [ROWS[0], b'{"id": 2, "big": "many"}', ROWS[2]]
    messages, path = _messages(tmp_path, rows)
    done = duck.run_target(bin_path, tmp_path, duck.lines(*messages))
    assert done.returncode == 65
    where = f"stdin line 3, stream 'things', BATCH file {path} row 2, field 'big': "
    assert where in duck.error_line(done)


@pytest.mark.services
@pytest.mark.parametrize("metadata", [False, True])
def test_target_postgres_names_the_files_row(
    pg_db: dict[str, Any], tmp_path: Path, metadata: bool
) -> None:
    messages, path = _messages(tmp_path)
    done = pg.run_target({**pg_db, "add_record_metadata": metadata}, messages, tmp_path)
    assert done.returncode == 65
    assert pg.error_line(done).startswith(_expected("postgres", path))
    assert pg.stdout_states(done.stdout) == [{"p": 0}]
    found = pg.query(
        pg_db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'things'"
    )
    assert found[0][0] == 0 or pg.query(pg_db, "SELECT count(*) FROM things") == [(0,)]
