"""Helpers for tap-mysql's integration tests: run SQL on the test database, run the tap as a
subprocess and read its messages back exactly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tapwell.wire import loads


def sql(cfg: dict[str, Any], *statements: str, db: str | None = None) -> list[tuple[Any, ...]]:
    """Run statements in the test database (autocommit); returns the last one's rows."""
    import MySQLdb

    conn = MySQLdb.connect(
        host=cfg["host"],
        port=cfg["port"],
        user=cfg["user"],
        passwd=cfg["password"],
        db=db or cfg["database"],
        charset="utf8mb4",
        autocommit=True,
    )
    rows: list[tuple[Any, ...]] = []
    try:
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        for s in statements:
            cur.execute(s)
            rows = list(cur.fetchall() or [])
    finally:
        conn.close()
    return rows


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def run_tap(
    bin_path: Path,
    tmp: Path,
    config: dict[str, Any],
    *,
    catalog: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    discover: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    args = [str(bin_path / "tap-mysql"), "--config", str(write_json(tmp / "config.json", config))]
    if discover:
        args.append("--discover")
    if catalog is not None:
        args += ["--catalog", str(write_json(tmp / "catalog.json", catalog))]
    if state is not None:
        args += ["--state", str(write_json(tmp / "state.json", state))]
    return subprocess.run(args, capture_output=True, timeout=300)


def messages(out: bytes) -> list[dict[str, Any]]:
    return [loads(line) for line in out.splitlines() if line.strip()]


def records(msgs: list[dict[str, Any]], stream: str | None = None) -> list[dict[str, Any]]:
    return [
        m["record"]
        for m in msgs
        if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
    ]


def states(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["value"] for m in msgs if m["type"] == "STATE"]


def discover(bin_path: Path, tmp: Path, config: dict[str, Any]) -> dict[str, Any]:
    proc = run_tap(bin_path, tmp, config, discover=True)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def select(
    catalog: dict[str, Any],
    table: str,
    method: str = "FULL_TABLE",
    replication_key: str | None = None,
) -> dict[str, Any]:
    """The catalog with only `table` selected, with the given replication method."""
    out = {"streams": []}
    for stream in catalog["streams"]:
        if stream["stream"] != table:
            continue
        for item in stream["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
                item["metadata"]["replication-method"] = method
                if replication_key:
                    item["metadata"]["replication-key"] = replication_key
        out["streams"].append(stream)
    assert out["streams"], f"table {table} not discovered"
    return out


def stream_entry(catalog: dict[str, Any], table: str) -> dict[str, Any]:
    return next(s for s in catalog["streams"] if s["stream"] == table)


def root_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    return next(i["metadata"] for i in entry["metadata"] if i["breadcrumb"] == [])
