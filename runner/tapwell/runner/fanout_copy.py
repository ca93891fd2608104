"""The fan-out's copy: the source's bytes to every target's pipe through one writer thread each
(a bounded queue per target), the tap's STATE lines found on the way, and the order of those
states that places each target's committed state (tapwell.runner.fanout runs the processes)."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import threading
import time
from dataclasses import dataclass, field
from queue import Queue
from typing import Any

from tapwell.runner.processes import Sink, kill
from tapwell.singer.wire import dumps, loads

CHUNK = 1 << 20
# Chunks queued per target besides its pipe's 1 MiB: a target that pauses to commit a batch
# holds the others back only once this is full. The chunks are shared, so the runner holds at
# most this many MiB whatever the number of targets.
BUFFER_CHUNKS = 8
_TOKEN = b'"STATE"'


def _canon(value: Any) -> bytes:
    return dumps(value, 0x20)  # orjson.OPT_SORT_KEYS: the same state, the same bytes


class StateOrder:
    """The tap's STATE values in the order it wrote them, and where each target has got to."""

    def __init__(self, start: dict[str, Any] | None, names: list[str]) -> None:
        self.start = start
        self.start_canon = _canon(start) if start else None
        self.values: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.index: dict[bytes, int] = {}
        self.committed = dict.fromkeys(names, -1)  # -1: the state the attempt started from
        self.max_behind: dict[str, int] = {}  # STATE messages, the most during the attempt
        self.began = time.time()
        self.lock = threading.Lock()

    def tap_state(self, value: dict[str, Any]) -> None:
        """Number a STATE value of the tap. An empty one (`{}`, what a tap with nothing to sync
        sends) is no position: a target committing it is ignored (committed_state), so counting
        it would leave every target one STATE message behind."""
        if not value:
            return
        with self.lock:
            self.index[_canon(value)] = len(self.values)
            self.values.append(value)
            self.times.append(time.time())
            newest = len(self.values) - 1
            for name, at in self.committed.items():  # the furthest each target fell behind
                self.max_behind[name] = max(self.max_behind.get(name, 0), newest - at)

    def commit(self, name: str, value: dict[str, Any]) -> bool:
        """Place a target's committed state; False when the tap never wrote it (then it is kept
        for the target but does not move the integration's state)."""
        canon = _canon(value)
        with self.lock:
            at = self.index.get(canon)
            if at is None:
                return canon == self.start_canon
            self.committed[name] = max(self.committed[name], at)
            return True

    def oldest(self) -> dict[str, Any] | None:
        """The state the next attempt starts from: the oldest any target committed."""
        with self.lock:
            at = min(self.committed.values(), default=-1)
            return self.start if at < 0 else self.values[at]

    def lag(self, name: str) -> dict[str, Any]:
        """How far `name` is behind the tap: STATE messages, and seconds between the tap writing
        the state the target committed last and the tap's newest."""
        with self.lock:
            newest = len(self.values) - 1
            at = self.committed[name]
            if newest < 0:
                return {"states": 0, "seconds": 0.0}
            since = self.times[at] if at >= 0 else self.began
            return {
                "states": newest - at,
                "seconds": round(max(self.times[newest] - since, 0.0), 3),
            }


@dataclass
class Output:
    name: str
    fd: int
    required: bool
    proc: subprocess.Popen[bytes] | None = None
    alive: bool = True
    hung: bool = False  # dropped for not reading (and killed)
    waited: float = 0.0  # seconds the copy waited for room in this target's queue
    written: int = 0
    queue: Queue[bytes | None] = field(default_factory=lambda: Queue(BUFFER_CHUNKS))


@dataclass
class Copier:
    """Copies the source's bytes to every live output, finding STATE lines on the way. One
    writer thread per target takes chunks from a queue of at most BUFFER_CHUNKS, so a target
    pausing to commit a batch does not stop the others until its queue is full."""

    source: int
    outputs: list[Output]
    order: StateOrder
    sink: Sink
    carry: bytes = b""
    copied: int = 0
    cpu: float = 0.0
    failed_required: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    # a target that is not required and takes nothing for this long is dropped (and killed), so
    # a hung secondary never stalls the run; a required one waits for the stall watchdog
    drop_after: float = 600.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # the run log alone: a required target that broke is the run's failure, said once at its end
    record: Sink | None = None

    def run(self) -> None:
        started = time.thread_time()
        writers = [
            threading.Thread(
                target=self._writer, args=(out,), daemon=True, name=f"fanout-{out.name}"
            )
            for out in self.outputs
        ]
        for w in writers:
            w.start()
        try:
            while not self.stop.is_set() and self.failed_required is None:
                data = os.read(self.source, CHUNK)
                if not data:
                    break
                self.scan(data)
                self.copied += len(data)
                for out in self.outputs:
                    if out.alive:  # a dead output's writer drains its queue: put never hangs
                        t0 = time.monotonic()
                        out.queue.put(data)
                        out.waited += time.monotonic() - t0
        finally:
            for out in self.outputs:
                out.queue.put(None)
            for w in writers:
                w.join()
            with self.lock:
                self.cpu += time.thread_time() - started

    def _writer(self, out: Output) -> None:
        started = time.thread_time()
        try:
            while True:
                data = out.queue.get()
                if data is None:
                    break
                if not out.alive:
                    continue
                try:
                    out.written += self._write_all(out, memoryview(data))
                except OSError:  # EPIPE: the target exited
                    out.alive = False
                    say = (self.record or self.sink) if out.required else self.sink
                    say(
                        f"[tapwell] target {out.name} stopped reading"
                        + ("" if out.required else " (not required: the others go on)")
                    )
                    if out.required:
                        self.failed_required = out.name
        finally:
            with contextlib.suppress(OSError):
                os.close(out.fd)
            with self.lock:
                self.cpu += time.thread_time() - started

    def _write_all(self, out: Output, view: memoryview) -> int:
        """Write all of `view` to a required target (blocking), or to one that is not required
        waiting at most `drop_after` seconds for its pipe to move."""
        sent = 0
        if out.required:
            while sent < len(view):
                sent += os.write(out.fd, view[sent:])
            return sent
        while sent < len(view):
            _, ready, _ = select.select([], [out.fd], [], self.drop_after)
            if not ready:
                out.alive, out.hung = False, True
                self.sink(
                    f"[tapwell] target {out.name} took nothing for {self.drop_after:g}s: "
                    "stopped (not required: the others go on)"
                )
                if out.proc is not None:
                    kill(out.proc)
                return sent
            try:
                sent += os.write(out.fd, view[sent:])
            except BlockingIOError:
                continue
        return sent

    def scan(self, data: bytes) -> None:
        first = data.find(b"\n")
        if first < 0:
            self.carry += data
            return
        head = self.carry + data[: first + 1] if self.carry else data[: first + 1]
        if _TOKEN in head:
            self.check(head)
        last = data.rfind(b"\n")
        pos = data.find(_TOKEN, first + 1, last + 1)
        while pos >= 0:
            start = data.rfind(b"\n", 0, pos) + 1
            end = data.find(b"\n", pos)
            self.check(data[start:end])
            pos = data.find(_TOKEN, end, last + 1)
        self.carry = data[last + 1 :]

    def check(self, line: bytes) -> None:
        try:
            message = loads(line)
        except ValueError:
            return  # not ours to judge: the targets report a broken line
        if isinstance(message, dict) and message.get("type") == "STATE":
            value = message.get("value")
            if isinstance(value, dict):
                self.order.tap_state(value)
