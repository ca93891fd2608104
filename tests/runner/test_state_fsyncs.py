"""What the file state store fsyncs, and what it no longer does. A state checkpoint stays two
fsyncs (the file, then its folder after the rename): it protects committed state. A run record's
save that also changes the index (a run's first and last) fsyncs the record, the index and their
one folder once: it was the folder twice. The live figures are first saved a `save_every` into
the run, not at its start, when they are empty and the run has just saved its record."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from tapwell.runner import statestore
from tapwell.runner.history import RunRecord
from tapwell.runner.serve.live import LiveRun
from tapwell.runner.statestore import FileStateStore


@pytest.fixture
def fsynced(monkeypatch):
    """The paths fsynced, in order, relative to the store's folder."""
    seen: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(statestore.os, "fsync", fsync)
    return seen


def names(paths: list[str], folder) -> list[str]:
    out = []
    for p in paths:
        rel = os.path.relpath(p, folder)
        out.append(".runs/.ID.json.tmp" if rel.startswith(".runs/.2") else rel)
    return [".runs/.index.json.tmp" if n.startswith(".runs/..index.json") else n for n in out]


def test_a_checkpoint_and_a_run_record(tmp_path, fsynced):
    store = FileStateStore(tmp_path)
    record = RunRecord("20261206T120000000000-abcdef", "demo", dt.datetime.now(dt.UTC))
    store.save_run(record)  # a run's first save: its record, and its id in the index
    assert names(fsynced, tmp_path) == [".runs/.ID.json.tmp", ".runs/.index.json.tmp", ".runs"]
    fsynced.clear()
    store.put("demo", {"bookmarks": {"t": {"replication_key_value": 1}}})
    assert len(fsynced) == 2 and names(fsynced, tmp_path)[1] == "."  # the file, then the folder
    fsynced.clear()
    record.outcome = "succeeded"
    store.save_run(record)  # its last: the record, and the totals in the index
    assert names(fsynced, tmp_path) == [".runs/.ID.json.tmp", ".runs/.index.json.tmp", ".runs"]


def test_live_figures_are_not_saved_at_the_start(tmp_path):
    saves: list[RunRecord] = []

    class Store:
        def save_run(self, run: RunRecord) -> RunRecord:
            saves.append(run)
            return run

        def append_log(self, run_id: str, lines: list[str]) -> None:
            pass

    record = RunRecord("20261206T120000000000-abcdef", "demo", dt.datetime.now(dt.UTC))
    live = LiveRun(Store(), record, {}, flush_every=0.01, save_every=30)  # type: ignore[arg-type]
    live.log("[tapwell] run starts")
    time.sleep(0.3)  # 30 loops of the live thread
    live.close()
    assert saves == []  # the run's own saves write the record (and the figures, at its end)
