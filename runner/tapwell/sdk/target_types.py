"""The types a target and the shared loop (tapwell.sdk.target) speak: a stream's spec, a batch of
records, the Loader protocol a destination implements, its optional row encoder, batch limits.
Re-exported by tapwell.sdk.target, where targets import them from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from tapwell.singer.record_check import CheckCode


class ValueRefused(Exception):
    """Raised by a RowEncoder for a value its destination cannot store. The loop keeps the row's
    place and the loader reports it when it loads that row, as if it had met it itself."""


@dataclass(frozen=True)
class RowEncoder:
    """A loader's per-SCHEMA row encoder, for the loop to call on each record as it is read.

    `encode(record, line)` checks the record exactly as StreamSpec.check does (same errors,
    same order) and returns the row as the loader will load it (e.g. its COPY text), so a
    batch holds rows instead of dicts and each value is visited once; it raises ValueRefused
    for a value the destination cannot store. `key(record)` is the record's key for in-batch
    dedupe (None: no dedupe). `layout` is the loader's own (e.g. the columns it encoded).
    `feed(batch)`, when given, is called every thousand rows buffered while the batch grows
    (target-postgres sends them to the server ahead of the load); it reads the batch's lists and
    never replaces them (the loop keeps appending to them). `encode_clean`, when given,
    is `encode` for a record whose input line holds no backslash: strict JSON escapes every
    control character, quote and backslash inside a string, so none of its strings holds one,
    and the encoder may skip looking for them. `raw`: the loader also takes the stream's
    RECORD lines as they are (bytes in Batch.records, with their line numbers), when they are
    written as tapwell's writers write them (target_lanes.raw_lane): it checks them itself, and
    decodes them with `encode` when it cannot (to raise the usual error); `raw_digits` False:
    it reads every number of such a line with the line's digits (no value through a double), so
    the loop also gives it lines with a run of 16 digits or a three-digit exponent, which it
    otherwise keeps for the exact parser (tapwell.singer.wire.needs_exact); `blocks`: it also
    takes a run of such lines as the one bytes object they were read in (Batch.blocks), so the
    loop makes no Python object per line. `respell(record,
    line)`, when given, comes before `encode`: the record as its input line spells its numbers,
    for a loader that stores JSON text (tapwell.sdk.target_lanes.respeller). `keep_lines`: the
    loop keeps each encoded record's input line in Batch.texts, for a loader that may read a
    number's text from it at load (target-duckdb, when a batch makes a column text)."""

    encode: Callable[[dict[str, Any], int | None], Any]
    key: Callable[[dict[str, Any]], Any] | None = None
    layout: Any = None
    feed: Callable[[Batch], None] | None = None
    encode_clean: Callable[[dict[str, Any], int | None], Any] | None = None
    raw: bool = False
    raw_digits: bool = True
    blocks: bool = False
    respell: Callable[[dict[str, Any], bytes], dict[str, Any]] | None = None
    keep_lines: bool = False


@dataclass
class StreamSpec:
    """A stream as the latest SCHEMA describes it."""

    name: str
    schema: dict[str, Any]
    key_properties: list[str]
    check: Callable[[dict[str, Any], int | None], None]
    version: int | None = None
    encoder: RowEncoder | None = None  # the loader's, when it offers one (see Loader)


class Block(NamedTuple):
    """RECORD lines a raw lane took as they were read (tapwell.sdk.target_lanes.RawLane): `size`
    whole lines in one bytes object, each ending in a newline, the first being input line
    `first` (the others follow it)."""

    first: int
    size: int
    data: bytes

    def lines(self) -> list[bytes]:
        """The block's lines, each its own bytes object (split at newlines only)."""
        if self.size == 1:
            return [self.data]
        if b"\r" not in self.data:  # the usual block (RawLane.takes_block refuses a \r)
            return self.data.splitlines(keepends=True)
        return [line + b"\n" for line in self.data.split(b"\n")[:-1]]


@dataclass
class Batch:
    """A stream's records since the last flush. Its rows are, in input order, the lines of its
    `blocks` (RECORD lines a raw lane took whole, with RowEncoder.blocks), then its `records`:
    a raw lane adds a block only while `records` is empty, and `unblock` makes the blocks
    records (for a loader or a path that reads the lines one by one)."""

    spec: StreamSpec
    records: list[Any] = field(default_factory=list)  # dicts, or rows when `encoder` is set
    first_line: int = 0
    version: int | None = None  # the version the batch's records carry (FULL_TABLE syncs)
    lines: list[int] = field(
        default_factory=list
    )  # input line of each record, for load-time errors
    encoder: RowEncoder | None = None  # what encoded `records`; None: they are the dicts
    keys: list[Any] = field(default_factory=list)  # encoder.key of each record, when it has one
    refused: dict[int, ValueRefused] = field(default_factory=dict)  # index -> why (row is None)
    files: list[tuple[str, bool]] = field(default_factory=list)  # BATCH files (path, gzip?) the
    # loader reads itself (a format in its `batch_formats`), from the BATCH on `first_line`
    file_rows: int = 0  # rows the loader loaded from `files` (it sets this; progress counts it)
    # with encoder.keep_lines: the input line of each record the encoder encoded, in order (a
    # line a raw lane took is its own text in `records`, and has none here)
    texts: list[bytes | None] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)  # lines before `records` (see above)

    @property
    def last_line(self) -> int:
        """The input line of the batch's last record."""
        if self.lines:
            return self.lines[-1]
        if self.blocks:
            last = self.blocks[-1]
            return last.first + last.size - 1
        return self.first_line

    @property
    def size(self) -> int:
        """How many rows the batch holds: its blocks' lines and its records."""
        return len(self.records) + sum(b.size for b in self.blocks)

    def unblock(self) -> None:
        """The blocks' lines put at the head of `records` (bytes, with their input lines in
        `lines`), in place: the lanes bound to these lists keep appending to them."""
        if not self.blocks:
            return
        lines = [line for b in self.blocks for line in b.lines()]
        # a one-line block keeps its line as it is (a FileRow names a BATCH file's row)
        numbers = [
            n
            for b in self.blocks
            for n in ((b.first,) if b.size == 1 else range(b.first, b.first + b.size))
        ]
        self.records[:0] = lines
        self.lines[:0] = numbers
        self.refused = {i + len(lines): why for i, why in self.refused.items()}
        self.blocks.clear()


class Loader(Protocol):
    """What a destination implements. `load` must be atomic: all batches and the state, or none.

    A loader may also offer `row_encoder(spec, check: CheckCode) -> RowEncoder | None`, called
    after `prepare`: its batches then hold encoded rows (Batch.encoder says so), not dicts.
    And `batch_formats` (a tuple such as ("csv",)): the BATCH file formats it loads straight
    from the files (Batch.files), with no row going through Python; other formats are read
    by the loop, record by record. And `overlaps(batches) -> bool`: whether the loop may load
    those batches in a worker thread while it reads on (tapwell.sdk.target_behind); its row
    encoder then runs beside its `load`, and nothing else of it does. Such a loader may also
    offer `load_behind(batches, state)`, the same load sized for a worker thread (it is called
    there instead of `load`), and `before_behind(batches)`, called in the loop's thread right
    before the batches are handed over: Python work that would fight the reader for the GIL."""

    def prepare(self, spec: StreamSpec) -> None: ...

    def load(self, batches: list[Batch], state: dict[str, Any] | None) -> None: ...

    def activate_version(self, spec: StreamSpec, version: int) -> None: ...

    def close(self) -> None: ...


@dataclass
class Limits:
    rows: int = 100_000
    bytes: int = 64 * 1024 * 1024
    seconds: float = 60.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        return cls(
            rows=int(config.get("batch_size_rows") or config.get("batch_rows") or cls.rows),
            bytes=int(config.get("batch_size_bytes") or cls.bytes),
            seconds=float(
                config.get("batch_wait_limit_seconds") or config.get("batch_seconds") or cls.seconds
            ),
        )


__all__ = [
    "Batch",
    "Block",
    "CheckCode",
    "Limits",
    "Loader",
    "RowEncoder",
    "StreamSpec",
    "ValueRefused",
]
