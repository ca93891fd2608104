"""Helpers for target-duckdb's tests: Singer messages, the target run as a user runs it, and
read-only looks into the DuckDB file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb
from tapwell.singer.wire import dumps


def lines(*messages: dict[str, Any]) -> bytes:
    """Messages as JSON lines, every digit of every Decimal kept."""
    return b"".join(dumps(m) + b"\n" for m in messages)


def schema(stream: str, props: dict[str, Any], keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": props},
        "key_properties": keys if keys is not None else ["id"],
    }


def record(stream: str, rec: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": rec}
    if version is not None:
        msg["version"] = version
    return msg


def state(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def run_target(
    bin_path: Path, tmp_path: Path, data: bytes, db: Path | None = None, **config: Any
) -> subprocess.CompletedProcess[bytes]:
    """`target-duckdb --config config.json < data`, as a user types it."""
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"path": str(db or tmp_path / "w.duckdb"), **config}))
    return subprocess.run(
        [str(bin_path / "target-duckdb"), "--config", str(cfg)],
        input=data,
        capture_output=True,
        timeout=300,
    )


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def column_types(db: Path, table: str, schema: str = "main") -> dict[str, str]:
    """Column -> type as DuckDB's information_schema reports it."""
    return dict(
        query(  # type: ignore[arg-type]
            db,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        )
    )


def error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    """The one error line a failed run printed (and no traceback)."""
    err = result.stderr.decode()
    assert "Traceback" not in err, err
    return err.strip().splitlines()[-1]
