"""A batch loaded behind the reader: the target loop (tapwell.sdk.target_loop) hands a full batch
to a worker thread and goes on reading and checking the next one while the loader commits it.

Worth it only for a loader whose `load` spends its time in a driver that releases the GIL (DuckDB's
execute); a loader says so with `overlaps(batches) -> bool` (see Loader), per load, so what it
cannot load beside the reader (BATCH files, nested tables) stays in the reader's thread. At most
one load is behind at a time: the loop waits for it (`wait`) before it loads again, before it
touches the loader in any other way, and before it reports anything, so

- the STATE of a batch is printed right after that batch's commit, by the worker, in order;
- an error of the load behind is raised before any problem of a line read after it, with what
  the loop held when the load began (`Behind`), so it is handled as if nothing had been read since.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from tapwell.sdk.target_types import Batch


@dataclass
class Behind:
    """One load in a worker thread: the batches it loads (the loop's lists, handed over), the
    state it commits with them and the STATE line it prints after the commit (None: nothing to
    print), and what the loop held when it began (its states since the last flush and the state
    it had printed), for the loop to take back should the load fail."""

    batches: list[Batch]
    state: dict[str, Any] | None
    line: bytes | None
    states: list[tuple[int, dict[str, Any]]]
    emitted_before: dict[str, Any] | None
    error: BaseException | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    def start(
        self, load: Callable[[list[Batch], dict[str, Any] | None], None], out: IO[bytes]
    ) -> None:
        """Load and commit the batches with the state, then print the STATE line."""

        def run() -> None:
            try:
                load(self.batches, self.state)
                if self.line is not None:
                    out.write(self.line)
                    out.flush()
            except BaseException as exc:  # raised in the reader's thread by `wait`
                self.error = exc

        self.thread = threading.Thread(target=run, name="tapwell-load", daemon=True)
        self.thread.start()

    def wait(self) -> BaseException | None:
        """Wait for the load to end; what it raised, if anything."""
        if self.thread is not None:
            self.thread.join()
        return self.error


__all__ = ["Behind"]
