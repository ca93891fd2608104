"""Per-stream settings (issue 11.14, target side): `stream_settings` overrides `load_method` and
`hard_delete` for one stream, is checked like the global settings, and is listed by `--about`.
A keyless FULL_TABLE stream set to `overwrite` stays at its live size run after run while the
others keep the global behaviour."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state
from tapwell.targets.duckdb.config import SETTINGS

PROPS = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}


def full_table_run(run: int) -> bytes:
    """Two FULL_TABLE streams as a tap sends them: a keyless one and a keyed one, each with a
    new table version; rows 1 and 2 are live."""
    out = []
    for name, keys in (("events", []), ("items", ["id"])):
        out += [
            schema(name, PROPS, keys),
            {"type": "ACTIVATE_VERSION", "stream": name, "version": run},
            record(name, {"id": 1, "v": f"run {run}"}, run),
            record(name, {"id": 2, "v": f"run {run}"}, run),
            {"type": "ACTIVATE_VERSION", "stream": name, "version": run},
        ]
    return lines(*out, state({"run": run}))


def test_stream_settings_override_the_global_ones_per_stream(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    settings = {"events": {"load_method": "overwrite", "hard_delete": True}}
    for run in (1, 2, 3):
        result = run_target(
            bin_path, tmp_path, full_table_run(run), db, hard_delete=False, stream_settings=settings
        )
        assert result.returncode == 0, error_line(result)
    # events: replaced each run (overwrite) and nothing soft-deleted left behind (hard delete)
    assert query(db, "SELECT id, v FROM events ORDER BY id") == [(1, "run 3"), (2, "run 3")]
    assert "_sdc_deleted_at" not in {r[0] for r in query(db, "DESCRIBE events")}
    # items: the global settings, upsert and soft delete
    assert query(db, "SELECT id, v, _sdc_deleted_at IS NULL FROM items ORDER BY id") == [
        (1, "run 3", True),
        (2, "run 3", True),
    ]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"events": {"load_method": "merge"}},
            "config key stream_settings.events.load_method: 'merge' is not one of upsert, append-only, overwrite",
        ),
        (
            {"events": {"hard_delete": "yes"}},
            "config key stream_settings.events.hard_delete: 'yes' is not true or false",
        ),
        (
            {"events": {"load_metod": "overwrite"}},
            "config key stream_settings.events: unknown setting 'load_metod' (per-stream settings are load_method, hard_delete)",
        ),
        (
            ["events"],
            'config key stream_settings: must be an object {"<stream>": {"load_method": ..., "hard_delete": ...}}',
        ),
    ],
)
def test_bad_stream_settings_are_one_line_exit_2(bin_path, tmp_path, settings, message):
    result = run_target(bin_path, tmp_path, full_table_run(1), stream_settings=settings)
    assert result.returncode == 2
    assert error_line(result) == f"target-duckdb: error: {message}"
    assert not (tmp_path / "w.duckdb").exists() or query(
        tmp_path / "w.duckdb", "SELECT count(*) FROM information_schema.tables"
    ) == [(0,)]


def test_global_hard_delete_is_checked_too(bin_path, tmp_path):
    result = run_target(bin_path, tmp_path, full_table_run(1), hard_delete="no")
    assert result.returncode == 2
    assert (
        error_line(result)
        == "target-duckdb: error: config key hard_delete: 'no' is not true or false"
    )


def test_about_lists_stream_settings(bin_path):
    about = json.loads(
        subprocess.run(
            [str(bin_path / "target-duckdb"), "--about"], capture_output=True, check=True
        ).stdout
    )
    props = about["settings"]["properties"]
    per_stream = props["stream_settings"]["additionalProperties"]["properties"]
    assert set(per_stream) == {"load_method", "hard_delete"}
    assert per_stream["load_method"]["enum"] == ["upsert", "append-only", "overwrite"]
    assert "schema_mapping" in props


def test_readme_lists_every_setting_about_prints():
    """(tests/test_connector_settings.py checks the whole table is the generated one.)"""
    readme = (Path(__file__).resolve().parents[3] / "targets" / "duckdb" / "README.md").read_text()
    for key in SETTINGS.json_schema()["properties"]:
        assert f"| `{key}`" in readme, key


def test_a_stream_setting_left_out_or_null_is_the_global_one(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    settings = {"events": {"hard_delete": None}, "items": {"load_method": None}}
    for run in (1, 2):
        result = run_target(
            bin_path,
            tmp_path,
            full_table_run(run) + lines(record("items", {"id": 1, "v": "again"}, run)),
            db,
            load_method="append-only",
            hard_delete=True,
            stream_settings=settings,
        )
        assert result.returncode == 0, error_line(result)
    # both streams hard-delete older versions (global) and append (global: id 1 twice)
    assert query(db, "SELECT id, v FROM events ORDER BY id") == [(1, "run 2"), (2, "run 2")]
    assert query(db, "SELECT id, v FROM items ORDER BY id, v") == [
        (1, "again"),
        (1, "run 2"),
        (2, "run 2"),
    ]
