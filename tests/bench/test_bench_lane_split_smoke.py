"""bench.lane_split cannot rot: the CSV file is cut at its middle record (records 7 and 1007 of
the embedded data hold line breaks inside quotes), and a tiny split run loads what the one tap
loads, row for row. No timing is asserted."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import embedded_data, lane_split  # noqa: E402


def _records(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f, strict=True))


def test_the_halves_are_the_file_cut_at_its_middle_record(tmp_path):
    a, b = lane_split.halves(2014, tmp_path)  # the cut after record 1007, which spans lines
    whole, first, second = _records(embedded_data.csv_file(2014)), _records(a), _records(b)
    assert first[0] == second[0] == whole[0]
    assert len(first) == len(second) == 1 + 1007
    assert first[1:] + second[1:] == whole[1:]
    assert "\n" in first[-1][4]  # the last record of the first half holds a line break


def test_a_split_run_loads_what_one_tap_loads(capsys, tmp_path):
    argv = ["--rows", "2000", "--pairs", "1", "--work-dir", str(tmp_path / "work")]
    assert lane_split.main(argv) == 0
    out = capsys.readouterr().out
    runs = [line for line in out.splitlines() if line.startswith("pair 1")]
    assert len(runs) == 2 and all(line.endswith(", ok") for line in runs), out
