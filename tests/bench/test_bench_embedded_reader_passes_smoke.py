"""A tiny run of `python -m bench.embedded_reader_passes` (1,000 rows, one round), so the tool
cannot rot: every block it cuts is one the raw lane takes whole (it asserts so), and every pass
prints a figure. No timing is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import embedded_reader_passes  # noqa: E402


def test_every_pass_prints_a_figure(capsys):
    assert embedded_reader_passes.main(["--rows", "1000", "--rounds", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1,000 rows, 1 blocks of RECORD lines"), lines[0]
    names = [line.split(None, 2)[2] for line in lines[2:]]
    assert names[:3] == ["read + cut", "newline count (_blocks)", "takes_block"], names
    assert "lines_table" in names and "not taken: lines by read_csv" in names, names
    assert len(names) == 17, names
