"""Paths walked as a user on 2026-12-06 (useraudit) that no test walked: target-postgres loading a
csv BATCH file of decimals written with CRLF line ends, quoted fields, `1.2300`, `-0.00`, `1e2`,
`.5`, an empty field and a quoted '' (values exact, '' vs NULL kept); a value PostgreSQL's COPY
refuses inside a field quoted across lines (its error was cut at the line break: `... numeric:
"1.2`, the value half said; now one line with the value whole, `"1.2\\r\\n39"`); target-duckdb's
csv lane with a 9-digit fraction in the middle of a large first file (the unlooked read refused,
the group loaded again looked) and a refused value in a later file: exit 65, the rows and STATE
of the files before it kept, no STATE past them."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.pg_target import query, run_target

pytestmark = pytest.mark.services

BIN = Path(sys.executable).parent
NUMBER = {"type": ["null", "number"], "multipleOf": 0.01, "x-precision": 18, "x-scale": 2}


def _messages(stream: str, properties: dict[str, Any], files: list[Path]) -> str:
    schema = {"type": "object", "properties": properties}
    out = [{"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]}]
    for n, f in enumerate(files, 1):
        encoding = {"format": "csv", "compression": "none"}
        out.append(
            {"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": [f.as_uri()]}
        )
        out.append({"type": "STATE", "value": {"p": n}})
    return "".join(json.dumps(m) + "\n" for m in out)


def test_target_postgres_csv_batch_decimals_crlf_quoted(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    f = tmp_path / "d.csv"
    f.write_bytes(
        b'id,a,t\r\n1,"1.2300",x\r\n2,-0.00,"q,""z"""\r\n3,1e2,\r\n4,,""\r\n'
        b'5,0.5,"line\r\nbreak"\r\n6,"-12.34",y\r\n7,123456e-2,z\r\n8,5,w\r\n9,1.5,v\r\n'
    )
    text = _messages(
        "t", {"id": {"type": "integer"}, "a": NUMBER, "t": {"type": ["null", "string"]}}, [f]
    )
    proc = run_target({**pg_db, "batch_keep_files": True}, text, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"p": 1' in proc.stdout or '"p":1' in proc.stdout
    rows = [tuple(r) for r in query(pg_db, "SELECT id, a, t FROM t ORDER BY id")]
    d = Decimal
    assert rows == [
        (1, d("1.23"), "x"),
        (2, d("0"), 'q,"z"'),
        (3, d("100"), None),  # an empty field is NULL
        (4, None, ""),  # a quoted one is ''
        (5, d("0.5"), "line\r\nbreak"),
        (6, d("-12.34"), "y"),
        (7, d("1234.56"), "z"),
        (8, d("5"), "w"),
        (9, d("1.5"), "v"),
    ]


def test_target_postgres_csv_refusal_across_lines_is_one_whole_line(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    f = tmp_path / "b.csv"
    f.write_bytes(b'id,a,t\r\n1,1.23,x\r\n2,"1.2\r\n39",y\r\n')
    text = _messages(
        "t", {"id": {"type": "integer"}, "a": NUMBER, "t": {"type": ["null", "string"]}}, [f]
    )
    proc = run_target({**pg_db, "batch_keep_files": True}, text, tmp_path)
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    assert f"BATCH file {f} row " in errors[0], errors[0]
    # refused by the lane's look before COPY (targets/postgres/steps.py), the text on one line
    assert "column a: '1.2\\r\\n39' is not a number a numeric(18,2) holds" in errors[0], errors[0]
    assert '"p"' not in proc.stdout


def test_target_duckdb_csv_lane_long_fraction_then_refusal_in_a_later_file(tmp_path: Path) -> None:
    def write(name: str, rows: list[tuple[int, str, str]]) -> Path:
        path = tmp_path / name
        path.write_text("id,ts,a\n" + "".join(f"{i},{ts},{a}\n" for i, ts, a in rows))
        return path

    big = [
        (i, f"2024-03-01T12:00:00.{i:06d}Z", f"{i % 1000}.{i % 100:02d}") for i in range(1, 50001)
    ]
    big[24999] = (25000, "2024-03-01T12:00:00.123456789Z", "1.00")
    plain = "2024-03-01T12:00:00Z"
    files = [
        write("f1.csv", big),
        write("f2.csv", [(i, plain, "1.25") for i in range(50001, 50011)]),
        write(
            "f3.csv", [(i, plain, "1.257" if i == 50015 else "1.25") for i in range(50011, 50021)]
        ),
        write("f4.csv", [(i, plain, "2.5") for i in range(50021, 50031)]),
    ]
    props = {
        "id": {"type": "integer"},
        "ts": {"type": ["null", "string"], "format": "date-time"},
        "a": NUMBER,
    }
    db = tmp_path / "w.duckdb"
    config = tmp_path / "t.json"
    config.write_text(json.dumps({"path": str(db), "batch_keep_files": True}))
    proc = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(config)],
        input=_messages("t", props, files),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and (
        f"BATCH file {files[2]} row 6, column a: 1.257 is not a multiple of 0.01 "
        "(the schema's multipleOf) (fix the value at the source" in errors[0]
    ), proc.stderr
    states = [json.loads(line)["p"] for line in proc.stdout.splitlines()]
    assert states and max(states) <= 2, proc.stdout  # never past the last committed file
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    assert con.sql("SELECT count(*), max(id) FROM main.t").fetchall() == [(50010, 50010)]
    assert con.sql("SELECT ts::VARCHAR FROM main.t WHERE id = 25000").fetchall() == [
        ("2024-03-01 12:00:00.123456+00",)
    ]
    assert con.sql("SELECT ts::VARCHAR FROM main.t WHERE id = 25001").fetchall() == [
        ("2024-03-01 12:00:00.025001+00",)
    ]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'id,a,t\n1,1.23,"a\nb"\n2,1.23\n', "row 3: expected 3 fields as in the header, found 2"),
        (b'id,a,t\r\n1,1.23,x\r\n2,1.5,"cut\r\n', "row 3: a quoted field is not closed"),
    ],
    ids=["fields", "quote"],
)
def test_target_duckdb_csv_file_not_parsed_says_why(tmp_path: Path, body: bytes, why: str) -> None:
    """DuckDB's csv reader says why on the lines after its first; the error line was only
    `BATCH file F: Invalid Input Error: CSV Error on Line: 3`."""
    f = tmp_path / "b.csv"
    f.write_bytes(body)
    props = {"id": {"type": "integer"}, "a": NUMBER, "t": {"type": ["null", "string"]}}
    config = tmp_path / "t.json"
    config.write_text(json.dumps({"path": str(tmp_path / "w.duckdb"), "batch_keep_files": True}))
    proc = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(config)],
        input=_messages("t", props, [f]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 65, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    assert f"BATCH file {f} {why}" in errors[0], errors[0]
    assert "fix the file" in errors[0], errors[0]
    assert '"p"' not in proc.stdout
