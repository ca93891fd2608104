"""bench.lane_checks cannot rot: on a tiny saved csv BATCH stream it times the whole
read-and-check statement, the statement without checks, and one without each checked column's
check (every column of the orders but its three strings). No timing is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import lane_ab, lane_checks  # noqa: E402


def test_each_checked_column_is_left_out_in_turn(capsys, tmp_path):
    lane_ab.prepare(2000, tmp_path)
    argv = ["--rows", "2000", "--file", "1", "--rounds", "1", "--work-dir", str(tmp_path)]
    assert lane_checks.main(argv) == 0
    out = capsys.readouterr().out
    names = [line.split(" min ")[0].strip() for line in out.splitlines()[1:]]
    left_out = ["id", "customer_id", "amount", "created_at", "updated_at", "is_paid"]
    assert names == ["whole", "no checks"] + [f"without {n}'s" for n in left_out], out
