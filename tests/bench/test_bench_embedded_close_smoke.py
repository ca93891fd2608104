"""A tiny run of `python -m bench.embedded_close` (1,000 rows, one round), so the tool cannot
rot: each of its three ways of committing must store the source's rows exactly (it compares
them and exits 1 otherwise). No timing is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import embedded_close  # noqa: E402


def test_every_way_stores_the_rows_exactly(capsys):
    assert embedded_close.main(["--rows", "1000", "--rounds", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3, lines
    assert not [line for line in lines if "WRONG" in line]
