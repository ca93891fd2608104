"""One `<stream>.jsonl` file per stream, appended to; every batch flushed and fsynced before the
state that follows it is printed.

A stream name becomes a file name by replacing what a file name cannot safely hold, so `a/b`,
`a_b` and `a:b` would all write `a_b.jsonl`. The first stream to write a file owns it, recorded
in `.tapwell-owners.json` in the same folder so it holds across runs; another stream that maps
to that file is refused before anything is written.

A record is written minified, every number as its input line spells it (`1.50`, `1E5`, `-0`
stay so; tapwell.sdk.target_lanes.respeller) and every string as JSON defines it (escaped only
where JSON needs it), as target-duckdb stores a JSON document.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import IO, Any

from tapwell.sdk.target import Batch, RowEncoder, StreamSpec
from tapwell.sdk.target_lanes import respeller
from tapwell.singer.errors import ConfigError, ProtocolError
from tapwell.singer.wire import dumps

from .config import SETTINGS, JsonlConfig

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)
OWNERS_FILE = ".tapwell-owners.json"  # no stream's file: those all end in .jsonl
_MAX_BYTES = 200  # a file name holds 255 bytes; room for the hash and the suffix


def file_name(stream: str) -> str:
    """A stream name as a safe file name: no path separators, no leading dots; a name too long
    for a file name is cut and given a hash of the whole name."""
    name = _UNSAFE.sub("_", stream).lstrip(".") or "_"
    if len(name.encode()) > _MAX_BYTES:
        digest = hashlib.sha256(stream.encode()).hexdigest()[:12]
        name = name.encode()[:_MAX_BYTES].decode(errors="ignore") + "-" + digest
    return f"{name}.jsonl"


class JsonlLoader:
    def __init__(self, config: JsonlConfig | dict[str, Any]) -> None:
        self.dir = SETTINGS.of(config).destination_path
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create destination_path {self.dir}: {exc.strerror or exc}"
            ) from None
        self.files: dict[str, IO[bytes]] = {}
        self.owners_path = os.path.join(self.dir, OWNERS_FILE)
        self.owners = self._read_owners()

    def prepare(self, spec: StreamSpec) -> None:
        if spec.name in self.files:
            return
        name = file_name(spec.name)
        self._claim(spec.name, name)
        path = os.path.join(self.dir, name)
        try:
            self.files[spec.name] = open(path, "ab")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(f"cannot open {path}: {exc.strerror or exc}") from None

    def row_encoder(self, spec: StreamSpec, check: Any) -> RowEncoder:
        """Each record checked as the loop checks it and kept as it is, except that a record
        whose line may hold a number the reader spelled otherwise is read again from its line."""
        checked = spec.check

        def encode(record: dict[str, Any], line: int | None) -> dict[str, Any]:
            checked(record, line)
            return record

        return RowEncoder(encode, respell=respeller(None))

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

    # ------------------------------------------------------------------ file owners

    def _claim(self, stream: str, name: str) -> None:
        """Make `stream` the owner of file `name`, or refuse it when another stream owns it."""
        owner = self.owners.get(name)
        if owner == stream:
            return
        if owner is not None:
            raise ProtocolError(
                f"stream {stream!r} would write {name}, which stream {owner!r} already writes "
                "(characters other than letters, digits, '.', '-' and '_' become '_' in a file "
                "name): rename one of the streams (e.g. with a stream map) or give it its own "
                "destination_path",
                stream=stream,
            )
        self.owners[name] = stream
        tmp = self.owners_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.owners, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.owners_path)

    def _read_owners(self) -> dict[str, str]:
        try:
            with open(self.owners_path, encoding="utf-8") as f:
                owners = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{self.owners_path} cannot be read ({exc}): it records which stream writes which "
                "file; restore it, or delete it if every file there belongs to one stream"
            ) from None
        if not isinstance(owners, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in owners.items()
        ):
            raise ConfigError(
                f"{self.owners_path} is not an object of file name -> stream name: restore it, "
                "or delete it if every file there belongs to one stream"
            )
        return owners
