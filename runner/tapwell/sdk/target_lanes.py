"""How a RECORD joins its stream's begun batch in the target loop (tapwell.sdk.target_loop): its
record checked, or encoded by the loader's row encoder, appended with its input line, its table
version noted; and the `_sdc_*` metadata columns stamped on it when the target adds them.

A lane is made once per batch and called for nearly every input line, so it binds the few names
it uses as closure variables (each costs every call); the rare paths go through callbacks."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import orjson

from tapwell.sdk.target_types import Batch, Block, RowEncoder, ValueRefused
from tapwell.singer.errors import ProtocolError
from tapwell.singer.wire import dumps, loads_spelled, may_respell, needs_exact

# Adds a RECORD to its begun batch: (its message object, line number, input line or None).
Lane = Callable[[dict[str, Any], int, bytes | None], None]
# How tapwell's writers begin a RECORD line (tapwell.singer.wire.MessageWriter, tap-csv's lines):
# RAW_HEAD, the stream's name as JSON writes it, RAW_MID.
RAW_HEAD = b'{"type":"RECORD","stream":"'
RAW_MID = b'","record":{'
# Stamps a record with the _sdc_ columns of its RECORD message (Metadata.stamp).
Stamp = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]

METADATA_COLUMNS: dict[str, dict[str, Any]] = {
    "_sdc_extracted_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_received_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_batched_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_table_version": {"type": ["null", "integer"]},
    "_sdc_sequence": {"type": ["null", "integer"]},
}


class Metadata:
    """The `_sdc_*` columns as singer-sdk writes them: `_sdc_batched_at` is when the batch began
    (`new_batch` at each flush), `_sdc_sequence` grows with each record."""

    def __init__(self) -> None:
        self.sequence = 0
        self.batched_at = datetime.now(UTC).isoformat()

    def new_batch(self) -> None:
        self.batched_at = datetime.now(UTC).isoformat()

    def stamp(self, record: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        """The record with the _sdc_ columns of its RECORD `message`."""
        self.sequence += 1
        out = dict(record)
        out["_sdc_extracted_at"] = message.get("time_extracted")
        out["_sdc_received_at"] = datetime.now(UTC).isoformat()
        out["_sdc_batched_at"] = self.batched_at
        out.setdefault("_sdc_deleted_at", None)
        out["_sdc_table_version"] = message.get("version")
        out["_sdc_sequence"] = int(time.time() * 1000) * 1000 + self.sequence % 1000
        return out


def refused(batch: Batch, record: dict[str, Any], line_no: int, bad: ValueRefused) -> None:
    """A value the destination cannot store: a schema problem anywhere in the record is still
    reported first and now (as the plain check would); otherwise the row keeps its place, and
    the loader reports it if and when it loads it, as it does with dicts."""
    batch.spec.check(record, line_no)
    batch.refused[len(batch.records)] = bad
    batch.records.append(None)


def lane(
    batch: Batch,
    stamp: Stamp | None,
    name_source: Callable[[ProtocolError], None],
    new_version: Callable[[Batch, int], None],
) -> Lane:
    """The one way a RECORD joins a batch that has begun, on either of the loop's paths: checked
    (or encoded, `encoding_lane`) and appended with its input line, its version noted
    (`new_version`); `stamp` adds the metadata columns; `name_source` names the input in an
    error. Bound to the batch's lists, so the loop forgets every lane when it flushes."""
    if batch.encoder is not None:
        return encoding_lane(batch, batch.encoder, stamp, name_source, new_version)
    check, append, add_line = batch.spec.check, batch.records.append, batch.lines.append

    def add(message: dict[str, Any], line_no: int, line: bytes | None) -> None:
        record = message["record"]
        try:
            check(record, line_no)
        except ProtocolError as exc:
            name_source(exc)
            raise
        append(record if stamp is None else stamp(record, message))
        add_line(line_no)
        version = message.get("version")
        if version is not None and version != batch.version:
            new_version(batch, version)

    return add


def encoding_lane(
    batch: Batch,
    encoder: RowEncoder,
    stamp: Stamp | None,
    name_source: Callable[[ProtocolError], None],
    new_version: Callable[[Batch, int], None],
) -> Lane:
    """`lane` for a batch of the loader's encoded rows (and their keys, for its dedupe)."""
    encode, encode_clean = encoder.encode, encoder.encode_clean or encoder.encode
    key, append, add_line = encoder.key, batch.records.append, batch.lines.append
    respell = encoder.respell
    keep = batch.texts.append if encoder.keep_lines else None

    def add(message: dict[str, Any], line_no: int, line: bytes | None) -> None:
        record = message["record"]
        if respell is not None and line is not None:
            record = respell(record, line)
        if stamp is not None:  # the encoder checks the tap's fields, as spec.check
            record = stamp(record, message)
        try:
            try:  # a line without a backslash: none of its strings needs escaping
                if line is not None and b"\\" not in line:
                    append(encode_clean(record, line_no))
                else:
                    append(encode(record, line_no))
            except ValueRefused as bad:
                refused(batch, record, line_no, bad)
            if key is not None:
                batch.keys.append(key(record))
        except ProtocolError as exc:
            name_source(exc)
            raise
        add_line(line_no)
        if keep is not None:
            keep(line)
        version = message.get("version")
        if version is not None and version != batch.version:
            new_version(batch, version)

    return add


def respeller(
    props: Collection[str] | None,
) -> Callable[[dict[str, Any], bytes], dict[str, Any]]:
    """RowEncoder.respell for a loader that stores the JSON text of `props` (None: of the whole
    record). A record is kept as it is when its line holds each of those objects and arrays as
    `dumps` writes it (`"prop":{...}`, as our writers write them: their numbers are spelled as
    the line spells them) where the record's own property stands, or when the line holds no
    number the reader may have spelled otherwise (tapwell.singer.wire.may_respell); else those
    values are read again from the line, every number as it was written (`1.50`, `1E5`, `-0`).
    `"prop":{...}` is the record's own when each place the line holds the key begins it
    (`everywhere`): `{"doc":{"a":1.50},"other":{"doc":{"a":1.5}}}` holds doc's value as orjson
    writes it, inside `other`."""
    keys = None if props is None else [(p, dumps(p)) for p in props]
    text = orjson.dumps  # what dumps calls for JSON's own types; it refuses others (Decimal)
    # what an escape in a line must spell to spell one of those keys otherwise (key_escapes)
    units = set().union(*(key_units(p) for p, _ in keys)) if keys else set()
    slashed = any("/" in p for p, _ in keys or ())

    def as_written(record: dict[str, Any], line: bytes) -> bool:
        try:
            if keys is None:
                return everywhere(line, b'"record"', b'"record":' + text(record))
            for prop, key in keys:
                value = record.get(prop)
                if value is None:
                    continue
                kind = type(value)  # (a number's text may begin another's: 1.5 of 1.50)
                if kind is not dict and kind is not list:
                    return False
                found = key + b":" + text(value)
                at = line.find(key)  # the usual line: its one key, followed by the text
                usual = at >= 0 and line.startswith(found, at) and line.find(key, at + 1) < 0
                if not (usual or everywhere(line, key, found)):
                    return False
        except TypeError:
            return False
        # everywhere's test, once per line, of the escapes that could spell one of the keys
        if b"\\" not in line:  # (one byte, a backslash, is found fastest)
            return True
        spelled, slash = key_escapes(line)
        return not (spelled & units or (slash and slashed))

    def respell(record: dict[str, Any], line: bytes) -> dict[str, Any]:
        if as_written(record, line) or not may_respell(line):
            return record
        again = loads_spelled(line).get("record")
        if type(again) is not dict:  # pragma: no cover - the loop read it as a RECORD line
            return record
        if keys is None:
            return again
        return {**record, **{p: again[p] for p, _ in keys if p in again and p in record}}

    return respell


def everywhere(line: bytes, key: bytes, *texts: bytes) -> bool:
    """Whether each place a JSON line holds `key` (a key as `dumps` writes it, quotes and all)
    begins one of `texts` (each `key` and what follows it, e.g. `"doc":{"a":1.5}`), at least
    one, and no escape could spell the key otherwise (`\\u`, `\\/`): then the record's own
    property of that name, which the line writes as `key`, is followed by one of them.
    (`{"doc":{"a":1.50},"other":{"doc":{"a":1.5}}}` holds `"doc":{"a":1.5}`, but not where
    doc's own value stands.) Keys in valid JSON never overlap, so counting them is exact."""
    if escaped(line):
        return False
    keys = line.count(key)
    if keys == 1:  # the usual line: found at all is found there
        return any(t in line for t in texts)
    return keys > 0 and keys == sum(line.count(t) for t in texts)


def key_units(prop: str) -> set[bytes]:
    """The UTF-16 units of a key's characters as 4 lower-case hex digits: what a `\\u` escape
    must spell to spell the key otherwise than `dumps` writes it (key_escapes)."""
    units = prop.encode("utf-16-be")
    return {units[i : i + 2].hex().encode() for i in range(0, len(units), 2)}


def key_escapes(data: bytes) -> tuple[set[bytes], bool]:
    """(the UTF-16 units the `\\u` escapes of JSON text spell, as 4 lower-case hex digits,
    whether it holds a `\\/`): a key none of whose characters is among them is written as
    `dumps` writes it. One byte, a backslash, is looked for (memchr's speed; b"\\u" is
    searched ten times slower), and an escape's second byte is never taken for a first."""
    spelled: set[bytes] = set()
    slash = False
    at = data.find(b"\\")
    while at >= 0:
        escaped = data[at + 1 : at + 2]
        if escaped == b"u":
            spelled.add(data[at + 2 : at + 6].lower())
        elif escaped == b"/":
            slash = True
        at = data.find(b"\\", at + 2)
    return spelled, slash


def escaped(line: bytes) -> bool:
    """Whether a JSON line holds a `\\u` or `\\/` escape, which may spell a key otherwise than
    `dumps` writes it (one byte, a backslash, is looked for first: it is found ten times faster)."""
    return b"\\" in line and (b"\\u" in line or b"\\/" in line)


def raw_key(stream: str) -> bytes:
    """The stream's name as it stands between RAW_HEAD and RAW_MID in a line of ours."""
    return dumps(stream)[1:-1]


class RawLane:
    """Takes RECORD lines of `batch`'s stream as they are, when the loader can read them itself:
    a line that ends the record, and the message, as our writers do (with the batch's version,
    or none), and, when the loader's reading may lose a number's digits (`digits`,
    RowEncoder.raw_digits), without a number only the exact parser reads exactly (a run of 16
    digits, a three-digit exponent: see tapwell.singer.wire). Anything else goes the general
    way, which also notes a new version. The loader looks for what else the general way would
    have seen (malformed JSON, a record its schema refuses) and decodes the lines with its
    encoder if it finds any."""

    def __init__(
        self, batch: Batch, stream: str, digits: bool = True, blocks: bool = False
    ) -> None:
        self.batch, self.stream = batch, stream
        self.prefix = RAW_HEAD + raw_key(stream) + RAW_MID
        self.append, self.add_line = batch.records.append, batch.lines.append
        # with RowEncoder.blocks: lines taken while the batch has no other record are kept
        # whole, as they were read (Batch.blocks)
        self.blocks = batch.blocks if blocks else None
        self.ends: dict[int | None, bytes] = {None: b"}}\n"}
        # needs_exact, or nothing to look for (about 0.25 CPU s per 100 MB of lines)
        self.exact: Callable[[bytes], bool] = needs_exact if digits else _never

    def end(self) -> bytes:
        """How each line of the batch's version ends."""
        version = self.batch.version
        found = self.ends.get(version)
        if found is None:
            found = self.ends[version] = b'},"version":' + str(version).encode() + b"}\n"
        return found

    def take(self, line: bytes, line_no: int) -> bool:
        """Take one line (its prefix was matched by the caller); False: the general way."""
        if not line.endswith(self.end()) or self.exact(line):
            return False
        if self.blocks is not None and not self.batch.records:
            self.blocks.append(Block(line_no, 1, line))
            return True
        self.append(line)
        self.add_line(line_no)
        return True

    def takes_block(self, data: bytes, lines: int) -> bool:
        """Whether every one of the `lines` lines of `data` (each ending in a newline) would be
        taken: each begins with the stream's prefix and ends as `take` wants, none holds a run
        of 16 digits (when the lane looks for them), and no line holds a carriage return (so
        lines split only at newlines). One count finds the lines' ends and the next lines'
        beginnings together: `end` + prefix holds one newline (prefix none), so its places never
        overlap, one per line boundary where both hold (0.03 s per 100 MB, where counting each
        took 0.11)."""
        end = self.end()
        return (
            data.startswith(self.prefix)
            and data.endswith(end)
            and data.count(end + self.prefix) == lines - 1
            and b"\r" not in data
            and not self.exact(data)
        )

    def take_block(self, data: bytes, first_line: int, count: int | None = None) -> int:
        """Take every line of `data` (see takes_block), the first being input line
        `first_line`; returns how many (`count`, when the caller counted them). Kept whole
        (Batch.blocks) when the loader takes blocks and the batch holds no other record."""
        if count is None:
            count = data.count(b"\n")
        if self.blocks is not None and not self.batch.records:
            self.blocks.append(Block(first_line, count, data))
            return count
        self.batch.records.extend(data.splitlines(keepends=True))
        self.batch.lines.extend(range(first_line, first_line + count))
        return count


def _never(data: bytes) -> bool:
    return False


def raw_lane(batch: Batch) -> RawLane:
    """The raw lane of `batch` (RowEncoder.raw, RowEncoder.raw_digits, RowEncoder.blocks)."""
    encoder = batch.encoder
    digits = encoder is None or encoder.raw_digits
    return RawLane(batch, batch.spec.name, digits, encoder is not None and encoder.blocks)


__all__ = [
    "METADATA_COLUMNS",
    "RAW_HEAD",
    "RAW_MID",
    "Lane",
    "Metadata",
    "RawLane",
    "encoding_lane",
    "lane",
    "raw_key",
    "raw_lane",
    "refused",
    "respeller",
    "everywhere",
    "key_escapes",
    "key_units",
]
