"""target-postgres run as a user runs it (config file, text on stdin) and read back with psycopg2:
the helpers of tests/targets/postgres/ (text in, `query(config, sql)` out).
helpers.pg_target holds a near copy for the newer modules (merging them is left for later)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg2


def schema(stream: str, props: dict[str, Any], keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": props},
        "key_properties": keys or [],
    }


def record(stream: str, rec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": rec, **extra}


def state(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def lines(*messages: Any) -> str:
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


def run_target(
    bin_path: Path, tmp_path: Path, config: dict[str, Any], text: str
) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run(
        [str(bin_path / "target-postgres"), "--config", str(cfg)],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )


def query(config: dict[str, Any], sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["dbname"]
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def column_types(config: dict[str, Any], table: str, schema_name: str = "public") -> dict[str, str]:
    rows = query(
        config,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum",
        (schema_name, table),
    )
    return dict(rows)


def stdout_states(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]
