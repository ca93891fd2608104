"""A connector with pip_url that `tapwell install` has not installed yet: one line naming the
integration to install, for a run, a fan-out, a mapper and `tapwell discover`."""

from __future__ import annotations

from typing import Any

import pytest
from helpers.runner_project import Proj

MISSING_TAP = {"name": "tap-nowhere", "pip_url": "tap-nowhere==1.0", "config": {}}
JSONL = {"name": "target-jsonl", "config": {"destination_path": "out"}}
DUCKDB = {"name": "target-duckdb", "config": {"path": "w.duckdb"}}
CSV_TAP = {"name": "tap-csv", "config": {"files": []}}
MISSING_MAPPER = {"name": "mapper-nowhere", "pip_url": "mapper-nowhere==1.0", "config": {}}


@pytest.mark.parametrize(
    "integration,args",
    [
        ({"tap": MISSING_TAP, "target": JSONL}, ("run", "shop")),
        ({"tap": MISSING_TAP, "targets": [JSONL, DUCKDB]}, ("run", "shop")),
        ({"tap": CSV_TAP, "target": JSONL, "mappers": [MISSING_MAPPER]}, ("run", "shop")),
        ({"tap": MISSING_TAP, "target": JSONL}, ("discover", "shop")),
    ],
    ids=["run", "fan-out", "mapper", "discover"],
)
def test_the_fix_names_the_integration(tmp_path, integration: dict[str, Any], args) -> None:
    proj = Proj(tmp_path).write({"integrations": {"shop": integration}})
    (tmp_path / "catalogs").mkdir()
    # one stream (no metadata: selected), so a run gets as far as starting its connectors
    (tmp_path / "catalogs" / "shop.json").write_text(
        '{"streams": [{"tap_stream_id": "t", "stream": "t", '
        '"schema": {"type": "object", "properties": {}}, "metadata": []}]}'
    )
    done = proj.cli(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = done.stderr.strip().splitlines()[-1]
    assert "nowhere' is not installed in " in line, line
    assert ": run `tapwell install shop`" in line, line
