"""The hot path: RECORD lines from the JSON text the server built (`row_to_json`), and from
dicts (the WAL path). A line is exactly what `MessageWriter.write_record` writes: same keys, same
order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

import orjson
from tapwell.singer.errors import SyncError

OPTS = orjson.OPT_NAIVE_UTC


class RecordWriter:
    """Writes one stream's records: `write_json(texts)` for a batch of record JSON texts,
    `write_record(dict)` for one record."""

    def __init__(
        self,
        out: IO[bytes],
        stream: str,
        version: int | None = None,
        time_extracted: datetime | None = None,
        *,
        raw_json: bool = False,
    ) -> None:
        self.out = out
        self.stream = stream
        self.version = version
        self.prefix = b'{"type":"RECORD","stream":' + orjson.dumps(stream) + b',"record":'
        suffix = b""
        if version is not None:
            suffix += b',"version":' + orjson.dumps(version)
        if time_extracted is not None:
            suffix += b',"time_extracted":' + orjson.dumps(time_extracted, option=OPTS)
        self.suffix = suffix + b"}\n"
        self.raw_json = raw_json  # a `json` value may carry its own line breaks

    def write_json(self, texts: Sequence[str]) -> None:
        if not texts:
            return
        joiner = self.suffix + self.prefix
        if self.raw_json:
            texts = [t.replace("\n", " ").replace("\r", " ") for t in texts]
        self.out.write(self.prefix + joiner.join(t.encode() for t in texts) + self.suffix)

    def write_record(self, record: dict[str, Any]) -> None:
        try:
            self.out.write(self.prefix + orjson.dumps(record, option=OPTS) + self.suffix)
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise SyncError(
                f"stream {self.stream!r}: a value cannot be written as JSON ({exc})"
            ) from None
