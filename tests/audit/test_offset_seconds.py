"""Date-times whose UTC offset has seconds (historical LMT zones: Europe/Amsterdam before 1937 is
+00:19:32) keep their instant end to end (csvfix, 2026-12-06). orjson writes an offset in hours
and minutes only: +05:30:15 became +05:30 and +00:19:32 became +00:20 (15 s and 28 s moved,
silently). The writers now write such a value in UTC; the targets read the full offset."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from tapwell.singer.wire import dumps

BIN = Path(sys.executable).parent

TEXTS = [
    "2020-01-01T00:00:00+05:30:15",
    "1900-01-01T00:00:00.5+00:19:32",
    "1900-01-01T00:00:00-00:19:32",
    "1900-01-01T00:00:00+00:19:32.250000",
    "2020-06-01T12:00:00+02:00",
]
INSTANTS = [datetime.fromisoformat(t) for t in TEXTS]
# What the targets read: offsets in whole seconds (RFC 3339 has none: an offset with seconds is
# what other writers make of an LMT zone, and PostgreSQL, DuckDB and Python read it).
TARGET_TEXTS = [t for t in TEXTS if ":32.25" not in t]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_dumps_keeps_the_instant_of_an_offset_with_seconds() -> None:
    for value in INSTANTS:
        written = json.loads(dumps({"at": value}))["at"]
        assert _instant(written) == value, (value, written)
    plain = datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert dumps(plain) == b'"2020-01-01T00:00:00+05:30"'  # the usual offset as before
    assert dumps(datetime(2020, 1, 1)) == b'"2020-01-01T00:00:00+00:00"'


def _tap_csv(tmp_path: Path, rows: list[str], **stream: Any) -> list[dict[str, Any]]:
    (tmp_path / "t.csv").write_text("id,ts\n" + "".join(f"{i},{t}\n" for i, t in enumerate(rows)))
    config = tmp_path / "tap.json"
    extra = stream.pop("config", {})
    config.write_text(
        json.dumps(
            {
                "base_dir": str(tmp_path),
                "streams": [{"name": "t", "path": "t.csv", "key_properties": ["id"], **stream}],
                **extra,
            }
        )
    )
    out = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(config)], capture_output=True, timeout=60, check=True
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize(
    "stream",
    [
        {},  # the chunked renderer, values not in orjson's shape
        {"null_values": ["NULL"]},  # ... with a null among them
        {"replication_key": "ts"},  # the key's Python values
    ],
    ids=["plain", "nulls", "key"],
)
def test_tap_csv_keeps_the_instant(tmp_path: Path, stream: dict[str, Any]) -> None:
    rows = TEXTS + ["NULL"] if stream.get("null_values") else TEXTS
    messages = _tap_csv(tmp_path, rows, **stream)
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    for text, record in zip(TEXTS, records, strict=False):
        assert _instant(record["ts"]) == _instant(text), (text, record)
    if "replication_key" in stream:
        state = [m for m in messages if m["type"] == "STATE"][-1]["value"]
        top = state["bookmarks"]["t"]["replication_key_value"]
        assert _instant(top) == max(INSTANTS)


def test_tap_csv_batch_files_keep_the_instant(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    batch = {"encoding": {"format": "csv"}, "storage": {"root": (tmp_path / "b").as_uri()}}
    messages = _tap_csv(tmp_path, TEXTS, config={"batch_config": batch})
    (manifest,) = [m["manifest"] for m in messages if m["type"] == "BATCH"]
    lines = Path(manifest[0].removeprefix("file://")).read_text().splitlines()[1:]
    assert len(lines) == len(TEXTS)
    for text, line in zip(TEXTS, lines, strict=True):
        assert _instant(line.split(",", 1)[1]) == _instant(text), (text, line)


SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "key_properties": ["id"],
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ts": {"type": ["null", "string"], "format": "date-time"},
            "doc": {
                "type": ["null", "object"],
                "properties": {"at": {"type": ["null", "string"], "format": "date-time"}},
            },
        },
    },
}


def _messages() -> str:
    lines = [json.dumps(SCHEMA)]
    for i, text in enumerate(TARGET_TEXTS):
        record = {"id": i, "ts": text, "doc": {"at": text}}
        lines.append(json.dumps({"type": "RECORD", "stream": "t", "record": record}))
    lines.append(json.dumps({"type": "STATE", "value": {"done": True}}))
    return "\n".join(lines) + "\n"


def _load(target: str, config: dict[str, Any], messages: str, tmp_path: Path) -> None:
    path = tmp_path / f"{target}.json"
    path.write_text(json.dumps(config))
    proc = subprocess.run(
        [str(BIN / target), "--config", str(path)],
        input=messages.encode(),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()


def _check_rows(rows: list[tuple[Any, ...]]) -> None:
    """(id, ts, the document's at) per row, ts an aware datetime, `at` text or datetime."""
    assert len(rows) == len(TARGET_TEXTS)
    for (i, ts, at), text in zip(rows, TARGET_TEXTS, strict=True):
        assert ts.astimezone(UTC) == _instant(text), (i, text, ts)
        at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        assert at.astimezone(UTC) == _instant(text), (i, text, at)


@pytest.mark.parametrize("raw_lines", [True, False], ids=["sql", "python"])
@pytest.mark.parametrize("nested", ["json", "tables"])
def test_target_duckdb_reads_offsets_with_seconds(
    tmp_path: Path, raw_lines: bool, nested: str
) -> None:
    import duckdb

    db = tmp_path / "w.duckdb"
    _load(
        "target-duckdb",
        {"path": str(db), "raw_lines": raw_lines, "nested": nested},
        _messages(),
        tmp_path,
    )
    with duckdb.connect(str(db)) as con:
        at = "doc->>'at'" if nested == "json" else "doc__at"
        rows = con.execute(f"SELECT id, ts, {at} FROM t ORDER BY id").fetchall()
    _check_rows(rows)


def test_target_duckdb_csv_batch_reads_offsets_with_seconds(tmp_path: Path) -> None:
    import duckdb

    batch = tmp_path / "t.csv"
    batch.write_text(
        '"id","ts"\n' + "".join(f"{i},{t}\n" for i, t in enumerate(TARGET_TEXTS)), encoding="utf-8"
    )
    schema = {
        **SCHEMA,
        "schema": {
            **SCHEMA["schema"],
            "properties": {
                "id": {"type": "integer"},
                "ts": {"type": ["null", "string"], "format": "date-time"},
            },
        },
    }
    message = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": [batch.as_uri()],
    }
    db = tmp_path / "w.duckdb"
    text = json.dumps(schema) + "\n" + json.dumps(message) + "\n"
    _load("target-duckdb", {"path": str(db)}, text, tmp_path)
    with duckdb.connect(str(db)) as con:
        rows = con.execute("SELECT id, ts, ts FROM t ORDER BY id").fetchall()
    _check_rows(rows)


@pytest.mark.parametrize("nested", ["json", "tables"])
def test_target_postgres_reads_offsets_with_seconds(
    tmp_path: Path, pg_db: dict[str, Any], nested: str
) -> None:
    import psycopg2

    _load("target-postgres", {**pg_db, "nested": nested}, _messages(), tmp_path)
    at = "doc->>'at'" if nested == "json" else "doc__at"
    with psycopg2.connect(**{k: pg_db[k] for k in ("host", "port", "user", "dbname")}) as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_schema FROM information_schema.tables WHERE table_name = 't'")
        (schema,) = cur.fetchone()
        cur.execute(f'SELECT id, ts, {at} FROM "{schema}".t ORDER BY id')
        rows = cur.fetchall()
    _check_rows(rows)
