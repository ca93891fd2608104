"""tap-csv's bound on BATCH files not yet consumed (`max_pending_files`, tapwell.sdk.tap_batch):
counted in rows, `max_pending_files` full files (`batch_size` rows each), so the small files the
end of a stream is cut into (tail_budget) do not make the tap wait as if each were full. On the
1,000,000-row lane the tap waited 0.3-0.8 s before its 13th file, three small files (9.4, 4.7 and
2.4 MB against 20 MB full ones) queued behind the commit that checkpoints the target's WAL.

The target here is a stand-in: the tap's sleep while it waits consumes (deletes) the oldest file
and notes which files were there, so each wait is seen and the run never blocks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tapwell.sdk import tap_batch
from tapwell.sdk.tap_batch import parse_batch_config, write_line_files


class _Writer:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def write_dict(self, msg: dict[str, Any]) -> None:
        self.messages.append(msg)

    def write_state(self, state: dict[str, Any]) -> None:
        self.messages.append({"type": "STATE", "value": state})


def _rows(n: int, start: int) -> bytes:
    return b"".join(b'"%d"\n' % i for i in range(start, start + n))


def _age(name: str) -> tuple[bool, int]:
    """Files oldest first: another stream's (`earlier-N.csv`), then ours by sequence number."""
    return not name.startswith("earlier"), int(name.rsplit("-", 1)[1].split(".")[0])


def _run(
    spool: Path, sizes: list[int], monkeypatch: pytest.MonkeyPatch, most: int = 2
) -> list[list[str]]:
    """Files of `sizes` rows (batch_size 100: a size of 100 is a full file, a smaller one is cut
    by the stream's flush, as the last files are) written with nothing consuming them but the
    tap's own waits; returns the files present at each wait (oldest first)."""
    waits: list[list[str]] = []

    def consume(_: float) -> None:
        present = sorted(os.listdir(spool), key=_age)
        waits.append(present)
        os.remove(spool / present[0])

    monkeypatch.setattr(tap_batch.time, "sleep", consume)
    lane = {
        "encoding": {"format": "csv"},
        "storage": {"root": f"file://{spool}"},
        "batch_size": 100,
        "max_pending_files": most,
        "durable": False,
    }
    flushes: list[Callable[[], None]] = []

    def chunks() -> Iterator[tuple[bytes, int, Any]]:
        at = 0
        for n in sizes:
            yield _rows(n, at), n, None
            at += n
            if n < 100:
                flushes[0]()  # cut here, as the stream's end cuts its last files

    writer = _Writer()
    cfg = parse_batch_config(lane)
    count, _ = write_line_files("s", chunks(), cfg, None, writer, {}, ["id"], 0, flushes)
    assert count == sum(sizes)
    assert sum(1 for m in writer.messages if m["type"] == "BATCH") == len(sizes)
    return waits


def test_small_files_count_their_rows_not_a_full_file_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One full file and ten of 10 rows unconsumed is 200 rows: within 2 full files, so the tap
    does not wait (counting files, it waited before the 4th file, with 3 unconsumed)."""
    assert _run(tmp_path, [100] + [10] * 10, monkeypatch) == []


def test_past_the_rows_of_max_pending_files_full_files_the_tap_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full files: as before, at most 2 unconsumed when the next is opened. Small ones: the tap
    waits once their rows pass 2 full files' (100 + 10 * 10 = 200 is not past; 210 is)."""
    (tmp_path / "full").mkdir()
    (tmp_path / "small").mkdir()
    waits = _run(tmp_path / "full", [100] * 5, monkeypatch)
    assert [len(w) for w in waits] == [3, 3]  # before the 4th and the 5th file, 3 unconsumed
    waits = _run(tmp_path / "small", [100] + [10] * 12, monkeypatch)
    assert [len(w) for w in waits] == [12]  # before the 13th file: 100 + 11 * 10 rows


def test_another_streams_unconsumed_file_counts_as_a_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files of ours the stream did not write (an earlier stream's, still being loaded) count
    full: the disk bound holds across a tap's streams."""
    for name in ("earlier-1.csv", "earlier-2.csv"):
        (tmp_path / name).write_bytes(b'"id"\n')
    waits = _run(tmp_path, [10, 10], monkeypatch)
    assert [len(w) for w in waits] == [3]  # before the 2nd file: 2 full + 10 rows
