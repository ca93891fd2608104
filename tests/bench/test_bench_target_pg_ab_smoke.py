"""A tiny run of the target-postgres tree-against-tree bench (300 rows of each input, this tree
twice), so `python -m bench.target_pg_ab` cannot rot: every run loads every row with the same
exact sum, and the table has a row per tree. No timing is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import target_pg_ab  # noqa: E402

pytestmark = pytest.mark.services


@pytest.mark.parametrize("variant", ["orders", "wide"])
def test_each_tree_loads_every_row(capsys, variant):  # type: ignore[no-untyped-def]
    trees = ["--tree", f"a={ROOT}", "--tree", f"b={ROOT}"]
    argv = ["--rows", "300", "--rounds", "1", "--variant", variant, *trees]
    assert target_pg_ab.main(argv) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| a |", "| b |"))]
    assert len(rows) == 2 and all("| 300|" in line for line in rows), out
