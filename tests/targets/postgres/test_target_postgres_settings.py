"""target-postgres's per-stream settings (issue 11.14): `stream_settings` overrides load_method
and hard_delete for one stream, checked, shown by --about; run as a user runs, three times."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import BIN, error_line, query, run_target

pytestmark = pytest.mark.services


def full_table(stream: str, version: int, ids: list[int], keys: list[str]) -> list[Any]:
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    return [
        {
            "type": "SCHEMA",
            "stream": stream,
            "schema": {"type": "object", "properties": props},
            "key_properties": keys,
        },
        {"type": "ACTIVATE_VERSION", "stream": stream, "version": version},
        *[
            {
                "type": "RECORD",
                "stream": stream,
                "version": version,
                "record": {"id": i, "v": f"{i}"},
            }
            for i in ids
        ],
        {"type": "ACTIVATE_VERSION", "stream": stream, "version": version},
    ]


def test_stream_settings_override_the_globals_for_their_stream_only(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    config = {
        **pg_db,
        "load_method": "upsert",
        "hard_delete": False,
        "stream_settings": {
            "shop-events": {"load_method": "append-only"},
            "shop-lookup": {"hard_delete": True},
            "shop-nokey": {"load_method": "overwrite"},
        },
    }
    for run in range(1, 4):
        ids = [1, 2, 3] if run < 3 else [1, 2]  # the source lost row 3 before the third run
        messages = []
        for stream in ("shop-orders", "shop-events", "shop-lookup"):
            messages += full_table(stream, run, ids, ["id"])
        messages += full_table("shop-nokey", run, ids, [])
        messages.append({"type": "STATE", "value": {"run": run}})
        done = run_target(config, messages, tmp_path)
        assert done.returncode == 0, done.stderr
    # the globals: upsert, soft delete
    assert query(pg_db, "SELECT id, _sdc_deleted_at IS NULL FROM orders ORDER BY id") == [
        (1, True),
        (2, True),
        (3, False),
    ]
    # append-only: every run's rows (3 + 3 + 2), older versions soft-deleted
    assert query(
        pg_db, "SELECT count(*), count(*) FILTER (WHERE _sdc_deleted_at IS NULL) FROM events"
    ) == [(8, 2)]
    # hard_delete: the row the source lost is gone
    assert query(pg_db, "SELECT id FROM lookup ORDER BY id") == [(1,), (2,)]
    # a keyless FULL_TABLE stream with overwrite stays the size of its source
    assert query(pg_db, "SELECT count(*) FROM nokey") == [(2,)]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"s": {"load_method": "merge"}}, "stream_settings.s.load_method: 'merge' is not one of"),
        (
            {"s": {"hard_delete": "maybe"}},
            "stream_settings.s.hard_delete: 'maybe' is not true or false",
        ),
        (
            {"s": {"batch_size_rows": 5}},
            "stream_settings.s: batch_size_rows cannot be set per stream",
        ),
        ({"s": "append-only"}, "stream_settings.s must be an object"),
        (["s"], "stream_settings must be an object"),
    ],
)
def test_bad_stream_settings_are_one_config_error_line(
    pg_db: dict[str, Any], tmp_path: Path, settings: Any, named: str
) -> None:
    done = run_target(
        {**pg_db, "stream_settings": settings}, full_table("s", 1, [1], ["id"]), tmp_path
    )
    assert done.returncode == 2
    assert error_line(done).startswith(f"target-postgres: error: config key {named}")
    assert query(pg_db, "SELECT to_regclass('public.s')") == [(None,)]


def test_about_lists_stream_settings() -> None:
    done = subprocess.run(
        [str(BIN / "target-postgres"), "--about"], capture_output=True, text=True, check=True
    )
    settings = json.loads(done.stdout)["settings"]["properties"]
    entry = settings["stream_settings"]["additionalProperties"]["properties"]
    assert set(entry) == {"load_method", "hard_delete"}
    assert {"nul_characters", "lock_timeout", "statement_timeout"} <= set(settings)
