"""target-postgres: two streams never share one table, and tapwell's own tables are no user's
(issue 20.3). Each scenario is what a user runs, twice where a user would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from tapwell.targets.postgres.ddl import shorten

pytestmark = pytest.mark.services


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


def full_table(stream: str, version: int, ids: range) -> list[Any]:
    """A FULL_TABLE sync of `stream` (hard deletes retire what the version did not send)."""
    props = {"id": {"type": "integer"}, "src": {"type": "string"}}
    return [
        {
            "type": "SCHEMA",
            "stream": stream,
            "schema": {"type": "object", "properties": props},
            "key_properties": ["id"],
        },
        {"type": "ACTIVATE_VERSION", "stream": stream, "version": version},
        *[
            {
                "type": "RECORD",
                "stream": stream,
                "version": version,
                "record": {"id": i, "src": stream},
            }
            for i in ids
        ],
        {"type": "ACTIVATE_VERSION", "stream": stream, "version": version},
        {"type": "STATE", "value": {"done": stream}},
    ]


def query(config: dict[str, Any], text: str) -> list[Any]:
    conn = psycopg2.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["dbname"]
    )
    try:
        with conn.cursor() as cur:
            cur.execute(text)
            return cur.fetchall() if cur.description else []
    finally:
        conn.commit()
        conn.close()


def one_error_line(done: Any) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("db1-orders", "db2-orders"),
        ("orders", "shop-orders"),
        ("o" * 70, shorten("o" * 70)),  # a 70-byte name and its 63-byte shortened form
    ],
)
def test_a_second_stream_onto_a_table_another_stream_owns_is_refused(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, first: str, second: str
) -> None:
    config = {**pg_db, "hard_delete": True}
    table = shorten(first.split("-")[-1])
    # In one run: the second stream's SCHEMA is refused before anything of it is loaded.
    done = run(
        bin_path, tmp_path, config, full_table(first, 1, range(5)) + full_table(second, 2, range(3))
    )
    assert done.returncode == 2
    line = one_error_line(done)
    assert f"{first!r}" in line and f"{second!r}" in line and "schema_mapping" in line
    assert line.startswith("target-postgres: error: streams ")
    # In later runs, each alone: the table still remembers its stream.
    for _ in range(2):
        done = run(bin_path, tmp_path, config, full_table(first, 3, range(5)))
        assert done.returncode == 0, done.stderr
        done = run(bin_path, tmp_path, config, full_table(second, 4, range(3)))
        assert done.returncode == 2 and "schema_mapping" in one_error_line(done)
    rows = query(pg_db, f'SELECT id, src FROM public."{table}" ORDER BY id')
    assert rows == [(i, first) for i in range(5)]


def test_schema_mapping_separates_the_two_streams(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    config = {**pg_db, "hard_delete": True, "schema_mapping": {"db2": {"target_schema": "db2"}}}
    for version in (1, 2):
        messages = full_table("db1-orders", version, range(5)) + full_table(
            "db2-orders", version, range(3)
        )
        done = run(bin_path, tmp_path, config, messages)
        assert done.returncode == 0, done.stderr
    assert query(pg_db, "SELECT count(*), min(src) FROM public.orders") == [(5, "db1-orders")]
    assert query(pg_db, "SELECT count(*), min(src) FROM db2.orders") == [(3, "db2-orders")]


def test_a_stream_named_like_the_state_table_is_refused(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    done = run(bin_path, tmp_path, pg_db, full_table("tapwell_state", 1, range(3)))
    assert done.returncode == 2
    line = one_error_line(done)
    assert "'tapwell_state'" in line and "state_table" in line
    assert query(pg_db, "SELECT to_regclass('public.tapwell_state')") == [(None,)]


def test_user_tables_named_like_ours_are_never_written_or_dropped(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    for name in ("_tapwell_stage", "_tapwell_state"):
        query(
            pg_db,
            f"CREATE TABLE public.{name} (note text); INSERT INTO public.{name} VALUES ('mine')",
        )
    config = {**pg_db, "default_target_schema": "raw", "state_schema": "public"}
    for version in (1, 2):  # the second run merges through the staging table
        done = run(bin_path, tmp_path, config, full_table("shop-orders", version, range(4)))
        assert done.returncode == 0, done.stderr
    assert query(pg_db, "SELECT count(*) FROM raw.orders") == [(4,)]
    for name in ("_tapwell_stage", "_tapwell_state"):
        assert query(pg_db, f"SELECT note FROM public.{name}") == [("mine",)]
    # A user's own table named tapwell_state (another shape) is never written.
    query(
        pg_db,
        "CREATE TABLE raw.tapwell_state (id int, note text); INSERT INTO raw.tapwell_state VALUES (1, 'mine')",
    )
    done = run(
        bin_path,
        tmp_path,
        {**pg_db, "default_target_schema": "raw"},
        full_table("shop-items", 1, range(2)),
    )
    assert done.returncode == 2
    assert "state_table" in one_error_line(done)
    assert query(pg_db, "SELECT id, note FROM raw.tapwell_state") == [(1, "mine")]
    assert query(pg_db, "SELECT to_regclass('raw.items')") == [(None,)]  # refused before loading
