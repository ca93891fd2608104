"""The loop every tapwell target shares: messages in, STATE out only after commit.

A target is a `Loader` (create/evolve tables, load a batch and commit it atomically, apply
ACTIVATE_VERSION) plus this loop. The loop checks each record against its stream's compiled
schema, buffers records per stream, and flushes every stream together when a limit (rows, bytes,
seconds) is reached or the input ends. A STATE line is printed only when every record that came
before it has been committed: the state a runner saves never runs ahead of the data. How a
record joins its batch (checked, or encoded by the loader) is tapwell.sdk.target_lanes. A loader
that `overlaps` a full batch's load with reading the next has it loaded in a worker thread
(tapwell.sdk.target_behind); its STATE is still printed only after its commit. How the loop
commits is tapwell.sdk.target_commit; how its input comes, line by line or in blocks a raw lane
takes whole, tapwell.sdk.target_input.

Targets import it from tapwell.sdk.target (the public name); it lives here so that tapwell.sdk.target_cli
can build on it without importing tapwell.sdk.target, which re-exports the CLI (no import cycle).
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from tapwell.sdk import target_lanes as lanes
from tapwell.sdk.progress import Progress, configure_logging
from tapwell.sdk.target_batch import (
    FileRow,
    bad_batch,
    batch_files,
    batch_format,
    batch_rows,
    file_lines,
    file_record,
)
from tapwell.sdk.target_behind import Behind
from tapwell.sdk.target_commit import Commits
from tapwell.sdk.target_input import pieces
from tapwell.sdk.target_lanes import METADATA_COLUMNS, RAW_HEAD, RAW_MID, Lane
from tapwell.sdk.target_types import Batch, Limits, Loader, RowEncoder, StreamSpec
from tapwell.sdk.target_versions import VersionGuard
from tapwell.singer.errors import ProtocolError
from tapwell.singer.fraction_digits import FRACTIONS
from tapwell.singer.messages import (
    ActivateVersionMessage,
    BatchMessage,
    RecordMessage,
    SchemaMessage,
    StateMessage,
    UnknownMessageType,
)
from tapwell.singer.record_check import CheckCode, check_code
from tapwell.singer.wire import parse_line, sniff_record


class TargetLoop(Commits):
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
        # values cut to microseconds: said by this loop's logger, once per stream and field
        FRACTIONS.say = lambda text: self.log.warning("%s", text)
        FRACTIONS.said.clear()
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
        self.metadata = lanes.Metadata()  # the _sdc_ columns' values, with metadata_columns
        self.versions = VersionGuard(self.log)  # which ACTIVATE_VERSION may retire rows
        self.unknown_types: set[str] = set()  # message types skipped (each warned about once)
        self.states: list[tuple[int, dict[str, Any]]] = []  # (line, value) since the last flush
        self.load_failed = False  # the loader raised: what it refused is named by its line
        root = config.get("batch_root")  # the spool folder BATCH files must be in (the runner's)
        self.batch_root: str | None = str(root) if root else None
        self.keep_files = bool(config.get("batch_keep_files", False))
        self.files_pending = False  # BATCH files attached: the next STATE commits them
        # a limit reached: the batch is flushed at the next line, with it when that is a STATE
        self.flush_due = False
        self.read_files: list[tuple[str, bool]] = []  # jsonl files read whole: gone at next flush
        self.lanes: dict[str, Lane] = {}  # stream -> how a record joins its begun batch (_lane)
        # a begun batch whose loader reads RECORD lines itself (RowEncoder.raw): the stream's
        # name as our lines spell it -> what takes its lines as they are
        self.raw_lanes: dict[bytes, lanes.RawLane] = {}
        self.raw_streams: set[bytes] = set()  # every stream that had one (_pieces halves blocks)
        # `overlaps(batches) -> bool`: the loader may load those batches in a worker thread while
        # the loop reads on (target_behind); `behind`: that load, while one runs
        self.overlaps = getattr(loader, "overlaps", None)
        self.behind: Behind | None = None
        # `load_ahead(batches, state, after) -> bool`: a load behind may begin while the one
        # before it still commits (target_behind)
        self.load_ahead = getattr(loader, "load_ahead", None)

    # ------------------------------------------------------------------ messages

    def run(self, stream: IO[bytes] | None = None, source: str = "stdin") -> None:
        stream = stream if stream is not None else sys.stdin.buffer
        try:
            try:
                self._read(stream, source)
                if self.flush_due:  # a full batch last: loaded as it would be mid-input
                    self.flush(behind=True)
                self.flush()
            except ProtocolError:
                self._wait_behind()  # the batch loading behind a bad line: its error comes first
                raise
        except ProtocolError as exc:
            self._commit_before(exc.line)
            raise
        except BaseException:
            if self.behind is not None:  # let its commit (and its STATE) finish or fail first
                self.behind.wait()
                self.behind = None
            raise
        for name in self.progress.counts:
            self.progress.done(name)
        self.versions.warn()
        self.loader.close()

    def _read(self, stream: IO[bytes], source: str) -> None:
        """Every input line in order, counting bytes so a batch is also bounded by size. A RECORD
        (nearly every line) is taken apart by `sniff_record` and, when its stream's batch has
        begun, added by that batch's lane (`_lane`) right here, without a message object; every
        other line goes through `parse_line` and `on_record` & co., so errors read exactly as
        they always did, and a record is buffered the same way on either path.

        The counters live in locals, written back to `self` before anything else may read them;
        `_check_limits` runs only when a row or byte limit, or the next thousandth row, is due."""
        sniff, lanes = sniff_record, self.lanes
        raw_lanes, head, mid, at = self.raw_lanes, RAW_HEAD, RAW_MID, len(RAW_HEAD)
        line_no = 0
        bytes_read, buffered = self.bytes_read, self.buffered_rows
        due_rows, due_bytes = self._due()
        hot: str | None = None  # the stream whose lane `add` is
        add: Any = None
        for line in pieces(stream, raw_lanes, self.raw_streams):
            if type(line) is not bytes:  # a block of lines the loader takes as they are
                taker, data, n = line
                bytes_read += len(data)
                taker.take_block(data, line_no + 1, n)
                line_no += n
                buffered += n
                if buffered < due_rows and bytes_read < due_bytes:
                    continue
                self.bytes_read, self.buffered_rows = bytes_read, buffered
                self._check_block(taker.stream)
                hot = None
                buffered = self.buffered_rows
                due_rows, due_bytes = self._due()
                continue
            line_no += 1
            bytes_read += len(line)
            if raw_lanes and line.startswith(head):  # a line the loader may take as it is
                taker = raw_lanes.get(line[at : line.find(mid, at)])
                if taker is not None and taker.take(line, line_no):
                    buffered += 1
                    if buffered < due_rows and bytes_read < due_bytes:
                        continue
                    self.bytes_read, self.buffered_rows = bytes_read, buffered
                    self._check_limits(taker.stream)
                    hot = None
                    buffered = self.buffered_rows
                    due_rows, due_bytes = self._due()
                    continue
            obj = sniff(line)
            if obj is not None:
                if (
                    obj["stream"] != hot
                ):  # None below: its batch has not begun (the general way starts it)
                    hot = obj["stream"]
                    add = lanes.get(hot)
                if add is not None:
                    add(obj, line_no, line)
                    buffered += 1
                    if buffered < due_rows and bytes_read < due_bytes:
                        continue
                    self.bytes_read, self.buffered_rows = bytes_read, buffered
                    self._check_limits(obj["stream"])
                    hot = None
                    buffered = self.buffered_rows
                    due_rows, due_bytes = self._due()
                    continue
            self.bytes_read, self.buffered_rows = bytes_read, buffered
            hot = None
            self._message(line, line_no, source)
            bytes_read, buffered = self.bytes_read, self.buffered_rows
            due_rows, due_bytes = self._due()
        self.bytes_read, self.buffered_rows = bytes_read, buffered

    def _due(self) -> tuple[int, int]:
        """When `_check_limits` has something to do: the buffered row count (the row limit, or
        the next thousandth row) and the bytes read (the byte limit) it is due at."""
        rows = min(self.limits.rows, (self.buffered_rows // 1000 + 1) * 1000)
        return rows, self.flushed_at + self.limits.bytes

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
        except ProtocolError:
            if self.flush_due:  # the full batch before it loads first: its problem comes first
                self.flush(behind=True)
            raise
        if self.flush_due and not isinstance(msg, StateMessage):
            self.flush(behind=True)  # the full batch without a state of its own
        if isinstance(msg, RecordMessage):
            self.on_record(msg, line_no, line)
        elif isinstance(msg, SchemaMessage):
            self.on_schema(msg, line_no)
        elif isinstance(msg, StateMessage):
            self.on_state(msg.value, line_no)
        elif isinstance(msg, ActivateVersionMessage):
            self.on_activate(msg, line_no)
        elif isinstance(msg, BatchMessage):
            self.on_batch(msg, line_no)

    def on_schema(self, msg: SchemaMessage, line_no: int | None = None) -> None:
        self._wait_behind()  # the loader is not touched beside a load
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
        waiting = self.batches.get(msg.stream)
        if waiting is not None and (waiting.records or waiting.blocks):
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
        waiting = self.batches.get(msg.stream)
        if waiting is not None and not waiting.records and not waiting.blocks and not waiting.files:
            waiting.spec = spec  # its next rows or files are this SCHEMA's (the csv lane checks
            # a file's values against batch.spec: a widened scale must be the new one)

    def _row_encoder(self, spec: StreamSpec, code: CheckCode) -> RowEncoder | None:
        """The loader's row encoder for this SCHEMA, if it offers one. With metadata columns it
        encodes the record with its _sdc_* values, which `spec.schema` lists as properties."""
        make = getattr(self.loader, "row_encoder", None)
        if make is None:
            return None
        encoder: RowEncoder | None = make(spec, code)
        return encoder

    def on_record(self, msg: RecordMessage, line_no: int, line: bytes | None = None) -> None:
        """A RECORD taken the general way (`line`: its input line, when it has one)."""
        if self.flush_due:  # a jsonl BATCH's records after a full batch
            self.flush(behind=True)
        add = self.lanes.get(msg.stream) or self._begin(msg.stream, line_no)
        # the line as it is when the loader takes lines, so its batch stays all lines
        if not (line and self.raw_lanes and self._take(msg.stream, line, line_no, msg.version)):
            add(msg.to_dict(), line_no, line)
        self.buffered_rows += 1
        self._check_limits(msg.stream)

    def _begin(self, name: str, line_no: int) -> Lane:
        """Begin `name`'s batch at `line_no` and return its lane."""
        spec = self.specs.get(name)
        if spec is None:
            raise ProtocolError(
                "RECORD before its SCHEMA", line=line_no, stream=name, source=self._source
            )
        batch = self.batches.get(name)
        if batch is None:
            batch = self.batches[name] = Batch(spec)
        if not batch.records and not batch.blocks:
            batch.first_line = line_no
            batch.encoder = spec.encoder
        lane = self.lanes[name] = self._lane(batch)
        if batch.encoder is not None and batch.encoder.raw and not self.metadata_columns:
            self.raw_lanes[lanes.raw_key(name)] = lanes.raw_lane(batch)
            self.raw_streams.add(lanes.raw_key(name))
        return lane

    def _lane(self, batch: Batch) -> Lane:
        """How a RECORD joins `batch` (tapwell.sdk.target_lanes), until the next flush."""
        stamp = self.metadata.stamp if self.metadata_columns else None
        return lanes.lane(batch, stamp, self._name_source, self._new_version)

    def _new_version(self, batch: Batch, version: int) -> None:
        """A record of `batch` came with a table version other than the batch's last one."""
        batch.version = version
        self.versions.saw(batch.spec.name, version)

    def _check_limits(self, name: str) -> None:
        """After a record of `name` was buffered: flush at a row or byte limit, else every
        thousand rows let `_every_thousand` look at the batch's age."""
        if (
            self.buffered_rows >= self.limits.rows
            or self.bytes_read - self.flushed_at >= self.limits.bytes
        ):
            self._flush_due()
        elif self.buffered_rows % 1000 == 0:
            self._every_thousand(self.batches[name])

    def _check_block(self, name: str) -> None:
        """`_check_limits` after a block of records of `name` (which may step over a thousand)."""
        if (
            self.buffered_rows >= self.limits.rows
            or self.bytes_read - self.flushed_at >= self.limits.bytes
        ):
            self._flush_due()
        else:
            self._every_thousand(self.batches[name])

    def _every_thousand(self, batch: Batch) -> None:
        """Every thousand rows buffered: flush when the batch is old enough, else let the
        loader's encoder take what was read (RowEncoder.feed)."""
        if time.monotonic() - self.batch_started >= self.limits.seconds:
            self._flush_due()
        elif batch.encoder is not None and batch.encoder.feed is not None:
            batch.encoder.feed(batch)

    def _flush_due(self) -> None:
        """A limit was reached: the batch is flushed at the next line, so that a STATE right
        after it (the usual tap's, at a page's end) commits in its transaction. Flushed on its
        own, a crash between its commit and the state's would leave its rows committed past the
        state, sent again on resume (stored twice when appended). Its lanes are let go, so
        the next line comes the general way (`_message`), which flushes first when it is not a
        STATE."""
        self.flush_due = True
        self.lanes.clear()
        self.raw_lanes.clear()

    def on_state(self, value: dict[str, Any], line_no: int = 0) -> None:
        if not value and (self.pending_state or self.emitted_state):
            return  # an empty state after a non-empty one would throw every bookmark away
        self.pending_state = value
        self.states.append((line_no, value))  # should a later line be bad (_commit_before)
        if not self.buffered_rows or self.files_pending or self.flush_due:
            # nothing buffered: the loader still records the state, then it is printed; a full
            # batch commits with it
            self.flush(behind=True)

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
        """A BATCH in a format the loader reads itself (`batch_formats`): the files are handed
        to it whole, committed with the next STATE. Otherwise (singer-sdk's jsonl, optionally
        gzip) each file's lines are records, as if they had come as RECORD lines."""
        fmt = batch_format(msg)
        if fmt in getattr(self.loader, "batch_formats", ()):
            self._attach_files(msg, line_no)
            return
        if msg.version is not None:
            self.versions.saw(msg.stream, msg.version)
        spec = self.specs.get(msg.stream)
        if (
            fmt == "jsonl"
            and spec
            and spec.encoder
            # lines for a loader that reads them itself, or that reads a number's text from
            # them (RowEncoder.respell: a JSON document keeps `1.50`, as from RECORD lines)
            and ((spec.encoder.raw and not self.metadata_columns) or spec.encoder.respell)
        ):
            self._batch_lines(msg, line_no)
            return
        reads = getattr(self.loader, "batch_formats", ())
        for row, record, at in batch_rows(msg, line_no, self._source, self.batch_root, reads):
            self.bytes_read += len(row)  # a batch's size limit counts the file's records
            if record is not None:
                self.on_record(RecordMessage(msg.stream, record, version=msg.version), at)
        self.read_files += batch_files(msg, line_no, self._source, self.batch_root)
        self.files_pending = True  # the next STATE commits them (and deletes the files)

    def _batch_lines(self, msg: BatchMessage, line_no: int) -> None:
        """A jsonl BATCH for a loader that reads RECORD lines itself (RowEncoder.raw) or reads
        numbers' text from them (RowEncoder.respell): each file line that is an object becomes
        the RECORD line our writers would write for it, for the loader to take as it is; any
        other line, or one it does not take, is read the general way with that line (so a
        problem names the file and its line)."""
        head = lanes.RAW_HEAD + lanes.raw_key(msg.stream) + lanes.RAW_MID
        tail = b"}\n" if msg.version is None else b',"version":%d}\n' % msg.version
        for path, gz in batch_files(msg, line_no, self._source, self.batch_root):
            for row_no, row in enumerate(file_lines(msg, line_no, self._source, path, gz), 1):
                self.bytes_read += len(row)  # a batch's size limit counts the file's records
                stripped = row.rstrip(b"\r\n")
                if not stripped.strip():
                    continue
                at = FileRow(line_no, path, row_no)  # a refused value names the file's row
                if (
                    stripped.startswith(b"{")
                    and stripped.endswith(b"}")
                    and self._take(msg.stream, head + stripped[1:] + tail, at, msg.version)
                ):
                    self.buffered_rows += 1
                    self._check_limits(msg.stream)
                    continue
                record = file_record(msg, line_no, self._source, path, row_no, row)
                message = RecordMessage(msg.stream, record, version=msg.version)
                # with its RECORD line, which a loader storing JSON text reads numbers from
                self.on_record(message, at, head + stripped[1:] + tail)
            self.read_files.append((path, gz))
        self.files_pending = True  # the next STATE commits them (and deletes the files)

    def _take(self, name: str, line: bytes, line_no: int, version: int | None) -> bool:
        """`line` (a RECORD line of `name`) taken as it is by its batch's raw lane, if it has one."""
        if self.flush_due:  # a jsonl BATCH's records after a full batch
            self.flush(behind=True)
        if name not in self.lanes:
            self._begin(name, line_no)
        taker = self.raw_lanes.get(lanes.raw_key(name))
        if taker is None:
            return False
        batch = self.batches[name]
        if version is not None and version != batch.version:
            self._new_version(batch, version)
        return taker.take(line, line_no)

    def _attach_files(self, msg: BatchMessage, line_no: int) -> None:
        spec = self.specs.get(msg.stream)
        if spec is None:
            raise bad_batch(msg, line_no, self._source, "BATCH before its SCHEMA")
        files = batch_files(msg, line_no, self._source, self.batch_root)
        if self.buffered_rows:
            self.flush()  # the records before the BATCH go first, with the state before it
        batch = self.batches.get(msg.stream)
        if batch is None:
            batch = self.batches[msg.stream] = Batch(spec, first_line=line_no)
        if not batch.files:
            batch.first_line = line_no
        batch.files.extend(files)
        batch.version = msg.version
        if msg.version is not None:
            self.versions.saw(msg.stream, msg.version)
        self.files_pending = True
