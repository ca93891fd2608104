"""Date-times and times with more than 6 fraction digits (.NET writes 7, Java and Go 9): every
target stores them truncated to the microsecond, never rounded into the next second, day or year,
on every path (RECORD lines, singer-sdk's jsonl BATCH, nested: tables children), and says so once
per stream and field per run (a SCHEMA sent again does not say it again).

Before: target-postgres let PostgreSQL round (`2024-12-31T23:59:59.9999999Z` stored as
2025-01-01, the time `23:59:59.9999999` as 24:00:00) and neither target said a word."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
from tapwell.sdk.tap_batch import csv_line, csv_text
from tapwell.singer.fraction_digits import FractionNotes, cut_fraction
from tapwell.singer.record_check import CheckCode

BIN = Path(sys.executable).parent
WARNING = "more than 6 fraction digits"

# id -> (ts, t): 0 to 9 fraction digits, offsets, the day rollover, a space for the T
VALUES: dict[int, tuple[str, str]] = {
    n: (
        "2024-03-01T12:34:56"
        + ("." + "123456789"[:n] if n else "")
        + ("Z", "+05:30", "-03:00")[n % 3],
        "08:09:10" + ("." + "987654321"[:n] if n else ""),
    )
    for n in range(10)
}
VALUES[10] = ("2024-12-31T23:59:59.9999999Z", "23:59:59.9999999")
VALUES[11] = ("2024-12-31 23:59:59.999999999+00:00", "23:59:59.999999999")
VALUES[12] = ("2024-06-30T23:59:59.9999995-12:00", "00:00:00.0000009")
SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "key_properties": ["id"],
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ts": {"type": ["null", "string"], "format": "date-time"},
            "t": {"type": ["null", "string"], "format": "time"},
            "ev": {
                "type": ["null", "array"],
                "items": {
                    "type": "object",
                    "properties": {
                        "n": {"type": "integer"},
                        "at": {"type": ["null", "string"], "format": "date-time"},
                        "tt": {"type": ["null", "string"], "format": "time"},
                    },
                },
            },
        },
    },
}


def record(i: int) -> dict[str, Any]:
    ts, t = VALUES[i]
    return {
        "id": i,
        "ts": ts,
        "t": t,
        "ev": [{"n": 0, "at": ts, "tt": t}, {"n": 1, "at": VALUES[10][0], "tt": VALUES[10][1]}],
    }


def expected() -> dict[int, tuple[datetime, time]]:
    """What Python reads (it truncates past microseconds: the decision)."""
    return {i: (datetime.fromisoformat(ts), time.fromisoformat(t)) for i, (ts, t) in VALUES.items()}


def messages(lane: str, tmp_path: Path) -> bytes:
    """SCHEMA, half the records, STATE, the SCHEMA again, the rest, STATE: by RECORD lines, by
    singer-sdk's jsonl BATCH files or by csv BATCH files (the targets' own fast lane)."""
    ids = sorted(VALUES)
    halves = [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
    out: list[dict[str, Any]] = []
    for n, half in enumerate(halves):
        out.append(SCHEMA)
        if lane == "record":
            out += [{"type": "RECORD", "stream": "t", "record": record(i)} for i in half]
        elif lane == "csv":  # tapwell's dialect (tapwell.sdk.tap_batch): every value quoted
            path = tmp_path / f"part{n}.csv"
            path.write_bytes(
                csv_line(["id", "ts", "t", "ev"])
                + b"".join(csv_line([csv_text(v) for v in record(i).values()]) for i in half)
            )
            out.append(
                {
                    "type": "BATCH",
                    "stream": "t",
                    "encoding": {"format": "csv", "compression": "none"},
                    "manifest": [f"file://{path}"],
                }
            )
        else:
            path = tmp_path / f"part{n}.jsonl"
            path.write_text("".join(json.dumps(record(i)) + "\n" for i in half))
            out.append(
                {
                    "type": "BATCH",
                    "stream": "t",
                    "encoding": {"format": "jsonl", "compression": "none"},
                    "manifest": [f"file://{path}"],
                }
            )
        out.append({"type": "STATE", "value": {"part": n}})
    return b"".join(json.dumps(m).encode() + b"\n" for m in out)


def load(target: str, config: dict[str, Any], data: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config, "batch_root": str(tmp_path)}))
    proc = subprocess.run(
        [str(BIN / target), "--config", str(path)], input=data, capture_output=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().splitlines()[-1] == '{"part":1}'
    return [line for line in proc.stderr.decode().splitlines() if WARNING in line]


def said(warnings: list[str]) -> list[str]:
    """The field each warning names."""
    return sorted(re.search(r"field '([^']*)'", w).group(1) for w in warnings)  # type: ignore[union-attr]


def fields_for(mode: str) -> list[str]:
    # nested: json keeps each document as it came; tables makes `ev[].at` a column
    return (
        ["t", "ts"] if mode == "json" else ["ev[1].at", "ev[1].tt", "t", "ts"]
    )  # the first: record 0's second event


def check_children(rows: list[tuple[Any, ...]]) -> None:
    want = expected()
    assert len(rows) == 2 * len(VALUES)
    for parent, n, at, tt in rows:
        assert (at, tt) == (want[parent] if n == 0 else want[10]), (parent, n, at, tt)


# ----------------------------------------------------------------------------- pure


def test_cut_fraction_truncates_the_text_past_six_digits() -> None:
    assert cut_fraction("2024-12-31T23:59:59.9999999Z", 10) == "2024-12-31T23:59:59.999999Z"
    assert cut_fraction("2024-03-01 12:34:56.123456789-03", 10) == "2024-03-01 12:34:56.123456-03"
    assert cut_fraction("2024-03-01T12:34:56.123456+05:30", 10) is None
    assert cut_fraction("2024-03-01T12:34:56Z", 10) is None
    assert cut_fraction("23:59:59,9999999") == "23:59:59,999999"
    assert cut_fraction("2024-01-01T000000.1234567", 10) == "2024-01-01T000000.123456"


def test_record_check_cuts_and_says_once_per_field() -> None:
    """The record is given the cut text; a check made again (a SCHEMA sent again) says nothing
    more."""
    lines: list[str] = []
    notes = FractionNotes(lines.append)
    records = [record(i) for i in sorted(VALUES)]
    for half in (records[:6], records[6:]):
        check = CheckCode("s", SCHEMA["schema"], ["id"], notes).compile()  # type: ignore[arg-type]
        for r in half:
            check(r, r["id"] + 1)
    assert [(r["ts"], r["t"]) for r in records] == [
        (cut_fraction(ts, 10) or ts, cut_fraction(t) or t) for ts, t in VALUES.values()
    ]
    assert lines == [
        "stdin line 8, stream 's', field 'ts': '2024-03-01T12:34:56.1234567+05:30' has 7 "
        "fraction digits; stored to the microsecond ('2024-03-01T12:34:56.123456+05:30'), as is "
        "every later value with more than 6 fraction digits in this field",
        "stdin line 8, stream 's', field 't': '08:09:10.9876543' has 7 fraction digits; "
        "stored to the microsecond ('08:09:10.987654'), as is every later value with more than 6 "
        "fraction digits in this field",
    ]


# ----------------------------------------------------------------------------- targets


@pytest.mark.parametrize(
    "mode,lane",
    [
        ("json", "record"),
        ("json", "jsonl"),
        ("json", "csv"),
        ("tables", "record"),
        ("tables", "jsonl"),
    ],
)
def test_duckdb_truncates_and_says_once(mode: str, lane: str, tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "w.duckdb"
    warnings = load(
        "target-duckdb", {"path": str(db), "nested": mode}, messages(lane, tmp_path), tmp_path
    )
    with duckdb.connect(str(db)) as con:
        rows = {i: (ts, t) for i, ts, t in con.execute("SELECT id, ts, t FROM t").fetchall()}
        if mode == "tables":
            check_children(
                con.execute('SELECT _sdc_source_key_id, n, "at", tt FROM t__ev').fetchall()
            )
    assert rows == expected()
    assert said(warnings) == fields_for(mode), warnings


@pytest.mark.services
@pytest.mark.parametrize(
    "mode,lane",
    [
        ("json", "record"),
        ("json", "jsonl"),
        ("json", "csv"),
        ("tables", "record"),
        ("tables", "jsonl"),
    ],
)
def test_postgres_truncates_and_says_once(
    mode: str, lane: str, tmp_path: Path, pg_db: dict[str, Any]
) -> None:
    import psycopg

    config = {**pg_db, "nested": mode}
    warnings = load("target-postgres", config, messages(lane, tmp_path), tmp_path)
    dsn = f"host={pg_db['host']} port={pg_db['port']} user={pg_db['user']} dbname={pg_db['dbname']}"
    with psycopg.connect(dsn) as con:
        rows = {i: (ts, t) for i, ts, t in con.execute("SELECT id, ts, t FROM t").fetchall()}
        if mode == "tables":
            check_children(
                con.execute('SELECT _sdc_source_key_id, n, "at", tt FROM t__ev').fetchall()
            )
    assert rows == expected()
    assert said(warnings) == fields_for(mode), warnings
