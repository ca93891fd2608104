"""bench.target_pg_csv_look cannot rot: a tiny run looks through the bench's file with the number
columns alone and with every checked kind, and finds nothing to refuse. No timing is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import target_pg_csv_look  # noqa: E402


def test_a_tiny_look_runs(capsys):
    assert target_pg_csv_look.main(["--rows", "2000", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "numbers: CPU s" in out and "every kind: CPU s" in out, out
