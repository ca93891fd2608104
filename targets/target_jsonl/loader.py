"""One `<stream>.jsonl` file per stream, appended to; every batch flushed and fsynced before the
state that follows it is printed."""

from __future__ import annotations

import os
import re
from typing import IO, Any

from tapwell.target import Batch, StreamSpec
from tapwell.wire import dumps

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def file_name(stream: str) -> str:
    """A stream name as a safe file name: no path separators, no leading dots."""
    name = _UNSAFE.sub("_", stream).lstrip(".") or "_"
    return f"{name}.jsonl"


class JsonlLoader:
    def __init__(self, config: dict[str, Any]) -> None:
        self.dir = str(config.get("destination_path") or config.get("path") or "output")
        os.makedirs(self.dir, exist_ok=True)
        self.files: dict[str, IO[bytes]] = {}

    def prepare(self, spec: StreamSpec) -> None:
        if spec.name not in self.files:
            self.files[spec.name] = open(os.path.join(self.dir, file_name(spec.name)), "ab")  # noqa: SIM115

    def load(self, batches: list[Batch], state: dict[str, Any] | None) -> None:
        for batch in batches:
            f = self.files[batch.spec.name]
            f.write(b"".join(dumps(r) + b"\n" for r in batch.records))
            f.flush()
            os.fsync(f.fileno())

    def activate_version(self, spec: StreamSpec, version: int) -> None:
        """A file has no rows to retire; versions are kept in the records when asked."""

    def close(self) -> None:
        for f in self.files.values():
            f.close()
