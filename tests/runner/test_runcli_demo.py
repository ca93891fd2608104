"""What a user sees of `make demo` and of `tapwell run demo`, twice each in a fresh copy of the
example project, pinned whole. The second `make demo` (11.26) printed "rows: customers 1 ..."
above a table saying +0: the table shows the rows sent beside the rows added, and one line says
why they differ. A run printed its summary twice (the runner's `[tapwell] run ... succeeded
after 1 attempt(s); rows: ...` and `tapwell: demo succeeded (run ..., 1 attempt(s), ...); N state
checkpoint(s) saved`) after a start line and a fast-lane line: now one line says the rows, the
time and where the state went; the rest is in the run log (`tapwell logs RUN_ID`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RUN_ID = re.compile(r"\d{8}T\d{12}-[0-9a-f]{6}")
SECONDS = re.compile(r"\d+\.\d\ds\b")


def example_project(folder: Path) -> Path:
    shutil.copy(ROOT / "tapwell.yml", folder / "tapwell.yml")
    shutil.copytree(ROOT / "catalogs", folder / "catalogs")
    shutil.copytree(ROOT / "sample" / "data", folder / "sample" / "data")
    return folder


def shown(argv: list[str], cwd: Path) -> tuple[list[str], list[str]]:
    """stdout's and stderr's lines, the time written 9.99s, the run id RUN, the folder DIR."""
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    def plain(text: str) -> list[str]:
        text = RUN_ID.sub("RUN", SECONDS.sub("9.99s", text.replace(str(cwd), "DIR")))
        return text.splitlines()

    return plain(done.stdout), plain(done.stderr)


def test_make_demo_twice(tmp_path):
    project = example_project(tmp_path)
    try_line = (
        "try:  .venv/bin/python -c \"import duckdb; print(duckdb.connect('warehouse/demo.duckdb')"
        ".sql('select * from shop.orders limit 5'))\""
    )
    first = shown([sys.executable, "-m", "tapwell.runner.demo"], project)
    assert first == (
        [
            "demo: tap-csv -> target-duckdb finished in 9.99s",
            "table                   rows       new      sent",
            "shop.customers           500      +500       500",
            "shop.order_items       3,724    +3,724     3,724",
            "shop.orders            1,500    +1,500     1,500",
            "DuckDB file: DIR/warehouse/demo.duckdb",
            "state:       DIR/state/demo.json",
            try_line,
        ],
        [],
    )
    second = shown([sys.executable, "-m", "tapwell.runner.demo"], project)
    assert second == (
        [
            "demo: tap-csv -> target-duckdb finished in 9.99s",
            "table                   rows       new      sent",
            "shop.customers           500        +0         1",
            "shop.order_items       3,724        +0         1",
            "shop.orders            1,500        +0         1",
            "DuckDB file: DIR/warehouse/demo.duckdb",
            "state:       DIR/state/demo.json",
            "(3 row(s) sent, 0 new: a run resumes from the saved bookmarks and sends the rows at "
            "each bookmark again (Singer's >= rule); they merge onto themselves by key)",
            try_line,
        ],
        [],
    )


def test_tapwell_run_says_one_line_per_run(tmp_path):
    project = example_project(tmp_path)
    tapwell = [str(BIN / "tapwell"), "run", "demo"]
    assert shown(tapwell, project) == (
        [],
        [
            "tapwell: demo succeeded in 9.99s: 5,724 rows (customers 500, order_items 3,724, "
            "orders 1,500), state saved to state/demo.json (run RUN)"
        ],
    )
    assert shown(tapwell, project) == (
        [],
        [
            "tapwell: demo succeeded in 9.99s: 3 rows (customers 1, order_items 1, orders 1), "
            "state saved to state/demo.json (run RUN)"
        ],
    )
    done = subprocess.run(
        [str(BIN / "tapwell"), "runs", "demo", "--limit", "1"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    run_id = RUN_ID.search(done.stdout)
    assert run_id, done.stdout
    log = subprocess.run(
        [str(BIN / "tapwell"), "logs", run_id.group()],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "resuming from saved state" in log and "fast lane: csv BATCH files through" in log
