"""The second `make demo` (11.26) printed "rows: customers 1 ..." above a table saying +0: the
table now shows the rows sent beside the rows added, and one line says why they differ."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_second_demo_run_explains_the_resent_rows(tmp_path):
    shutil.copy(ROOT / "tapwell.yml", tmp_path / "tapwell.yml")
    shutil.copytree(ROOT / "catalogs", tmp_path / "catalogs")
    shutil.copytree(ROOT / "sample" / "data", tmp_path / "sample" / "data")
    outputs = []
    for _ in range(2):  # `make demo`, twice
        done = subprocess.run(
            [sys.executable, "-m", "tapwell.runner.demo"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.splitlines())
    first, second = outputs
    assert first[2:6] == [
        "table                   rows       new      sent",
        "shop.customers           500      +500       500",
        "shop.order_items       3,724    +3,724     3,724",
        "shop.orders            1,500    +1,500     1,500",
    ]
    assert not any(line.startswith("(") for line in first)
    assert second[2:6] == [
        "table                   rows       new      sent",
        "shop.customers           500        +0         1",
        "shop.order_items       3,724        +0         1",
        "shop.orders            1,500        +0         1",
    ]
    assert (
        "(3 row(s) sent, 0 new: a run resumes from the saved bookmarks and sends the rows at each "
        "bookmark again (Singer's >= rule); they merge onto themselves by key)"
    ) in second
