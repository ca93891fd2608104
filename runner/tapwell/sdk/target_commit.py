"""How the target loop commits (tapwell.sdk.target_loop): a flush loads what is buffered with the
pending state and only then prints that state, in this thread or in a worker thread beside the
reader (tapwell.sdk.target_behind); bad input commits what came before the last good STATE.
"""

from __future__ import annotations

import contextlib
import os
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import replace
from typing import IO, Any

from tapwell.sdk.progress import Progress
from tapwell.sdk.target_behind import Behind
from tapwell.sdk.target_lanes import Lane, Metadata, RawLane
from tapwell.sdk.target_types import Batch, Loader
from tapwell.singer.errors import ProtocolError
from tapwell.singer.wire import dumps


class Commits:
    """The target loop's commit: TargetLoop's methods that load and commit its batches and print
    its STATE lines. The loop's state they use is TargetLoop's, set in its __init__."""

    loader: Loader
    out: IO[bytes]
    progress: Progress
    batches: dict[str, Batch]
    buffered_rows: int
    bytes_read: int
    flushed_at: int
    batch_started: float
    pending_state: dict[str, Any] | None
    emitted_state: dict[str, Any] | None
    metadata: Metadata
    states: list[tuple[int, dict[str, Any]]]
    load_failed: bool
    keep_files: bool
    files_pending: bool
    flush_due: bool
    read_files: list[tuple[str, bool]]
    lanes: dict[str, Lane]
    raw_lanes: dict[bytes, RawLane]
    overlaps: Callable[[list[Batch]], bool] | None
    load_ahead: Any
    behind: Behind | None
    _source = "stdin"

    def flush(self, behind: bool = False) -> None:
        """Commit what is buffered with the pending state, then print that state. `behind`: the
        loop reads on, so a loader that `overlaps` these batches may load them in a worker thread
        (`_load_behind`). A load behind is waited for first; with a loader that loads ahead
        (target_behind), only the one before it, so this batch's load begins beside it."""
        batches = [b for b in self.batches.values() if b.records or b.blocks or b.files]
        new_state = self.pending_state is not None and self.pending_state != self.emitted_state
        ahead = behind and self.load_ahead is not None and (batches or new_state)
        self._wait_behind(ahead=bool(ahead and self._may_overlap(batches)))
        if batches or new_state:
            for b in batches:
                self.progress.add(b.spec.name, b.size)
            if behind and self._may_overlap(batches):
                self._load_behind(batches)
                return
            try:
                self.loader.load(batches, self.pending_state)
            except ProtocolError as exc:  # a value the destination refused, named by its input line
                self.load_failed = True
                exc.source = self._source
                exc.args = (exc.describe(),)
                raise
            except BaseException:
                self.load_failed = True
                raise
            for b in batches:
                if b.files:
                    self.progress.add(b.spec.name, b.file_rows)
                b.file_rows = 0
                b.records = []
                b.lines = []
                b.texts = []
                b.blocks = []
                b.keys = []
                b.refused = {}
                self._done_with(b.files)
                b.files = []
            self._done_with(self.read_files)
            self.read_files = []
        self._new_batch()
        if self.pending_state is not None:
            self._emit_state()

    def _new_batch(self) -> None:
        """What the loop holds for the next batch, after a flush."""
        self.files_pending = False
        self.flush_due = False
        self.lanes.clear()  # bound to the lists just emptied
        self.raw_lanes.clear()
        self.buffered_rows = 0
        self.states = []
        self.metadata.new_batch()
        self.flushed_at = self.bytes_read
        self.batch_started = time.monotonic()

    def _may_overlap(self, batches: list[Batch]) -> bool:
        """Whether `batches` may load in a worker thread: the loader says so, and no file waits
        for their commit to be deleted (the loop does that itself)."""
        return (
            self.overlaps is not None
            and not self.load_failed
            and not self.read_files
            and not self.files_pending
            and bool(self.overlaps(batches))
        )

    def _load_behind(self, batches: list[Batch]) -> None:
        """Hand `batches` and the pending state to a worker thread, which loads and commits them
        and then prints the state; the loop keeps the batches' places with new lists."""
        handed = [replace(b) for b in batches]  # the same lists: the worker's now
        for b in batches:  # (files too: a BATCH attached while the worker loads is the loop's)
            b.records, b.lines, b.keys, b.refused, b.files = [], [], [], {}, []
            b.texts, b.blocks = [], []
        state, before = self.pending_state, self.emitted_state
        ready = getattr(self.loader, "before_behind", None)
        if ready is not None:  # the loader's own work in this thread, before the load behind
            ready(handed)
        job = Behind(handed, state, self._state_line(), self.states, before)
        self._new_batch()
        job.previous, self.behind = self.behind, job
        if self.load_ahead is not None:
            job.start_ahead(self.load_ahead, self.out)
        else:
            job.start(getattr(self.loader, "load_behind", self.loader.load), self.out)

    def _wait_behind(self, ahead: bool = False) -> None:
        """Wait for the loads behind the reader, if any (`ahead`: all but the last load of
        batches and a load of a state alone after it, which go on). When one failed, the loop
        is put back as it was when the first that failed began (its batches, states and printed
        state; what was read since is dropped; BATCH files attached since are neither loaded
        nor deleted) and its error raised, so it is handled as if the load had not been
        overlapped; a load after it has committed nothing."""
        job = self.behind
        if job is None:
            return
        last = job.previous if not job.batches and job.previous is not None else job
        previous = last.previous
        going = ahead and job.error is None and last.error is None
        if going and (previous is None or previous.failed() is None):
            last.previous = None  # committed: the last loads go on beside the next
            return
        self.behind = None
        failed = job.failed()
        if failed is None:
            return
        job = failed
        error = job.error
        assert error is not None
        self.load_failed = True
        for name, b in self.batches.items():
            self.batches[name] = replace(
                b, records=[], lines=[], keys=[], refused={}, files=[], texts=[], blocks=[]
            )
        for b in job.batches:
            self.batches[b.spec.name] = b
        self.states, self.pending_state, self.emitted_state = (
            job.states,
            job.state,
            job.emitted_before,
        )
        self.read_files, self.files_pending, self.flush_due = [], False, False
        self.lanes.clear()
        self.raw_lanes.clear()
        self.buffered_rows = sum(b.size for b in job.batches)
        if isinstance(error, ProtocolError):  # a value the destination refused, named by its line
            self._name_source(error)
        raise error

    def _commit_before(self, bad_line: int | None) -> None:
        """Malformed input on `bad_line`: commit what came up to the last STATE before it, with
        that STATE, and print it; nothing after it. Also when the loader refused a record (a
        value its destination cannot hold) at load time. The batches are cut by their records'
        lines as new Batch objects, so a loader's head start on the old ones (RowEncoder.feed)
        is not taken for them."""
        if self.load_failed and bad_line is None:
            return  # the loader did not say which record: nothing is known to be good
        good = [(n, v) for n, v in self.states if bad_line is None or n < bad_line]
        if not good:
            return
        state_line, self.pending_state = good[-1]
        self.load_failed = False
        for name, b in self.batches.items():
            b.unblock()  # cut by their lines' numbers
            n = bisect_right(b.lines, state_line)
            self.batches[name] = replace(
                b,
                records=b.records[:n],
                lines=b.lines[:n],
                texts=b.texts[: n - sum(type(r) is bytes for r in b.records[:n])],
                blocks=[],
                keys=b.keys[:n],
                refused={i: why for i, why in b.refused.items() if i < n},
                files=b.files if b.first_line < state_line else [],
            )
        self.flush()

    def _name_source(self, exc: ProtocolError) -> None:
        exc.source = self._source
        exc.args = (exc.describe(),)

    def _done_with(self, files: list[tuple[str, bool]]) -> None:
        """Committed BATCH files are deleted (their rows are in the destination now), unless
        the config keeps them (batch_keep_files)."""
        if self.keep_files:
            return
        for path, _ in files:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def _emit_state(self) -> None:
        line = self._state_line()
        if line is not None:
            self.out.write(line)
            self.out.flush()

    def _state_line(self) -> bytes | None:
        """The pending state's STATE line, now counted as printed; None when it is not to be
        printed (none, the one printed last, or empty after a non-empty one)."""
        value = self.pending_state
        self.pending_state = None
        if value is None or (not value and self.emitted_state):
            return None  # never an empty state after a non-empty one
        if value == self.emitted_state:
            return None
        self.emitted_state = value
        return dumps(value) + b"\n"  # every digit of every bookmark
