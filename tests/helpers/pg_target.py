"""Running target-postgres as a user does (its executable, a config file, messages on stdin) and
reading back what it committed (`query`, with psycopg2), for the target-postgres test modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg2

from helpers.messages import record, schema, state, text_lines

BIN = Path(sys.executable).parent
__all__ = [
    "BIN",
    "column_types",
    "error_line",
    "messages_text",
    "query",
    "record",
    "run_target",
    "schema",
    "state",
    "stdout_states",
    "text_lines",
]


def messages_text(messages: list[Any]) -> str:
    return text_lines(*messages)


def run_target(
    config: dict[str, Any], messages: list[Any] | str, tmp_path: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`target-postgres --config config.json < messages` (a list of messages, or the input text
    itself): its exit code, stdout and stderr."""
    cfg = tmp_path / "target-config.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / "target-postgres"), "--config", str(cfg)],
        input=messages if isinstance(messages, str) else text_lines(*messages),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stdout_states(out: str) -> list[dict[str, Any]]:
    """The states a run printed on stdout, one JSON value a line."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def query(config: dict[str, Any], text: Any, params: Any = None) -> list[Any]:
    conn = psycopg2.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["dbname"]
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(text, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.commit()
        conn.close()


def column_types(config: dict[str, Any], table: str, schema_name: str = "public") -> dict[str, str]:
    rows = query(
        config,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (schema_name, table),
    )
    return dict(rows)


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed run printed (no traceback, nothing else but METRIC/warnings)."""
    assert "Traceback" not in done.stderr, done.stderr
    errors = [x for x in done.stderr.splitlines() if ": error: " in x]
    assert len(errors) == 1, done.stderr
    return errors[0]
