"""A batch loaded behind the reader: the target loop (tapwell.sdk.target_loop) hands a full batch
to a worker thread and goes on reading and checking the next one while the loader commits it.

Worth it only for a loader whose `load` spends its time in a driver that releases the GIL (DuckDB's
execute); a loader says so with `overlaps(batches) -> bool` (see Loader), per load, so what it
cannot load beside the reader (BATCH files, nested tables) stays in the reader's thread.

One load is behind at a time, or two for a loader with `load_ahead(batches, state, after) ->
bool`: the next batch's load starts (reads and checks its rows, writing nothing) while the one
before it commits, and calls `after()` before its own transaction, which waits for the load
before it and says whether that one committed (False: it failed, so this one commits nothing
and returns False). The loop waits for the loads behind (`failed`) before it loads in turn,
before it touches the loader in any other way, and before it reports anything, so

- the STATE of a batch is printed right after that batch's commit, by the worker, in order;
- an error of a load behind is raised before any problem of a line read after it, with what
  the loop held when the first load that failed began (`Behind`), so it is handled as if
  nothing had been read since; a load chained after it commits nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from tapwell.sdk.target_types import Batch

Load = Callable[[list[Batch], dict[str, Any] | None], None]
LoadAhead = Callable[[list[Batch], dict[str, Any] | None, Callable[[], bool]], bool]


@dataclass
class Behind:
    """One load in a worker thread: the batches it loads (the loop's lists, handed over), the
    state it commits with them and the STATE line it prints after the commit (None: nothing to
    print), and what the loop held when it began (its states since the last flush and the state
    it had printed), for the loop to take back should the load fail. `previous`: the load it
    waits for before its transaction (load_ahead), while that one may still run."""

    batches: list[Batch]
    state: dict[str, Any] | None
    line: bytes | None
    states: list[tuple[int, dict[str, Any]]]
    emitted_before: dict[str, Any] | None
    error: BaseException | None = None
    thread: threading.Thread | None = field(default=None, repr=False)
    previous: Behind | None = field(default=None, repr=False)

    def start(self, load: Load, out: IO[bytes]) -> None:
        """Load and commit the batches with the state, then print the STATE line."""

        def run() -> None:
            try:
                load(self.batches, self.state)
                self._print(out)
            except BaseException as exc:  # raised in the reader's thread by `wait`
                self.error = exc

        self._run(run)

    def start_ahead(self, load: LoadAhead, out: IO[bytes]) -> None:
        """As `start`, for a loader that reads and checks the batches while `previous` still
        commits, and waits for it (`after`) before its own transaction."""

        def run() -> None:
            try:
                if load(self.batches, self.state, self._after):
                    self._print(out)
            except BaseException as exc:  # raised in the reader's thread by `wait`
                self.error = exc

        self._run(run)

    def _after(self) -> bool:
        """Wait for the load before this one; whether it committed (and printed its STATE)."""
        previous = self.previous
        return previous is None or previous.failed() is None

    def _print(self, out: IO[bytes]) -> None:
        if self.line is not None:
            out.write(self.line)
            out.flush()

    def _run(self, run: Callable[[], None]) -> None:
        self.thread = threading.Thread(target=run, name="tapwell-load", daemon=True)
        self.thread.start()

    def wait(self) -> BaseException | None:
        """Wait for the load (and any before it) to end; the first error, if any."""
        failed = self.failed()
        return None if failed is None else failed.error

    def failed(self) -> Behind | None:
        """Wait for the load (and any before it) to end; the first of them that failed."""
        if self.thread is not None:
            self.thread.join()
        previous = self.previous
        if previous is not None:
            first = previous.failed()
            if first is not None:
                return first
            self.previous = None  # committed: its batches are not held any longer
        return self if self.error is not None else None


__all__ = ["Behind"]
