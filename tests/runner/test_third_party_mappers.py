"""Mappers with connectors from elsewhere, each installed from PyPI by `tapwell install` into a
venv of its own: Meltano's meltano-map-transform under `mappers:` between our tap-csv and our
target-duckdb, and our mapper (`transform:`) between a singer-sdk tap (tap-jsonl) and a
singer-io target (target-jsonl, on singer-python). Every row is compared with its source. Slow
(pip installs); the venvs are cached in .tapwell/test-venvs between runs, beside
test_third_party.py's."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from decimal import Decimal

import duckdb
import pytest
from helpers.runner_project import RUNNER_DIR

VENVS = RUNNER_DIR.parent.parent / ".tapwell" / "test-venvs"
MAP_TRANSFORM = "meltano-map-transform==0.12.3"
TAP_JSONL = "tap-jsonl==0.3.1"
SINGER_IO_TARGET = "target-jsonl==0.1.4"  # singer-io style, on singer-python
HASH_KEY = "k3y-not-in-any-output"

pytestmark = pytest.mark.slow

PEOPLE = [
    ("1", "Zoë", "zoe@example.com", "10.25"),
    ("2", "a, b", "ab@example.com", "-3.50"),
    ("3", "émoji 🎉", "", "0"),
    ("4", 'quote "q"', "q@example.com", "12345678901234567890.125"),
]
THINGS = [
    {"id": 1, "email": "a@b.c", "name": "tab\there", "amount": 1.5},
    {"id": 2, "email": "ü@b.c", "name": "émoji 🎉\nnewline", "amount": 2},
    {"id": 3, "email": None, "name": "", "amount": None},
    {"id": 4, "email": "d@b.c", "name": None, "amount": -0.25},
]


def _csv(rows: list[tuple[str, ...]]) -> str:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v

    return "id,name,email,score\n" + "".join(",".join(map(cell, r)) + "\n" for r in rows)


def test_pypi_mapper_and_our_mapper_between_third_party_connectors(proj):
    env = {"TAPWELL_VENVS": str(VENVS)}
    os.environ.update(env)
    data = proj.root / "data"
    data.mkdir()
    (data / "people.csv").write_text(_csv(PEOPLE), encoding="utf-8")
    (data / "things.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in THINGS), encoding="utf-8"
    )
    proj.write(
        {
            "integrations": {
                "meltano_mapper": {
                    "tap": {
                        "name": "tap-csv",
                        "config": {
                            "base_dir": "data",
                            "streams": [
                                {"name": "people", "path": "people.csv", "key_properties": ["id"]}
                            ],
                        },
                    },
                    "mappers": [
                        {
                            "name": "meltano-map-transform",
                            "pip_url": MAP_TRANSFORM,
                            "config": {
                                "stream_maps": {"people": {"email": "md5(email)", "score": None}}
                            },
                        }
                    ],
                    "target": {
                        "name": "target-duckdb",
                        "config": {
                            "path": str(proj.root / "out.duckdb"),
                            "default_target_schema": "main",
                        },
                    },
                },
                "our_mapper": {
                    "tap": {
                        "name": "tap-jsonl",
                        "pip_url": TAP_JSONL,
                        "config": {
                            "path": str(data / "things.jsonl"),
                            "stream_name": "things",
                            "primary_keys": ["id"],
                        },
                    },
                    "transform": {
                        "stream_maps": {"things": {"email": "hmac_sha256(email)"}},
                        "stream_map_config": {"hash_key": HASH_KEY},
                    },
                    "target": {
                        "name": "target-jsonl",
                        "pip_url": SINGER_IO_TARGET,
                        "config": {
                            "destination_path": str(proj.root / "jsonl-out"),
                            "do_timestamp_file": False,
                        },
                    },
                },
            }
        }
    )
    done = proj.cli("install", env=env)
    assert done.returncode == 0, done.stderr
    assert (VENVS / "meltano-map-transform" / "bin" / "meltano-map-transform").exists()
    assert (VENVS / "target-jsonl" / "bin" / "target-jsonl").exists()

    # Meltano's mapper between our tap and our target
    done = proj.cli("run", "meltano_mapper", env=env)
    assert done.returncode == 0, done.stderr
    run_id = done.stderr.rstrip().rsplit("(run ", 1)[1].rstrip(")")  # the one success line's
    run_log = proj.cli("logs", run_id, env=env).stdout  # the pipeline is said in the run log
    assert "tap-csv | meltano-map-transform | target-duckdb" in run_log
    con = duckdb.connect(str(proj.root / "out.duckdb"), read_only=True)
    got = con.execute("SELECT * FROM main.people ORDER BY id").fetchall()
    columns = [d[0] for d in con.description]
    con.close()
    assert "score" not in columns  # dropped by the map
    rows = [dict(zip(columns, r, strict=True)) for r in got]
    got_rows = [(str(r["id"]), r["name"], r["email"]) for r in rows]
    assert got_rows == [
        (i, name, hashlib.md5(email.encode()).hexdigest()) for i, name, email, _ in PEOPLE
    ]

    # our mapper between a singer-sdk tap and a singer-io target
    done = proj.cli("run", "our_mapper", env=env)
    assert done.returncode == 0, done.stderr
    out = (proj.root / "jsonl-out" / "things.jsonl").read_text(encoding="utf-8")
    loaded = [json.loads(line, parse_float=Decimal) for line in out.splitlines()]
    key = HASH_KEY.encode()
    assert [(r["id"], r["email"], r["name"], r["amount"]) for r in loaded] == [
        (
            t["id"],
            None
            if t["email"] is None
            else hmac.new(key, t["email"].encode(), hashlib.sha256).hexdigest(),
            t["name"],
            None if t["amount"] is None else Decimal(str(t["amount"])),
        )
        for t in THINGS
    ]
    logs = proj.cli("logs", proj.cli("runs", "our_mapper").stdout.splitlines()[1].split()[0])
    for text in (out, logs.stdout, done.stderr):
        assert HASH_KEY not in text
        assert all(t["email"] is None or t["email"] not in text for t in THINGS)
