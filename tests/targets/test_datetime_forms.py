"""Every date-time form the record check accepts (tapwell.singer.schema.DATETIME_RULE) loads with
its instant and microseconds in every target; every form it refuses is the usual one line (stream,
line, field), exit 65 and no STATE past the last commit, never a SyncError or a traceback. Before
the rule target-duckdb refused a trailing NUL or `.Z` with a general SyncError for the batch."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.tiers import services_param

BIN = Path(sys.executable).parent
ACCEPTED = [
    "2024-05-01T12:00:00Z",
    "2024-05-01T12:00:00.123456+05:30",
    "2024-05-01 12:00:00",
    "2024-05-01T12:00",
    "2024-05-01T12:00+01:00",
    "2024-05-01",
    "2024-05-01T12:00:00.5Z",
    "2024-05-01T12:00:00.1234567Z",
    "1900-01-01T00:00:00-00:19:32",
]
REFUSED = [
    "2020-01-01T00:00:00\x00",
    "2020-01-01T00:00:00.Z",
    "2020-01-01T00:00:00,5",
    "2020-01-01T00",
    "2020-01-01T0000",
    "2020-01-01T00:00:00+0530",
    "2020-01-01T00:00:00+05",
    "2020-01-01T00:00:00+05:30:15.5",
    "2020-01-01T00:00:00 Z",
    "2020-01-01T00:00:00.123456junkZ",
]
SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "key_properties": ["id"],
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ts": {"type": ["null", "string"], "format": "date-time"},
        },
    },
}
TARGETS = ["duckdb-sql", "duckdb-python", services_param("postgres", id="postgres"), "jsonl"]


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _lines(values: list[str]) -> str:
    out = [json.dumps(SCHEMA), json.dumps({"type": "STATE", "value": {"n": 0}})]
    for i, text in enumerate(values):
        record = {"id": i, "ts": text}
        out.append(json.dumps({"type": "RECORD", "stream": "t", "record": record}))
    out.append(json.dumps({"type": "STATE", "value": {"n": len(values)}}))
    return "\n".join(out) + "\n"


def _run(target: str, tmp_path: Path, pg: dict[str, Any] | None, text: str) -> Any:
    if target.startswith("duckdb"):
        name = "target-duckdb"
        config: dict[str, Any] = {"path": str(tmp_path / "w.duckdb")}
        config["raw_lines"] = target == "duckdb-sql"
    elif target == "postgres":
        name, config = "target-postgres", dict(pg or {})
    else:
        name, config = "target-jsonl", {"destination_path": str(tmp_path / "out")}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / name), "--config", str(path)],
        input=text.encode(),
        capture_output=True,
        timeout=120,
    )


def _rows(target: str, tmp_path: Path, pg: dict[str, Any] | None) -> list[tuple[Any, Any]]:
    if target.startswith("duckdb"):
        import duckdb

        with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
            return con.execute("SELECT id, ts FROM t ORDER BY id").fetchall()
    if target == "postgres":
        import psycopg2

        assert pg is not None
        keys = ("host", "port", "user", "dbname")
        with psycopg2.connect(**{k: pg[k] for k in keys}) as conn:
            cur = conn.cursor()
            cur.execute("SELECT table_schema FROM information_schema.tables WHERE table_name='t'")
            (where,) = cur.fetchone()
            cur.execute(f'SELECT id, ts FROM "{where}".t ORDER BY id')
            return cur.fetchall()
    (out,) = [p for p in (tmp_path / "out").rglob("t*.jsonl") if p.is_file()]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return [(r["id"], r["ts"]) for r in records]


@pytest.fixture
def pg(request: pytest.FixtureRequest, target: str) -> Any:
    return request.getfixturevalue("pg_db") if target == "postgres" else None


@pytest.mark.parametrize("target", TARGETS)
def test_every_accepted_form_keeps_its_instant(target: str, tmp_path: Path, pg: Any) -> None:
    proc = _run(target, tmp_path, pg, _lines(ACCEPTED))
    assert proc.returncode == 0, proc.stderr.decode()
    rows = _rows(target, tmp_path, pg)
    assert [i for i, _ in rows] == list(range(len(ACCEPTED)))
    for (i, ts), text in zip(rows, ACCEPTED, strict=True):
        cut = text.replace(".1234567", ".123456")  # more than 6 digits: cut, said once
        got = ts if isinstance(ts, datetime) else _instant(ts)
        assert got.astimezone(UTC) == _instant(cut), (target, i, text, ts)


@pytest.mark.parametrize("value", REFUSED, ids=repr)
@pytest.mark.parametrize("target", TARGETS)
def test_every_refused_form_is_one_line(target: str, value: str, tmp_path: Path, pg: Any) -> None:
    proc = _run(target, tmp_path, pg, _lines(["2024-05-01T12:00:00Z", value]))
    err = proc.stderr.decode()
    assert proc.returncode == 65, err
    assert "Traceback" not in err and "SyncError" not in err, err
    line = f"stdin line 4, stream 't', field 'ts': {value!r} is not a valid date-time string"
    assert line in err, err
    states = [json.loads(x) for x in proc.stdout.decode().splitlines() if x.strip()]
    assert states and all(s.get("value", s)["n"] == 0 for s in states), states
