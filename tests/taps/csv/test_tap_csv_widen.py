"""tap-csv widens an inferred decimal column instead of failing the sync: a later value with more
digits than the sample showed (`19.999` after rows of `19.99`) makes the tap send a new SCHEMA
with the wider precision and scale before the rows that need it (RECORD lines) or before the
BATCH message of the file holding them (csv lane), and go on. The targets widen the column in
place, every earlier value kept exact; a second run of the same file leaves the table as it is.
A declared precision is the user's contract and stays refused (test_tap_csv_decimals.py)."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import column_types, query
from helpers.tiers import services_param

ROWS = 3000  # 12 chunks of 250 rows; the sample is the first 100
WIDER_AT = 2000  # '19.999': three digits after the point
WIDEST_AT = 2600  # 35 digits before the point: DECIMAL(38,3)


def _amount(i: int) -> str:
    if i == WIDER_AT:
        return "19.999"
    if i == WIDEST_AT:
        return "12345678901234567890123456789012345.5"
    return "" if i % 7 == 0 else f"{i % 100}.{i % 97:02d}"


def _write(tmp_path: Path) -> list[tuple[Any, ...]]:
    lines = ["id,amt,name"] + [f"{i},{_amount(i)},n{i}" for i in range(1, ROWS + 1)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    return [(i, Decimal(_amount(i)) if _amount(i) else None, f"n{i}") for i in range(1, ROWS + 1)]


def _config(tmp_path: Path, lane: str, method: str) -> Path:
    stream: dict[str, Any] = {
        "name": "d",
        "path": str(tmp_path / "d.csv"),
        "key_properties": ["id"],
    }
    if method == "INCREMENTAL":
        stream["replication_key"] = "id"
    config: dict[str, Any] = {"streams": [stream], "sample_rows": 100}
    if lane == "csv":
        spool = tmp_path / "spool"
        spool.mkdir(exist_ok=True)
        config["batch_config"] = {
            "encoding": {"format": "csv", "compression": "none"},
            "storage": {"root": f"file://{spool}"},
            "batch_size": 500,
        }
    (tmp_path / "tap.json").write_text(json.dumps(config))
    return tmp_path / "tap.json"


def _tap(bin_path: Path, cfg: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(cfg), *args], capture_output=True, timeout=120
    )


def _messages(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in out.splitlines()]


def _digits(message: dict[str, Any]) -> tuple[int, int]:
    amt = message["schema"]["properties"]["amt"]
    return amt["x-precision"], amt["x-scale"]


# ---------------------------------------------------------------- the messages


def test_the_wider_schema_comes_before_the_first_record_that_needs_it(bin_path, tmp_path) -> None:
    _write(tmp_path)
    proc = _tap(bin_path, _config(tmp_path, "records", "FULL_TABLE"))
    assert proc.returncode == 0, proc.stderr.decode()
    messages = _messages(proc.stdout)
    schemas = [i for i, m in enumerate(messages) if m["type"] == "SCHEMA"]
    assert [_digits(messages[i]) for i in schemas] == [(18, 2), (19, 3), (38, 3)]
    first_wide = next(
        i for i, m in enumerate(messages) if m["type"] == "RECORD" and m["record"]["id"] == WIDER_AT
    )
    # at the start of the chunk (250 rows) holding it, after every record of the chunks before
    records_before = [m for m in messages[: schemas[1]] if m["type"] == "RECORD"]
    assert len(records_before) == (WIDER_AT - 1) // 250 * 250
    assert schemas[1] < first_wide
    wide = messages[schemas[1]]
    assert wide["key_properties"] == ["id"]
    assert wide["schema"]["properties"]["amt"] == {  # as the inference writes DECIMAL(19,3)
        "type": ["null", "number"],
        "multipleOf": Decimal("0.001"),
        "exclusiveMaximum": 10**16,
        "exclusiveMinimum": -(10**16),
        "x-precision": 19,
        "x-scale": 3,
    }
    assert messages[schemas[2]]["schema"]["properties"]["amt"] == {
        "type": ["null", "number"],
        "exclusiveMaximum": Decimal("1e35"),
        "exclusiveMinimum": Decimal("-1e35"),
        "x-precision": 38,
        "x-scale": 3,
    }
    widest = [m for m in messages[: schemas[2]] if m["type"] == "RECORD"]
    assert len(widest) == (WIDEST_AT - 1) // 250 * 250
    assert wide["schema"]["properties"]["id"] == messages[schemas[0]]["schema"]["properties"]["id"]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(records) == ROWS and records[WIDER_AT - 1]["amt"] == Decimal("19.999")
    err = proc.stderr.decode()
    assert "column 'amt': '19.999' needs more digits than DECIMAL(18,2)" in err, err
    assert f"d.csv data row {WIDER_AT}, stream 'd', column 'amt'" in err, err
    assert "widened to DECIMAL(19,3)" in err and "widened to DECIMAL(38,3)" in err, err
    assert err.count("widened") == 2, err


def test_the_wider_schema_comes_before_the_batch_of_the_file_holding_it(bin_path, tmp_path) -> None:
    _write(tmp_path)
    proc = _tap(bin_path, _config(tmp_path, "csv", "FULL_TABLE"))
    assert proc.returncode == 0, proc.stderr.decode()
    kinds = [
        ("SCHEMA", _digits(m)) if m["type"] == "SCHEMA" else (m["type"], None)
        for m in _messages(proc.stdout)
        if m["type"] in ("SCHEMA", "BATCH")
    ]
    # files of 500 rows: the fourth (rows 1501-2000) holds '19.999', the sixth the widest
    assert kinds == [
        ("SCHEMA", (18, 2)),
        *[("BATCH", None)] * 3,
        ("SCHEMA", (19, 3)),
        *[("BATCH", None)] * 2,
        ("SCHEMA", (38, 3)),
        ("BATCH", None),
    ]


def test_a_value_that_is_no_number_widens_the_column_to_a_string(bin_path, tmp_path):
    """In one chunk, after a value that needs more digits: the column goes straight to a string
    (test_tap_csv_widen_kinds.py), each value of the chunk as written."""
    rows = ["12.50", "3.1", "19.999", "abc"]
    (tmp_path / "d.csv").write_text("id,amt\n" + "".join(f"{i},{v}\n" for i, v in enumerate(rows)))
    stream = {"name": "d", "path": str(tmp_path / "d.csv")}
    (tmp_path / "tap.json").write_text(json.dumps({"streams": [stream], "sample_rows": 2}))
    proc = _tap(bin_path, tmp_path / "tap.json")
    err = proc.stderr.decode()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "column 'amt': '19.999' is not DECIMAL(18,2)" in err, err
    assert "widened to a string" in err, err
    messages = _messages(proc.stdout)
    assert [m["record"]["amt"] for m in messages if m["type"] == "RECORD"] == rows


def test_an_integer_column_meeting_a_fraction_widens_to_a_decimal(bin_path, tmp_path) -> None:
    (tmp_path / "d.csv").write_text("id,n\n1,1\n2,2\n3,1.5\n")
    stream = {"name": "d", "path": str(tmp_path / "d.csv")}
    (tmp_path / "tap.json").write_text(json.dumps({"streams": [stream], "sample_rows": 2}))
    proc = _tap(bin_path, tmp_path / "tap.json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "'1.5' is not a 64-bit integer" in proc.stderr.decode()
    messages = _messages(proc.stdout)
    schemas = [m["schema"]["properties"]["n"] for m in messages if m["type"] == "SCHEMA"]
    assert (schemas[1]["x-precision"], schemas[1]["x-scale"]) == (20, 1)  # BIGINT's 19 kept
    assert [m["record"]["n"] for m in messages if m["type"] == "RECORD"] == [
        1,
        2,
        Decimal("1.5"),
    ]


def test_each_file_of_a_stream_starts_from_the_wider_column(bin_path, tmp_path) -> None:
    (tmp_path / "a.csv").write_text("id,amt\n1,1.5\n2,2.25\n")
    (tmp_path / "b.csv").write_text("id,amt\n3,3.125\n4,4.5\n")
    (tmp_path / "c.csv").write_text("id,amt\n5,5.0625\n")
    stream = {"name": "d", "path": str(tmp_path / "*.csv")}
    (tmp_path / "tap.json").write_text(json.dumps({"streams": [stream], "sample_rows": 1}))
    proc = _tap(bin_path, tmp_path / "tap.json")
    assert proc.returncode == 0, proc.stderr.decode()
    messages = _messages(proc.stdout)
    assert [_digits(m) for m in messages if m["type"] == "SCHEMA"] == [
        (18, 1),
        (19, 2),  # a.csv's 2.25: the 17 digits before the point kept, 2 after
        (20, 3),  # b.csv starts from DECIMAL(19,2)
        (21, 4),
    ]
    values = [m["record"]["amt"] for m in messages if m["type"] == "RECORD"]
    assert values == [Decimal(v) for v in ("1.5", "2.25", "3.125", "4.5", "5.0625")]


# ---------------------------------------------------------------- the targets, twice


def _pg_table(pg_db: dict[str, Any]) -> tuple[str, list[tuple[Any, ...]]]:
    import psycopg2

    conn = psycopg2.connect(**{k: pg_db[k] for k in ("host", "port", "user", "dbname")})
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'd'::regclass AND attname = 'amt'"
            )
            (kind,) = cur.fetchone()
            cur.execute('SELECT "id", "amt", "name" FROM d ORDER BY id')
            return kind, cur.fetchall()
    finally:
        conn.close()


def _sync(bin_path: Path, tmp_path: Path, target: str, target_cfg: Path, cfg: Path) -> None:
    """One run, its state kept for the next (tapwell run's way: the target's last STATE)."""
    state = tmp_path / "state.json"
    tap = _tap(bin_path, cfg, *(["--state", str(state)] if state.exists() else []))
    assert tap.returncode == 0, tap.stderr.decode()
    out = subprocess.run(
        [str(bin_path / target), "--config", str(target_cfg)],
        input=tap.stdout,
        capture_output=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode()
    state.write_text(out.stdout.decode().strip().splitlines()[-1])


LANES_METHODS = [
    (lane, method) for lane in ("records", "csv") for method in ("FULL_TABLE", "INCREMENTAL")
]


@pytest.mark.parametrize(("lane", "method"), LANES_METHODS)
def test_target_duckdb_widens_in_place_and_a_rerun_keeps_it(bin_path, tmp_path, lane, method):
    expected = _write(tmp_path)
    cfg = _config(tmp_path, lane, method)
    dd = tmp_path / "dd.json"
    db = tmp_path / "w.duckdb"
    dd.write_text(json.dumps({"path": str(db)}))
    for _ in range(2):
        _sync(bin_path, tmp_path, "target-duckdb", dd, cfg)
        assert column_types(db, "d")["amt"] == "DECIMAL(38,3)"
        assert query(db, 'SELECT "id", "amt", "name" FROM d ORDER BY id') == expected


@pytest.mark.parametrize(("lane", "method"), [services_param(*lm) for lm in LANES_METHODS])
def test_target_postgres_widens_in_place_and_a_rerun_keeps_it(
    bin_path, tmp_path, lane, method, request
):
    pg_db = request.getfixturevalue("pg_db")
    expected = _write(tmp_path)
    cfg = _config(tmp_path, lane, method)
    pg = tmp_path / "pg.json"
    pg.write_text(json.dumps(pg_db))
    for _ in range(2):
        _sync(bin_path, tmp_path, "target-postgres", pg, cfg)
        assert _pg_table(pg_db) == ("numeric(38,3)", expected)


def test_past_38_digits_target_duckdb_keeps_the_column_as_text(bin_path, tmp_path) -> None:
    """DuckDB's widest DECIMAL has 38 digits: target-duckdb keeps a wider column as VARCHAR, every
    digit as written."""
    rows = [
        "12345678901234567890123456789012345.5",
        "1.25",
        "1.125",
        "123456789012345678901234567890123456.5",
    ]
    (tmp_path / "d.csv").write_text("id,amt\n" + "".join(f"{i},{v}\n" for i, v in enumerate(rows)))
    stream = {"name": "d", "path": str(tmp_path / "d.csv"), "key_properties": ["id"]}
    cfg = tmp_path / "tap.json"
    cfg.write_text(json.dumps({"streams": [stream], "sample_rows": 2}))
    dd = tmp_path / "dd.json"
    db = tmp_path / "w.duckdb"
    dd.write_text(json.dumps({"path": str(db)}))
    _sync(bin_path, tmp_path, "target-duckdb", dd, cfg)
    assert column_types(db, "d")["amt"] == "VARCHAR"
    got = query(db, 'SELECT "amt" FROM d ORDER BY id')
    assert [Decimal(v) for (v,) in got] == [Decimal(v) for v in rows]
