"""target-postgres with hostile names (issue 20.2): every name is untrusted input.

Names holding `%`, `%%`, `%s`, `{}`, quotes, backslashes, semicolons, unicode or more than 63
bytes are used as stream, column, key and schema, loaded twice as a user would (a FULL_TABLE
sync with hard deletes, then the next one), and compared row by row. A `%` once went through
psycopg2's parameter formatting: stream `q%%b`'s ACTIVATE_VERSION deleted table `q%b`'s rows.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql
from tapwell.targets.postgres.ddl import shorten

pytestmark = pytest.mark.services

HOSTILE = [
    "100%",
    "disk%used",
    "q%%b",
    "%s",
    "%(x)s",
    "{}",
    "{0}x",
    'quo"te',
    "it's",
    "back\\slash",
    "semi;colon; DROP TABLE t",
    "ünïcødé 🚀",
    "a" * 70,
    "é" * 40,
]


def run(bin_path: Path, tmp_path: Path, config: dict[str, Any], messages: list[Any]) -> Any:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    text = "".join(json.dumps(m) + "\n" for m in messages)
    return subprocess.run(
        [str(bin_path / "target-postgres"), "--config", str(cfg)],
        input=text,
        capture_output=True,
        text=True,
        timeout=300,
    )


def full_table_sync(name: str, version: int, rows: list[tuple[int, str]]) -> list[Any]:
    """What a tap sends for a FULL_TABLE stream `name` whose key and value columns are also
    hostile (`name` and `name + "!"`)."""
    props = {name: {"type": "integer"}, name + "!": {"type": ["null", "string"]}}
    out: list[Any] = [
        {
            "type": "SCHEMA",
            "stream": name,
            "schema": {"type": "object", "properties": props},
            "key_properties": [name],
        },
        {"type": "ACTIVATE_VERSION", "stream": name, "version": version},
    ]
    out += [
        {"type": "RECORD", "stream": name, "version": version, "record": {name: k, name + "!": v}}
        for k, v in rows
    ]
    out.append({"type": "ACTIVATE_VERSION", "stream": name, "version": version})
    return out


def table_rows(config: dict[str, Any], schema: str, table: str, cols: list[str]) -> list[Any]:
    conn = psycopg2.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["dbname"]
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in cols),
                    sql.Identifier(schema, table),
                )
            )
            return cur.fetchall()
    finally:
        conn.close()


def test_hostile_names_as_stream_column_key_and_schema_load_exactly_twice(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    config = {
        **pg_db,
        "hard_delete": True,
        "schema_mapping": {n: {"target_schema": "s " + n} for n in HOSTILE},
    }
    first = [(1, "one %s"), (2, "two {}"), (3, "three %%")]
    second = [(1, "one %s"), (2, "two, again; %(x)s")]  # row 3 is gone from the source
    for version, rows in ((1, first), (2, second)):
        messages: list[Any] = []
        for name in HOSTILE:
            messages += full_table_sync(name, version, rows)
        messages.append({"type": "STATE", "value": {"run": version}})
        done = run(bin_path, tmp_path, config, messages)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert [json.loads(x) for x in done.stdout.splitlines()] == [{"run": version}]
        for name in HOSTILE:
            found = table_rows(
                pg_db, shorten("s " + name), shorten(name), [shorten(name), shorten(name + "!")]
            )
            assert found == rows, name


def test_stream_q_percent_percent_b_leaves_table_q_percent_b_alone(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    config = {**pg_db, "hard_delete": True}
    neighbour = [(1, "keep me"), (2, "and me")]
    done = run(bin_path, tmp_path, config, full_table_sync("q%b", 1, neighbour))
    assert done.returncode == 0, done.stderr
    for version in (5, 6):  # a later FULL_TABLE sync of stream q%%b, twice
        done = run(bin_path, tmp_path, config, full_table_sync("q%%b", version, [(7, "other")]))
        assert done.returncode == 0, done.stderr
        assert table_rows(pg_db, "public", "q%b", ["q%b", "q%b!"]) == neighbour
        assert table_rows(pg_db, "public", "q%%b", ["q%%b", "q%%b!"]) == [(7, "other")]
