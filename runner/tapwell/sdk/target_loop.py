"""The loop every tapwell target shares: messages in, STATE out only after commit.

A target is a `Loader` (create/evolve tables, load a batch and commit it atomically, apply
ACTIVATE_VERSION) plus this loop. The loop checks each record against its stream's compiled
schema, buffers records per stream, and flushes every stream together when a limit (rows, bytes,
seconds) is reached or the input ends. A STATE line is printed only when every record that came
before it has been committed: the state a runner saves never runs ahead of the data.

Targets import it from tapwell.sdk.target (the public name); it lives here so that tapwell.sdk.target_cli
can build on it without importing tapwell.sdk.target, which re-exports the CLI (no import cycle).
"""

from __future__ import annotations

import sys
import time
from bisect import bisect_right
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from tapwell.sdk.progress import Progress, configure_logging
from tapwell.sdk.target_batch import batch_rows
from tapwell.sdk.target_types import Batch, Limits, Loader, RowEncoder, StreamSpec, ValueRefused
from tapwell.sdk.target_versions import VersionGuard
from tapwell.singer.errors import ProtocolError
from tapwell.singer.messages import (
    ActivateVersionMessage,
    BatchMessage,
    RecordMessage,
    SchemaMessage,
    StateMessage,
    UnknownMessageType,
)
from tapwell.singer.schema import CheckCode, check_code
from tapwell.singer.wire import _DIGITS, _RUN, dumps, parse_line

METADATA_COLUMNS: dict[str, dict[str, Any]] = {
    "_sdc_extracted_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_received_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_batched_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_table_version": {"type": ["null", "integer"]},
    "_sdc_sequence": {"type": ["null", "integer"]},
}


class TargetLoop:
    def __init__(
        self,
        name: str,
        loader: Loader,
        config: dict[str, Any],
        out: IO[bytes] | None = None,
        *,
        limits: Limits | None = None,
        metadata_columns: bool | None = None,
    ) -> None:
        """`limits` and `metadata_columns` as a target's parsed settings give them; without, they
        are read from `config` (batch_size_rows, ..., add_metadata_columns)."""
        self.name = name
        self.loader = loader
        self.limits = limits if limits is not None else Limits.from_config(config)
        if metadata_columns is None:
            metadata_columns = bool(config.get("add_metadata_columns", False))
        self.metadata_columns = metadata_columns
        self.out = out if out is not None else sys.stdout.buffer
        self.log = configure_logging(name)
        self.progress = Progress(name)
        self.specs: dict[str, StreamSpec] = {}
        self.batches: dict[str, Batch] = {}
        self.buffered_rows = 0
        self.buffered_bytes = 0
        self.bytes_read = 0  # input bytes so far; a batch ends when limits.bytes were read since
        self.flushed_at = 0  # the last flush (every line counts, not only records)
        self.batch_started = time.monotonic()
        self.pending_state: dict[str, Any] | None = None
        self.emitted_state: dict[str, Any] | None = None
        self.sequence = 0
        self.batched_at = datetime.now(UTC).isoformat()  # _sdc_batched_at: when the batch began
        self.versions = VersionGuard(self.log)  # which ACTIVATE_VERSION may retire rows
        self.unknown_types: set[str] = set()  # message types skipped (each warned about once)
        self.states: list[tuple[int, dict[str, Any]]] = []  # (line, value) since the last flush
        self.load_failed = False  # the loader raised: what it refused is named by its line

    # ------------------------------------------------------------------ messages

    def run(self, stream: IO[bytes] | None = None, source: str = "stdin") -> None:
        stream = stream if stream is not None else sys.stdin.buffer
        try:
            self._read(stream, source)
            self.flush()
        except ProtocolError as exc:
            self._commit_before(exc.line)
            raise
        for name in self.progress.counts:
            self.progress.done(name)
        self.versions.warn()
        self.loader.close()

    def _read(self, stream: IO[bytes], source: str) -> None:
        """Every input line in order, counting bytes so a batch is also bounded by size. A
        well-formed RECORD joining a batch that has begun (nearly every line) is checked and
        buffered right here, without a message object or a call per line; every other line goes
        through `parse_line` and `on_record` & co., so errors read exactly as they always did.

        The batch being filled is held in locals (`hot`: its stream name, and the bound methods
        its rows go through) until anything else may have touched the batches: a flush, the
        thousand-row hook, or a line taken the general way. The counters live in locals too and
        are written back to `self` before any of those runs."""
        digits, run16 = _DIGITS, _RUN
        fast_loads, decode_error = orjson.loads, orjson.JSONDecodeError
        specs, batches, limits = self.specs, self.batches, self.limits
        max_rows, max_bytes = limits.rows, limits.bytes
        fast = not self.metadata_columns
        line_no = 0
        bytes_read = self.bytes_read
        buffered = self.buffered_rows
        flushed_at = self.flushed_at
        hot: str | None = None  # the stream whose batch the locals below are bound to
        batch: Any = None
        spec: Any = None
        append: Any = None  # batch.records.append
        encode: Any = None  # the encoder's encode, or None: check, and buffer the dict
        encode_clean: Any = None  # encode for a line without a backslash (RowEncoder)
        key: Any = None
        add_key: Any = None
        add_line: Any = None
        check: Any = None
        for line in stream:
            line_no += 1
            bytes_read += len(line)
            if fast and run16 not in line.translate(digits):
                try:
                    obj = fast_loads(line)
                except decode_error:
                    obj = None
                if type(obj) is dict and obj.get("type") == "RECORD":
                    record, name, version = obj.get("record"), obj.get("stream"), obj.get("version")
                    if name != hot or hot is None:
                        hot = None
                        spec = specs.get(name) if type(name) is str else None
                        batch = batches.get(name) if spec is not None else None  # type: ignore[arg-type]
                        if batch is not None and batch.records:
                            hot = name
                            append, add_line = batch.records.append, batch.lines.append
                            encoder = batch.encoder
                            check = spec.check
                            encode = encode_clean = key = add_key = None
                            if encoder is not None:
                                encode = encoder.encode
                                encode_clean = encoder.encode_clean or encode
                                if encoder.key is not None:
                                    key, add_key = encoder.key, batch.keys.append
                    if (
                        hot is not None
                        and type(record) is dict
                        and (version is None or type(version) is int)
                    ):
                        try:
                            if encode is None:
                                check(record, line_no)
                                append(record)
                            else:
                                try:
                                    if b"\\" in line:
                                        append(encode(record, line_no))
                                    else:  # no escape in the line: no string needs one
                                        append(encode_clean(record, line_no))
                                except ValueRefused as bad:
                                    self._refused(batch, spec, record, line_no, bad)
                                if key is not None:
                                    add_key(key(record))
                        except ProtocolError as exc:
                            self._name_source(exc)
                            raise
                        add_line(line_no)
                        if version is not None and version != batch.version:
                            batch.version = version
                            self.versions.saw(hot, version)
                        buffered += 1
                        if buffered >= max_rows or bytes_read - flushed_at >= max_bytes:
                            self.bytes_read, self.buffered_rows = bytes_read, buffered
                            self.flush()
                        elif buffered % 1000 == 0:
                            self.bytes_read, self.buffered_rows = bytes_read, buffered
                            self._every_thousand(batch)
                        else:
                            continue
                        hot = None
                        buffered, flushed_at = self.buffered_rows, self.flushed_at
                        continue
            self.bytes_read, self.buffered_rows = bytes_read, buffered
            hot = None
            self._message(line, line_no, source)
            bytes_read, buffered, flushed_at = self.bytes_read, self.buffered_rows, self.flushed_at
        self.bytes_read, self.buffered_rows = bytes_read, buffered

    def _message(self, line: bytes, line_no: int, source: str) -> None:
        """One line the general way: blank lines and unknown types skipped as `read_messages`
        does, every problem named by `parse_line`."""
        if not line.strip():  # blank, or only whitespace
            return
        try:
            msg = parse_line(line, line_no, source)
        except UnknownMessageType as exc:
            if exc.problem not in self.unknown_types:  # once per type: a tap may send thousands
                self.unknown_types.add(exc.problem)
                self.log.warning("%s line %d: %s, skipped", self._source, line_no, exc.problem)
            return
        if isinstance(msg, RecordMessage):
            self.on_record(msg, line_no)
        elif isinstance(msg, SchemaMessage):
            self.on_schema(msg, line_no)
        elif isinstance(msg, StateMessage):
            self.on_state(msg.value, line_no)
        elif isinstance(msg, ActivateVersionMessage):
            self.on_activate(msg, line_no)
        elif isinstance(msg, BatchMessage):
            self.on_batch(msg, line_no)

    def on_schema(self, msg: SchemaMessage, line_no: int | None = None) -> None:
        props = msg.schema.get("properties")
        for key in msg.key_properties:
            if not isinstance(props, dict) or key not in props:
                raise ProtocolError(
                    "key property is not a property of the schema (add it to the schema's "
                    "properties or take it out of key_properties)",
                    line=line_no,
                    stream=msg.stream,
                    field=key,
                    source=self._source,
                )
        if self.batches.get(msg.stream) and self.batches[msg.stream].records:
            self.flush()
        schema = msg.schema
        if self.metadata_columns:
            props = dict(schema.get("properties") or {})
            props.update(METADATA_COLUMNS)
            schema = dict(schema, properties=props)
        previous = self.specs.get(msg.stream)
        code = check_code(msg.stream, msg.schema, msg.key_properties)
        spec = StreamSpec(
            msg.stream,
            schema,
            list(msg.key_properties),
            code.compile(),
            previous.version if previous else None,
        )
        try:
            self.loader.prepare(spec)
        except ProtocolError as exc:  # a stream the destination refuses: named by its SCHEMA
            exc.line = line_no if exc.line is None else exc.line
            self._name_source(exc)
            raise
        self.specs[msg.stream] = spec
        spec.encoder = self._row_encoder(spec, code)

    def _row_encoder(self, spec: StreamSpec, code: CheckCode) -> RowEncoder | None:
        """The loader's row encoder for this SCHEMA, if it offers one. With metadata columns it
        encodes the record with its _sdc_* values, which `spec.schema` lists as properties."""
        make = getattr(self.loader, "row_encoder", None)
        if make is None:
            return None
        encoder: RowEncoder | None = make(spec, code)
        return encoder

    def on_record(self, msg: RecordMessage, line_no: int) -> None:
        spec = self.specs.get(msg.stream)
        if spec is None:
            raise ProtocolError(
                "RECORD before its SCHEMA", line=line_no, stream=msg.stream, source=self._source
            )
        record = msg.record
        batch = self.batches.get(msg.stream)
        if batch is None:
            batch = self.batches[msg.stream] = Batch(spec, first_line=line_no)
        if not batch.records:
            batch.first_line = line_no
            batch.encoder = spec.encoder
        encoder = batch.encoder
        try:
            if encoder is None:
                spec.check(record, line_no)
                if self.metadata_columns:
                    record = self._with_metadata(record, msg)
                batch.records.append(record)
            else:
                if self.metadata_columns:  # the encoder checks the tap's fields, as spec.check
                    record = self._with_metadata(record, msg)
                try:
                    batch.records.append(encoder.encode(record, line_no))
                except ValueRefused as bad:
                    self._refused(batch, spec, record, line_no, bad)
                if encoder.key is not None:
                    batch.keys.append(encoder.key(record))
        except ProtocolError as exc:
            self._name_source(exc)
            raise
        batch.lines.append(line_no)
        if msg.version is not None and msg.version != batch.version:
            batch.version = msg.version
            self.versions.saw(msg.stream, msg.version)
        self.buffered_rows += 1
        if (
            self.buffered_rows >= self.limits.rows
            or self.bytes_read - self.flushed_at >= self.limits.bytes
        ):
            self.flush()
        elif self.buffered_rows % 1000 == 0:
            self._every_thousand(batch)

    def _every_thousand(self, batch: Batch) -> None:
        """Every thousand rows buffered: flush when the batch is old enough, else let the
        loader's encoder take what was read (RowEncoder.feed)."""
        if time.monotonic() - self.batch_started >= self.limits.seconds:
            self.flush()
        elif batch.encoder is not None and batch.encoder.feed is not None:
            batch.encoder.feed(batch)

    def on_state(self, value: dict[str, Any], line_no: int = 0) -> None:
        if not value and (self.pending_state or self.emitted_state):
            return  # an empty state after a non-empty one would throw every bookmark away
        self.pending_state = value
        self.states.append((line_no, value))  # should a later line be bad (_commit_before)
        if not self.buffered_rows:
            self.flush()  # nothing buffered: the loader still records the state, then it is printed

    def on_activate(self, msg: ActivateVersionMessage, line_no: int) -> None:
        spec = self.specs.get(msg.stream)
        if spec is None:
            raise ProtocolError(
                "ACTIVATE_VERSION before its SCHEMA",
                line=line_no,
                stream=msg.stream,
                source=self._source,
            )
        self.flush()
        if msg.stream in self.batches:
            self.batches[msg.stream].version = None
        spec.version = msg.version
        if self.versions.may_retire(msg):
            self.loader.activate_version(spec, msg.version)

    def on_batch(self, msg: BatchMessage, line_no: int) -> None:
        """singer-sdk BATCH with jsonl (optionally gzip) files: each file's lines are records."""
        for row, record in batch_rows(msg, line_no, self._source):
            self.bytes_read += len(row)  # a batch's size limit counts the file's records
            if record is not None:
                self.on_record(RecordMessage(msg.stream, record), line_no)

    # ------------------------------------------------------------------ commit

    def flush(self) -> None:
        """Commit what is buffered with the pending state, then print that state."""
        batches = [b for b in self.batches.values() if b.records]
        new_state = self.pending_state is not None and self.pending_state != self.emitted_state
        if batches or new_state:
            for b in batches:
                self.progress.add(b.spec.name, len(b.records))
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
                b.records = []
                b.lines = []
                b.keys = []
                b.refused = {}
        self.buffered_rows = 0
        self.states = []
        self.batched_at = datetime.now(UTC).isoformat()
        self.flushed_at = self.bytes_read
        self.batch_started = time.monotonic()
        if self.pending_state is not None:
            self._emit_state()

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
            n = bisect_right(b.lines, state_line)
            self.batches[name] = replace(
                b,
                records=b.records[:n],
                lines=b.lines[:n],
                keys=b.keys[:n],
                refused={i: why for i, why in b.refused.items() if i < n},
            )
        self.flush()

    def _refused(
        self,
        batch: Batch,
        spec: StreamSpec,
        record: dict[str, Any],
        line_no: int,
        bad: ValueRefused,
    ) -> None:
        """A value the destination cannot store: a schema problem anywhere in the record is
        still reported first and now (as the plain check would); otherwise the row keeps its
        place, and the loader reports it if and when it loads it, as it does with dicts."""
        spec.check(record, line_no)
        batch.refused[len(batch.records)] = bad
        batch.records.append(None)

    def _name_source(self, exc: ProtocolError) -> None:
        exc.source = self._source
        exc.args = (exc.describe(),)

    def _emit_state(self) -> None:
        value = self.pending_state
        self.pending_state = None
        if value is None or (not value and self.emitted_state):
            return  # never an empty state after a non-empty one
        if value == self.emitted_state:
            return
        self.out.write(dumps(value) + b"\n")  # every digit of every bookmark
        self.out.flush()
        self.emitted_state = value

    # ------------------------------------------------------------------ helpers

    _source = "stdin"

    def _with_metadata(self, record: dict[str, Any], msg: RecordMessage) -> dict[str, Any]:
        self.sequence += 1
        out = dict(record)
        out["_sdc_extracted_at"] = msg.time_extracted
        out["_sdc_received_at"] = datetime.now(UTC).isoformat()
        out["_sdc_batched_at"] = self.batched_at  # as singer-sdk: the time its batch began
        out.setdefault("_sdc_deleted_at", None)
        out["_sdc_table_version"] = msg.version
        out["_sdc_sequence"] = int(time.time() * 1000) * 1000 + self.sequence % 1000
        return out
