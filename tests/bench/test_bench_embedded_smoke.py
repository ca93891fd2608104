"""A tiny run of the embedded series (1,000 rows, our tools and the limits, no anchors), so
`make bench` cannot rot: every load must check out exactly, and a wrong load must be reported
as WRONG with exit 1. No timing is asserted; figures belong to `make bench`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import embedded  # noqa: E402

TOOLS = (
    "read_json,tapwell-upsert,tapwell-append-only,csv.reader,read_csv,tap-csv,tap-csv|target-duckdb"
)


def test_the_embedded_series_loads_exactly(capsys, tmp_path):
    argv = ["--rows", "1000", "--tools", TOOLS, "--work-dir", str(tmp_path / "work")]
    assert embedded.main([*argv, "--results-dir", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    for name in ("duckdb read_json (limit)", "tapwell target-duckdb upsert", "tapwell tap-csv"):
        line = next(x for x in out.splitlines() if name in x)
        assert line.rstrip().endswith("ok"), line


def test_a_wrong_load_is_reported(tmp_path):
    import duckdb

    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE orders ({embedded.TYPES})")
    con.close()
    assert embedded.check_duckdb(db, 10)[0] == "rows: expected 10, loaded 0"


def test_repeat_gives_each_contenders_medians(capsys, tmp_path):
    """`--repeat 2`: two rounds, each with its own table; the medians at the end; the JSON holds
    every round's results, numbered."""
    import json

    argv = ["--rows", "500", "--tools", "read_csv,tap-csv-batch|target-duckdb", "--repeat", "2"]
    argv += ["--work-dir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "results")]
    assert embedded.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("duckdb read_csv (limit)") == 3  # two tables and the medians
    medians = out[out.index("medians of 2 rounds") :].splitlines()
    mine = next(x for x in medians if "csv BATCH" in x)
    assert mine.rstrip().endswith("(2 ok)"), mine
    (saved,) = (tmp_path / "results").iterdir()
    rounds = [r["round"] for r in json.loads(saved.read_text())["results"]]
    assert rounds == [1, 1, 2, 2]
