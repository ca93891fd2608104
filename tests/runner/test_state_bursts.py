"""The runner saves the last state of each read of the target's output: a burst of STATE lines
(a target committing many tiny batches while the runner saved the one before) is one save, two
fsyncs, where it was one save each (a tap stating every 5 records into target-jsonl with
batch_size_rows 10: 4,000 saves, 8,000 fsyncs). It never waits for more: a state that arrives
alone is saved before the next line is read, so the saved state lags what the target committed
by at most the burst being read, and is never ahead of it."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from tapwell.runner import statestore
from tapwell.runner.attempt import AttemptResult, _read_states
from tapwell.runner.statestore import FileStateStore


class Pipe:
    """A target's stdout: each read1 gives the next chunk, as one read of a pipe would; before it
    does, `before_read` sees what the store holds."""

    def __init__(self, chunks: list[bytes], before_read: Any = None) -> None:
        self.chunks = list(chunks)
        self.before_read = before_read

    def read1(self, size: int) -> bytes:
        if self.before_read is not None:
            self.before_read()
        return self.chunks.pop(0) if self.chunks else b""

    def __iter__(self) -> Any:
        """Line by line, as a file object reads (the same chunks, the same reads)."""
        carry = b""
        while chunk := self.read1(1 << 16):
            *lines, carry = (carry + chunk).split(b"\n")
            yield from (line + b"\n" for line in lines)
        if carry:
            yield carry


class Threads:
    def touch(self) -> None:
        pass


def state(n: int) -> bytes:
    return json.dumps({"bookmarks": {"ev": {"id": n}}}).encode()


def read(store: FileStateStore, pipe: Pipe, sink: list[str]) -> AttemptResult:
    result = AttemptResult(0, 0)
    _read_states(pipe, "burst", store, None, result, sink.append, Threads())  # type: ignore[arg-type]
    return result


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        seen.append(fd)
        real(fd)

    monkeypatch.setattr(statestore.os, "fsync", fsync)
    return seen


def test_a_burst_is_one_save(tmp_path: Path, fsyncs: list[int]) -> None:
    store = FileStateStore(tmp_path)
    burst = b"".join(state(n) + b"\n" for n in range(1, 51))
    sink: list[str] = []
    result = read(store, Pipe([burst]), sink)
    assert store.get("burst") == {"bookmarks": {"ev": {"id": 50}}}
    assert len(fsyncs) == 2  # the file and its folder, once: it was 100
    assert result.states_saved == 50 and result.last_state == {"bookmarks": {"ev": {"id": 50}}}
    assert sink == []


def test_a_state_alone_is_saved_before_the_next_read(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path)
    held: list[Any] = []
    chunks = [state(1) + b"\n", state(2)[:10], state(2)[10:] + b"\n" + state(3) + b"\n"]
    result = read(store, Pipe(chunks, lambda: held.append(store.get("burst"))), [])
    ids = [None if h is None else h["bookmarks"]["ev"]["id"] for h in held]
    assert ids == [None, 1, 1, 3]  # half a line is no state; the last read saved only 3
    assert result.states_saved == 3


def test_lines_that_are_no_state_are_said_and_skipped(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path)
    sink: list[str] = []
    result = read(store, Pipe([state(1) + b"\nnot json\n{}\n", b"\n" + state(2)]), sink)
    assert store.get("burst") == {"bookmarks": {"ev": {"id": 2}}}  # the last, without newline
    assert result.states_saved == 2
    assert len(sink) == 2 and "not JSON" in sink[0] and "an empty state" in sink[1], sink


def test_a_real_pipe_saves_every_state_it_is_given(tmp_path: Path) -> None:
    """Through an OS pipe, written in pieces by another thread: the last state is the one saved,
    whatever the grouping the reads made."""
    store = FileStateStore(tmp_path)
    r, w = os.pipe()

    def write() -> None:
        with os.fdopen(w, "wb", buffering=0) as out:
            for n in range(1, 2001):
                out.write(state(n) + b"\n")

    writer = threading.Thread(target=write)
    writer.start()
    with os.fdopen(r, "rb") as pipe:
        result = read(store, pipe, [])  # type: ignore[arg-type]
    writer.join()
    assert store.get("burst") == {"bookmarks": {"ev": {"id": 2000}}}
    assert result.states_saved == 2000
