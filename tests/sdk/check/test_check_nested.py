"""`tapwell check target` with the nested case (issue 17): target-duckdb with `nested: tables`
conforms, and `--verify` reads its child tables back, so a wrong child row is reported."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from tapwell.sdk.check import Verifier, check_target, destination
from tapwell.sdk.check.report import Report
from tapwell.sdk.check.suite import CASES, prepare
from tapwell.sdk.check.target_check import _run_case


def test_nested_tables_conform_read_back(bin_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "check.duckdb"
    config = tmp_path / "duckdb.json"
    config.write_text(json.dumps({"path": str(db), "nested": "tables"}))
    report = check_target(
        [str(bin_path / "target-duckdb"), "--config", str(config)],
        verify=Verifier(destination(f"duckdb:{db}:main")),
    )
    assert report.ok, report.to_text()


def test_read_back_of_child_tables_catches_a_wrong_child_row(
    bin_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "check.duckdb"
    config = tmp_path / "duckdb.json"
    config.write_text(json.dumps({"path": str(db), "nested": "tables"}))
    prepared = prepare(next(c for c in CASES if c.name == "nested"))
    outcome, _ = _run_case([str(bin_path / "target-duckdb"), "--config", str(config)], prepared, 60)
    assert outcome.returncode == 0, outcome.stderr
    table = prepared.streams["tw_nested"]
    con = duckdb.connect(str(db))
    assert con.execute(f'SELECT count(*) FROM "{table}__items__discounts"').fetchone() == (1,)
    con.execute(f'DELETE FROM "{table}__items__discounts"')
    con.execute(f"UPDATE \"{table}__tags\" SET value = 'green'")
    con.close()
    report = Report("target", [])
    Verifier(destination(f"duckdb:{db}:main")).compare(prepared, report, "valid: nested")
    found = sorted(v.message.split(": sent")[0] for v in report.violations)
    assert found == ["(Decimal('1'),), field 'tags'", "(Decimal('3'),), field 'items'"]
