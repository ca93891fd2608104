"""The project the web page tests serve: a quick integration whose tap logs an HTML-looking line,
a slow one (cancel, live log), one that fails with a config error, one that fails a few
seconds in (while its page follows it live), an `after:` chain and a daily
schedule, so every page has something to show."""

from __future__ import annotations

from typing import Any

from helpers.runner_project import Proj, duckdb_target, fake_integration

ODD_LINE = "<script>alert('x')</script> & \"quoted\""


def web_project(proj: Proj) -> dict[str, Any]:
    quick = fake_integration(proj, rows=30, slow=0.02, warn=ODD_LINE)
    slow = fake_integration(proj, rows=400, slow=1.0)  # a STATE and a METRIC line a second
    slow["tap"]["config"]["counter"] = str(proj.root / "slow.txt")
    slow["target"] = {**duckdb_target(proj), "config": {**duckdb_target(proj)["config"]}}
    slow["target"]["config"]["path"] = str(proj.root / "slow.duckdb")
    broken = fake_integration(proj, mode="config", password="hunter2-never-shown")
    broken["retry"] = {"attempts": 1, "backoff_seconds": 0}
    broken["target"]["config"]["path"] = str(proj.root / "broken.duckdb")
    late = fake_integration(proj, mode="die", fail_times=99, fail_after=75, slow=1.5)
    late["tap"]["config"]["counter"] = str(proj.root / "late.txt")  # fails on every attempt
    late["retry"] = {"attempts": 1, "backoff_seconds": 0}
    late["target"]["config"]["path"] = str(proj.root / "late.duckdb")
    raw = {
        "integrations": {
            "quick": {**quick, "schedule": "15 2 * * *"},
            "slow.orders": {**slow, "schedule": "*/30 * * * *"},
            "broken": {**broken, "after": ["quick"]},
            "fails.late": late,
        },
        "serve": {"shutdown_grace_seconds": 5},
    }
    proj.write(raw)
    return raw
