"""Third-party Singer connectors from PyPI, each installed by `tapwell install` into a venv of its
own and driven by the runner: a singer-sdk tap (tap-jsonl) into our target-duckdb, and our tap-csv
into a singer-sdk target (meltanolabs-target-csv). Slow (pip installs); the venvs are cached in
.tapwell/test-venvs between runs."""

from __future__ import annotations

import csv
import json
import os
from decimal import Decimal

import duckdb
import pytest
from helpers.runner_project import RUNNER_DIR

VENVS = RUNNER_DIR.parent.parent / ".tapwell" / "test-venvs"
TAP_JSONL = "tap-jsonl==0.3.1"
TARGET_CSV = "meltanolabs-target-csv==0.5.0"

pytestmark = pytest.mark.slow


def test_pypi_tap_and_target_in_their_own_venvs(proj):
    env = {"TAPWELL_VENVS": str(VENVS)}
    os.environ.update(env)  # in-process loads see the same venv folder
    data = proj.root / "data"
    data.mkdir()
    rows = [
        {"id": 1, "name": "tab\there", "amount": 1.5},
        {"id": 2, "name": "émoji 🎉\nnewline", "amount": 2},
        {"id": 3, "name": "", "amount": None},
    ]
    (data / "things.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    (data / "people.csv").write_text(
        'id,name,score\n1,Zoë,10.25\n2,"a, b",-3.5\n', encoding="utf-8"
    )
    proj.write(
        {
            "integrations": {
                "sdk_tap": {
                    "tap": {
                        "name": "tap-jsonl",
                        "pip_url": TAP_JSONL,
                        "config": {
                            "path": str(data / "things.jsonl"),
                            "stream_name": "things",
                            "primary_keys": ["id"],
                        },
                    },
                    "target": {
                        "name": "target-duckdb",
                        "config": {
                            "path": str(proj.root / "out.duckdb"),
                            "default_target_schema": "main",
                        },
                    },
                    "select": ["things", "!things._sdc_filename"],
                },
                "sdk_target": {
                    "tap": {
                        "name": "tap-csv",
                        "config": {
                            "base_dir": "data",
                            "streams": [
                                {"name": "people", "path": "people.csv", "key_properties": ["id"]}
                            ],
                        },
                    },
                    "target": {
                        "name": "target-csv",
                        "pip_url": TARGET_CSV,
                        "config": {
                            "output_path": str(proj.root / "csv-out"),
                            "file_naming_scheme": "{stream_name}.csv",
                        },
                    },
                },
            }
        }
    )
    done = proj.cli("install", env=env)
    assert done.returncode == 0, done.stderr
    assert (VENVS / "tap-jsonl" / "bin" / "tap-jsonl").exists()
    assert (VENVS / "target-csv" / "bin" / "target-csv").exists()
    assert not (VENVS / "tap-jsonl" / "bin" / "target-csv").exists()  # one venv per connector
    assert "up to date" in proj.cli("install", env=env).stderr  # the second install is a no-op

    done = proj.cli("discover", "sdk_tap", env=env)
    assert done.returncode == 0, done.stderr
    done = proj.cli("run", "sdk_tap", env=env)
    assert done.returncode == 0, done.stderr
    assert "things 3 rows" in done.stderr or "3 rows" in done.stderr
    con = duckdb.connect(str(proj.root / "out.duckdb"), read_only=True)
    got = con.execute("SELECT * FROM main.things ORDER BY id").fetchall()
    columns = [d[0] for d in con.description]
    con.close()
    assert "_sdc_filename" not in columns  # the selection reached the SDK tap through the catalog
    by_name = [dict(zip(columns, r, strict=True)) for r in got]
    assert [(r["id"], r["name"]) for r in by_name] == [
        (1, "tab\there"),
        (2, "émoji 🎉\nnewline"),
        (3, ""),
    ]
    assert [None if r["amount"] is None else Decimal(str(r["amount"])) for r in by_name] == [
        Decimal("1.5"),
        Decimal("2"),
        None,
    ]
    state = json.loads(proj.cli("state", "show", "sdk_tap", env=env).stdout)
    assert state["bookmarks"]["things"]["replication_key"] == "_sdc_last_modified"

    done = proj.cli("run", "sdk_target", env=env)
    assert done.returncode == 0, done.stderr
    with open(proj.root / "csv-out" / "people.csv", encoding="utf-8", newline="") as f:
        people = list(csv.DictReader(f))
    assert [(p["id"], p["name"], p["score"]) for p in people] == [
        ("1", "Zoë", "10.25"),
        ("2", "a, b", "-3.5"),
    ]
    runs = proj.cli("runs", env=env).stdout
    assert runs.count("succeeded") == 2
