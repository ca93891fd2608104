"""The csv lane's benches cannot rot: bench.lane_scale runs at two tiny row counts, the pass-through
probe tells a field both loads read alike from one they do not, and bench.embedded's load check
leaves the harness without DuckDB (a child's peak RSS starts from its parent's, so a harness that
read the table in process showed its own ~100 MB as every later contender's). No timing is
asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import csv_pass_probe, lane_scale  # noqa: E402

CHECK_IN_HARNESS = """
import sys
from pathlib import Path
from bench import embedded
print(embedded.check_duckdb(Path(sys.argv[1]), 10))
print("duckdb" in sys.modules)
"""


def test_the_load_check_runs_outside_the_harness(tmp_path):
    import duckdb

    from bench import embedded

    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE orders ({embedded.TYPES})")
    con.close()
    done = subprocess.run(
        [sys.executable, "-c", CHECK_IN_HARNESS, str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    wrong, imported = done.stdout.splitlines()
    assert wrong.startswith("['rows: expected 10, loaded 0'")
    assert imported == "False"


def test_lane_scale_gives_each_count_and_the_step_between(capsys, tmp_path):
    argv = ["--rows", "500", "1000", "--rounds", "1", "--work-dir", str(tmp_path / "work")]
    assert lane_scale.main(argv) == 0
    out = capsys.readouterr().out
    assert "500 rows: tap median" in out
    assert "1000 rows: tap median" in out and "per row since 500: tap" in out


def test_the_probe_tells_a_field_read_alike_from_one_that_is_not(tmp_path):
    same = csv_pass_probe.probe(("int", csv_pass_probe.INT, [], "12"), tmp_path / "a")
    assert same == ("[('12',)]", "[('12',)]")
    tap, passed = csv_pass_probe.probe(("bool", csv_pass_probe.BOOL, [], "yes"), tmp_path / "b")
    assert tap == "[('true',)]"
    assert passed.startswith("refused: ") and "'yes' is not true or false" in passed
    # Python's csv reader gives the unquoted empty field as '', the csv dialect NULL
    empty = csv_pass_probe.probe(("string", csv_pass_probe.TEXT, [], ""), tmp_path / "c")
    assert empty == ("[('',)]", "[(None,)]")
