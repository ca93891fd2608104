"""FULL_TABLE table versions from tap-csv and the light tap API (issue 20.1, the tap side): a new
version's ACTIVATE_VERSION comes only after its records, so a sync that dies halfway (or runs
without its state) never makes a target retire the rows it already holds; a stream that is really
empty says so with `"empty": true`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[2]


def write_setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """tap.json (one FULL_TABLE stream `items` from items.csv), a catalog, duckdb.json."""
    tap = tmp_path / "tap.json"
    tap.write_text(
        json.dumps(
            {
                "base_dir": str(tmp_path),
                "streams": [{"name": "items", "path": "items.csv", "key_properties": ["id"]}],
                "sample_rows": 0,
            }
        )
    )
    duck = tmp_path / "duckdb.json"
    duck.write_text(json.dumps({"path": str(tmp_path / "w.duckdb"), "default_target_schema": "s"}))
    (tmp_path / "items.csv").write_text("id,name\n1,a\n2,b\n3,c\n")
    catalog = tmp_path / "catalog.json"
    found = subprocess.run(
        [str(Path(sys.executable).parent / "tap-csv"), "--config", str(tap), "--discover"],
        capture_output=True,
        check=True,
    )
    cat = json.loads(found.stdout)
    for item in cat["streams"][0]["metadata"]:
        if item["breadcrumb"] == []:
            item["metadata"].update({"selected": True, "replication-method": "FULL_TABLE"})
    catalog.write_text(json.dumps(cat))
    return tap, catalog, duck


def pipe(tmp_path: Path, tap: Path, catalog: Path, duck: Path) -> subprocess.CompletedProcess[str]:
    """`tap-csv --config tap.json --catalog catalog.json | target-duckdb --config duckdb.json`,
    as a user types it (no --state: a first run, or a lost state)."""
    bin_dir = Path(sys.executable).parent
    line = (
        f"{bin_dir / 'tap-csv'} --config {tap} --catalog {catalog} "
        f"| {bin_dir / 'target-duckdb'} --config {duck}"
    )
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", line], capture_output=True, text=True, cwd=tmp_path
    )


def live_rows(tmp_path: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE s.items").fetchall()]
        where = " WHERE _sdc_deleted_at IS NULL" if "_sdc_deleted_at" in cols else ""
        return con.execute(f"SELECT id, name FROM s.items{where} ORDER BY id").fetchall()
    finally:
        con.close()


def test_a_full_table_sync_that_dies_halfway_keeps_the_rows_a_target_holds(tmp_path: Path):
    tap, catalog, duck = write_setup(tmp_path)
    first = pipe(tmp_path, tap, catalog, duck)
    assert first.returncode == 0, first.stderr
    assert live_rows(tmp_path) == [(1, "a"), (2, "b"), (3, "c")]

    # The same command again, now that the file's last line is malformed: the tap stops with
    # one line, and the table still holds every row it held.
    (tmp_path / "items.csv").write_text("id,name\n1,a\n2,b\n3,c,extra\n")
    second = pipe(tmp_path, tap, catalog, duck)
    assert second.returncode == 65  # bad input
    assert "items.csv line 4, stream 'items': expected 2 fields as in the header, found 3" in (
        second.stderr
    )
    assert live_rows(tmp_path) == [(1, "a"), (2, "b"), (3, "c")]

    # Fixed and run again: the new version replaces the old one (row 3 is gone from the file).
    (tmp_path / "items.csv").write_text("id,name\n1,a\n2,B\n")
    third = pipe(tmp_path, tap, catalog, duck)
    assert third.returncode == 0, third.stderr
    assert live_rows(tmp_path) == [(1, "a"), (2, "B")]


def tap_csv_messages(tap: Path, catalog: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "tap-csv"),
            "--config",
            str(tap),
            "--catalog",
            str(catalog),
        ],
        capture_output=True,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_activate_version_comes_after_the_records_and_says_when_a_stream_is_empty(tmp_path: Path):
    tap, catalog, _ = write_setup(tmp_path)
    for _ in range(2):  # a first run and the next one behave alike
        kinds = [m["type"] for m in tap_csv_messages(tap, catalog)]
        assert kinds.count("ACTIVATE_VERSION") == 1
        assert kinds.index("ACTIVATE_VERSION") > max(
            i for i, k in enumerate(kinds) if k == "RECORD"
        )
    activate = next(m for m in tap_csv_messages(tap, catalog) if m["type"] == "ACTIVATE_VERSION")
    assert "empty" not in activate

    (tmp_path / "items.csv").write_text("id,name\n")  # the source table was emptied
    messages = tap_csv_messages(tap, catalog)
    assert [m["type"] for m in messages] == [
        "SCHEMA",
        "STATE",
        "ACTIVATE_VERSION",
        "STATE",
        "STATE",
    ]
    activate = messages[2]
    assert activate == {
        "type": "ACTIVATE_VERSION",
        "stream": "items",
        "version": activate["version"],
        "empty": True,
    }


def test_a_light_api_tap_announces_versions_after_their_records(tmp_path: Path):
    rows = tmp_path / "rows.json"
    config = tmp_path / "light.json"
    config.write_text(json.dumps({"data": str(rows)}))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    cmd = [sys.executable, "-m", "helpers.light_taps", "--config", str(config)]

    def run(data: dict[str, Any]) -> list[dict[str, Any]]:
        rows.write_text(json.dumps(data))
        proc = subprocess.run(cmd, capture_output=True, env=env, check=True)
        out = [json.loads(line) for line in proc.stdout.splitlines()]
        return [m for m in out if m.get("stream") == "snapshot"]

    full = run({"snapshot": [{"id": 1, "v": "a"}, {"id": 2, "v": ""}]})
    assert [m["type"] for m in full] == ["SCHEMA", "RECORD", "RECORD", "ACTIVATE_VERSION"]
    assert "empty" not in full[-1]
    empty = run({"snapshot": []})
    assert [m["type"] for m in empty] == ["SCHEMA", "ACTIVATE_VERSION"]
    assert empty[-1]["empty"] is True
