"""The lane's files by default: 200,000 rows each, the tap waiting while more than one such file's
rows are not yet committed (the same 200,000 rows pending as two 100,000-row files, in fewer files:
fewer statements and commits in the target); `fast_lane_batch_size` still sets the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tapwell.runner import fast_lane

CSV = {"capabilities": ["batch"], "batch_formats": ["csv", "jsonl"]}


@pytest.fixture
def both_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_lane, "abouts", lambda root, argvs: [CSV, CSV])


def _batch(raw: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    tap, target, spool = fast_lane.prepare(
        "x", raw, tmp_path, tmp_path, ["tap"], ["target"], {}, {}
    )
    assert spool is not None and target["batch_root"] == str(spool)
    fast_lane.remove(spool)
    return dict(tap["batch_config"])


def test_files_of_200000_rows_one_pending(both_csv: None, tmp_path: Path) -> None:
    batch = _batch({}, tmp_path)
    assert (batch["batch_size"], batch["max_pending_files"]) == (200_000, 1)
    assert batch["encoding"] == {"format": "csv", "compression": "none"}


def test_batch_size_setting_still_sets_the_rows(both_csv: None, tmp_path: Path) -> None:
    batch = _batch({"fast_lane_batch_size": 50_000}, tmp_path)
    assert (batch["batch_size"], batch["max_pending_files"]) == (50_000, 1)
