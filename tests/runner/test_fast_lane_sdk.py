"""The fast lane with singer-sdk (from PyPI) on the other side: a singer-sdk tap's BATCH (jsonl,
gzip) loads into target-postgres and target-duckdb exactly as its RECORD lines do, and tap-mysql's
jsonl BATCH feeds a singer-sdk target the records its RECORD lines give (row by row). The SDK
connectors are tests/runner/sdk_connectors.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.batch_lane import EDGE_DDL, EDGE_ROWS, batch_config
from helpers.mysql_tap import discover, select, sql, write_json
from helpers.pg_target import query

pytest.importorskip("singer_sdk")
pytestmark = pytest.mark.services

SDK = [sys.executable, str(Path(__file__).resolve().parent / "sdk_connectors.py")]
BIN = Path(sys.executable).parent


def _sdk_tap(tmp: Path, config: dict[str, Any]) -> bytes:
    done = subprocess.run(
        [*SDK, "tap", "--config", str(write_json(tmp / "sdk-tap.json", config))],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def _target(tmp: Path, exe: list[str], config: dict[str, Any], data: bytes, name: str) -> None:
    done = subprocess.run(
        [*exe, "--config", str(write_json(tmp / f"{name}.json", config))],
        input=data,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.parametrize("target", ["target-postgres", "target-duckdb"])
def test_sdk_tap_batch_loads_as_its_records(
    pg_db: dict[str, Any], tmp_path: Path, target: str
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    plain = _sdk_tap(tmp_path, {})
    lane = _sdk_tap(
        tmp_path,
        {
            "batch_config": {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": f"file://{spool}"},
            }
        },
    )
    assert b'"type":"BATCH"' in lane and b'"type":"RECORD"' not in lane
    if target == "target-postgres":
        _target(
            tmp_path, [str(BIN / target)], {**pg_db, "default_target_schema": "rec"}, plain, "r"
        )
        _target(
            tmp_path, [str(BIN / target)], {**pg_db, "default_target_schema": "lane"}, lane, "l"
        )

        def rows(schema: str) -> list[Any]:
            return query(pg_db, f"SELECT id, name, amount, at FROM {schema}.things ORDER BY id")

        want, got = rows("rec"), rows("lane")
    else:
        import duckdb

        paths = {n: tmp_path / f"{n}.duckdb" for n in ("rec", "lane")}
        _target(tmp_path, [str(BIN / target)], {"path": str(paths["rec"])}, plain, "r")
        _target(tmp_path, [str(BIN / target)], {"path": str(paths["lane"])}, lane, "l")

        def rows(schema: str) -> list[Any]:
            con = duckdb.connect(str(paths[schema]), read_only=True)
            try:
                q = 'SELECT id, name, amount, "at" FROM things ORDER BY id'
                return con.execute(q).fetchall()
            finally:
                con.close()

        want, got = rows("rec"), rows("lane")
    assert len(want) == 4 and got == want
    assert want[2][1] == "" and want[3][1] is None  # '' and NULL kept apart


def test_tap_mysql_jsonl_batch_feeds_an_sdk_target(
    mysql_db: dict[str, Any], tmp_path: Path
) -> None:
    sql(mysql_db, EDGE_DDL, *EDGE_ROWS)
    cat = select(discover(BIN, tmp_path, mysql_db), "edge")
    spool = tmp_path / "spool"
    spool.mkdir()
    outs = {}
    for name, cfg in (
        ("rec", mysql_db),
        ("lane", {**mysql_db, "batch_config": batch_config(spool, "jsonl", "gzip")}),
    ):
        tap = subprocess.run(
            [
                str(BIN / "tap-mysql"),
                "--config",
                str(write_json(tmp_path / f"tap-{name}.json", cfg)),
                "--catalog",
                str(write_json(tmp_path / "cat.json", cat)),
            ],
            capture_output=True,
            timeout=120,
        )
        assert tap.returncode == 0, tap.stderr.decode()
        assert (b'"type":"BATCH"' in tap.stdout) == (name == "lane")
        out = tmp_path / f"{name}.jsonl"
        _target(tmp_path, [*SDK, "target"], {"out": str(out)}, tap.stdout, f"t-{name}")
        outs[name] = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(outs["rec"]) == len(EDGE_ROWS)
    assert [_iso(r) for r in outs["lane"]] == [_iso(r) for r in outs["rec"]]


def _iso(line: dict[str, Any]) -> dict[str, Any]:
    """The SDK hands RECORD lines' date-times over parsed (datetime, printed with a space) and
    BATCH files' as their text (with a T): the same instant, written one way here."""
    import re

    stamp = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:)")
    rec = {
        k: stamp.sub(r"\1T\2", v) if isinstance(v, str) else v for k, v in line["record"].items()
    }
    return {**line, "record": rec}
