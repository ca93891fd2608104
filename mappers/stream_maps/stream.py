"""The mapper's message loop: bytes in, bytes out.

A line of a stream no map applies to is copied as it came, never parsed: a chunk of input that
names no mapped stream at all is written in one piece. STATE lines pass untouched and in order.
Mapped records are parsed keeping every digit (decimals as Decimal, integers of any size) and
written back with tapwell.singer.wire, so a property the map does not touch arrives with the
value the tap sent.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import IO, Any

from orjson import dumps as orjson_dumps
from tapwell.singer.errors import ConfigError, ProtocolError
from tapwell.singer.wire import dumps

from .exact import loads_message
from .maps import MapFailure, MapperConfig, OutputMap, build_maps
from .rewrite import MEMO, Edit, Splice, edits_of, rewrite, splice_of, string_of

CHUNK = 1 << 20
# The head most taps write: {"type": "RECORD", "stream": "name", ...}; others are parsed.
_HEAD = re.compile(rb'\{\s*"type"\s*:\s*"([A-Z_]+)"\s*,\s*"stream"\s*:\s*"([^"\\]*)"')
_STATE = re.compile(rb'\{\s*"type"\s*:\s*"STATE"')
# A stream name with an escape in it. Only `\u` and `\/` spell a character in more than one way,
# so a chunk holding one of them and such a name may name a mapped stream in a spelling the
# chunk search does not know (`\/`, `\u0041`, upper-case hex): it takes the line-by-line path.
_ESCAPED_NAME = re.compile(rb'"stream"\s*:\s*"[^"\\]*\\')
_OTHER_SPELLING = re.compile(rb"\\[u/]")


class Mapper:
    """Holds the maps of every stream seen so far and turns input lines into output bytes."""

    def __init__(self, config: MapperConfig) -> None:
        self.config = config
        self.maps: dict[str, list[OutputMap]] = {}
        self.raw: dict[bytes, bool] = {}  # stream name -> its records pass as bytes
        self.edits: dict[bytes, list[Edit]] = {}  # stream name -> its in-place edits
        self.splices: dict[str, Splice] = {}  # stream name -> its one in-place edit, per chunk
        self.line_no = 0
        # names whose mention in a chunk needs the line-by-line path; None: always needed
        self.tokens: list[bytes] | None = None
        if not config.drop_unmapped and not any(ch in k for k in self._sources() for ch in "*?["):
            # as orjson and json.dumps write a name: raw UTF-8, or \u escapes
            self.tokens = [
                spelled
                for k in self._sources()
                for spelled in {json.dumps(k).encode(), orjson_dumps(k)}
            ]

    def _sources(self) -> list[str]:
        return [
            str(v["__source__"]) if isinstance(v, dict) and "__source__" in v else k
            for k, v in self.config.stream_maps.items()
        ]

    def chunk(self, data: bytes, out: list[bytes]) -> None:
        """Map a run of complete lines."""
        if (
            self.tokens is not None
            and not any(t in data for t in self.tokens)
            and not _may_spell_otherwise(data)
        ):
            self.line_no += data.count(b"\n")
            out.append(data)
            return
        splice = self._splice_for(data)
        if splice is None:
            self.lines(data, out)
        elif not self.spliced_whole(data, splice, out):
            self.spliced(data, splice, out)

    def lines(self, data: bytes, out: list[bytes]) -> None:
        """Map complete lines one by one."""
        for line in data.splitlines(keepends=True):
            self.line_no += 1
            self.line(line, out)

    def _splice_for(self, data: bytes) -> Splice | None:
        """The chunk search of the stream the chunk's first RECORD line names, if it has one."""
        if not self.splices:
            return None
        if len(self.splices) == 1:
            return next(iter(self.splices.values()))
        at = data.find(b'"RECORD"')
        head = _HEAD.match(data, data.rfind(b"\n", 0, at) + 1) if at >= 0 else None
        return self.splices.get(head.group(2).decode()) if head is not None else None

    def spliced_whole(self, data: bytes, splice: Splice, out: list[bytes]) -> bool:
        """Map a chunk in which every line is a RECORD of the stream written without blanks
        with the edited property a string or null at the record's top level (rewrite.py),
        or a STATE: one regular expression split cuts it at the values, the values are
        replaced by their hashes, and the pieces joined. False, with nothing written, when
        the chunk holds anything else (another line, the key twice in a line, a string to
        parse, broken UTF-8) or a value fails: `spliced` then maps it, and names the line."""
        if not data.endswith(b"\n"):
            return False
        text = b"\n" + data  # so each line starts after a newline, the first one too
        parts = splice.split(text)
        strings = parts[2::4]
        found, lines = len(strings), data.count(b"\n")
        if (found != lines and found + text.count(b'\n{"type":"STATE"') != lines) or data.count(
            splice.key
        ) != found:
            return False
        # the strings' bytes (a newline between them: no UTF-8 sequence spans two)
        joined = b"\n".join(filter(None, strings))
        if not (joined.isascii() or _is_utf8(joined)):
            return False
        memo = splice.memo
        if None not in memo and None in strings:
            try:
                memo[None] = orjson_dumps(splice.func(None))
            except Exception:  # as the parsed path reports it: `spliced` says which line
                return False
        memo_get, hex_of = memo.get, splice.hex_of_utf8
        try:
            if b"\\" not in joined:
                hashes = [memo_get(s) or hex_of(s) for s in strings]  # type: ignore[arg-type]
            else:
                escaped = self._escaped(splice)
                hashes = [
                    memo_get(s) or (hex_of(s) if b"\\" not in s else escaped(s))  # type: ignore[operator, arg-type]
                    for s in strings
                ]
        except Exception:  # a string to parse: `spliced` says which line
            return False
        if len(memo) < MEMO:
            memo.update(zip(strings, hashes))
        parts[2::4] = hashes
        parts[3::4] = _EMPTY * found  # a null's literal: its hash took the string's place
        at = 0 if parts[0] else 1  # the newline put before the chunk
        parts[at] = parts[at][1:]  # type: ignore[index]
        out.append(b"".join(parts))  # type: ignore[arg-type]
        self.line_no += lines
        return True

    @staticmethod
    def _escaped(splice: Splice) -> Callable[[bytes], bytes]:
        """The hash of a string with escapes, decoded as JSON decodes it."""
        hex_of = splice.hex_of_utf8

        def escaped(raw: bytes) -> bytes:
            string = string_of(raw)
            if string is None:
                raise ValueError("not a valid JSON string")
            return hex_of(string.encode("utf-8"))

        return escaped

    def spliced(self, data: bytes, splice: Splice, out: list[bytes]) -> None:
        """Map a chunk with one regular expression pass: each RECORD line of the stream written
        without blanks, whose edited property is a string or null at the record's top level
        (rewrite.py), has that value replaced by its hash and every other byte copied as it
        is. Lines between the matches (STATE, another stream, anything unusual) go line by
        line, in order; a SCHEMA among them that changes the stream's map sends the rest of the
        chunk line by line. When the key occurs in the chunk more often than there are matches,
        each matched line is checked for the key after its value (a key twice goes line by
        line)."""
        matches = list(splice.lines.finditer(data))
        twice = data.count(splice.key) != len(matches)
        key, memo, of_raw = splice.key, splice.memo, splice.hex_of_utf8
        find, memo_get = data.find, memo.get
        done = prev = 0  # data[done:] is not written yet; data[prev:] is not mapped yet
        counted = 0  # self.line_no counts the lines of data[:counted]
        for found in matches:
            start, eol = found.span()
            if start != prev or (twice and find(key, found.end(1), eol) >= 0):
                # lines to map one by one: those before the match, and the matched line itself
                # when it does not start a line (a nested object) or holds the key twice
                upto = start if start != prev and data[start - 1] == 10 else eol
                if twice and upto == start and find(key, found.end(1), eol) >= 0:
                    upto = eol
                out.append(data[done:prev])
                self.line_no += data.count(b"\n", counted, prev)
                self.lines(data[prev:upto], out)
                done = prev = counted = upto
                if self.splices.get(splice.stream) is not splice:
                    self.lines(data[prev:], out)
                    return
                if upto == eol:
                    continue
            text = found.group(2)
            value = memo_get(text)
            if value is None:
                value = self._hash(splice, text, of_raw, data, counted, start, out, done)
                if value is None:  # not sure of the string: map the line the ordinary way
                    out.append(data[done:start])
                    self.line_no += data.count(b"\n", counted, start)
                    self.lines(data[start:eol], out)
                    done = prev = counted = eol
                    continue
                if len(memo) < MEMO:
                    memo[text] = value
            if text is None:
                vs, ve = found.span(1)
            else:
                vs, ve = found.span(2)
            out.append(data[done:vs])
            out.append(value)
            done = ve
            prev = eol
        out.append(data[done:prev])
        self.line_no += data.count(b"\n", counted, prev)
        self.lines(data[prev:], out)  # the lines after the last match

    def _hash(
        self,
        splice: Splice,
        text: bytes | None,
        of_raw: Callable[[bytes], bytes],
        data: bytes,
        counted: int,
        start: int,
        out: list[bytes],
        done: int,
    ) -> bytes | None:
        """The replacement of one value: the hex of a string's hash (written between its
        quotes), or the JSON of the function's result for a null; None when the string's bytes
        need the parse (a bad escape, broken UTF-8). A failure names the line, after the output
        of the lines before it."""
        try:
            if text is None:
                return orjson_dumps(splice.func(None))
            if b"\\" not in text and text.isascii():
                return of_raw(text)
            string = string_of(text)
            return None if string is None else of_raw(string.encode("utf-8"))
        except Exception as exc:  # as the parsed path reports it
            out.append(data[done:start])
            self.line_no += data.count(b"\n", counted, start) + 1
            failure = MapFailure(splice.prop, splice.text, exc)
            raise self._failure(failure, splice.stream) from None

    def line(self, line: bytes, out: list[bytes]) -> None:
        head = _HEAD.match(line)
        if head is not None and head.group(1) == b"RECORD":
            passes = self.raw.get(head.group(2))
            if passes:
                out.append(line)
                return
            edits = self.edits.get(head.group(2))
            if edits is not None:
                try:
                    edited = rewrite(line, edits)
                except MapFailure as exc:
                    raise self._failure(exc, head.group(2).decode()) from None
                if edited is not None:
                    out.append(edited)
                    return
            if passes is None and not self.config.mentions(head.group(2).decode()):
                out.append(line)
                return
        elif head is None and _STATE.match(line):
            out.append(line)
            return
        if not line.strip():
            return
        try:
            message = loads_message(line)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(
                f"not a JSON message ({exc.__class__.__name__}); the tap wrote a broken line",
                line=self.line_no,
            ) from None
        if not isinstance(message, dict):
            raise ProtocolError("a message must be a JSON object", line=self.line_no)
        self.message(message, line, out)

    def message(self, message: dict[str, Any], line: bytes, out: list[bytes]) -> None:
        kind = message.get("type")
        stream = message.get("stream")
        if kind == "STATE" or not isinstance(stream, str):
            out.append(line)
            return
        if kind == "SCHEMA":
            self.schema(message, stream, line, out)
            return
        maps = self.maps.get(stream)
        if maps is None:
            if not self.config.mentions(stream):
                out.append(line)
                return
            raise ProtocolError(
                f"{kind} before the stream's SCHEMA", line=self.line_no, stream=stream
            )
        if self.raw.get(stream.encode()):
            out.append(line)
            return
        if kind == "RECORD":
            self.record(message, stream, maps, out)
        elif kind == "BATCH":
            raise ProtocolError(
                "a BATCH message of a mapped stream: its files cannot be mapped; turn batch "
                "messages off in the tap for this stream",
                line=self.line_no,
                stream=stream,
            )
        else:
            for m in maps:
                if not m.removed:
                    out.append(dumps({**message, "stream": m.alias}) + b"\n")

    def _failure(self, exc: MapFailure, stream: str) -> ProtocolError:
        return ProtocolError(
            f"expression {exc.text!r} failed on this record ({exc.kind}); fix the "
            "expression (e.g. guard nulls: `md5(x) if x else None`)",
            line=self.line_no,
            stream=stream,
            field=exc.prop or "__filter__",
        )

    def schema(self, message: dict[str, Any], stream: str, line: bytes, out: list[bytes]) -> None:
        schema = message.get("schema")
        if not isinstance(schema, dict):
            raise ProtocolError(
                "SCHEMA without a schema object", line=self.line_no, stream=stream, field="schema"
            )
        keys = message.get("key_properties")
        try:
            maps = build_maps(self.config, stream, schema, keys)
        except ConfigError as exc:
            raise ConfigError(
                f"input line {self.line_no}, the SCHEMA of stream {stream!r}: {exc}"
            ) from None
        self.maps[stream] = maps
        identity = len(maps) == 1 and maps[0].identity
        self.raw[stream.encode()] = identity
        edits = edits_of(maps, stream)
        if edits is None:
            self.edits.pop(stream.encode(), None)
        else:
            self.edits[stream.encode()] = edits
        splice = splice_of(edits, stream)
        if splice is None:
            self.splices.pop(stream, None)
        else:
            self.splices[stream] = splice
        if identity:
            out.append(line)
            return
        for m in maps:
            if m.removed:
                continue
            body = {
                **message,
                "stream": m.alias,
                "schema": m.schema,
                "key_properties": m.key_properties or [],
            }
            out.append(dumps(body) + b"\n")

    def record(
        self, message: dict[str, Any], stream: str, maps: list[OutputMap], out: list[bytes]
    ) -> None:
        record = message.get("record")
        if not isinstance(record, dict):
            raise ProtocolError(
                "RECORD without a record object", line=self.line_no, stream=stream, field="record"
            )
        for m in maps:
            try:
                mapped = m.apply(record)
            except MapFailure as exc:
                raise self._failure(exc, stream) from None
            if mapped is None:
                continue
            if len(maps) == 1 and m.alias == stream:
                message["record"] = mapped  # the one output: reuse the message
                out.append(dumps(message) + b"\n")
            else:
                out.append(dumps({**message, "stream": m.alias, "record": mapped}) + b"\n")


_EMPTY = [b""]


def _may_spell_otherwise(data: bytes) -> bool:
    """Whether a stream name in `data` may be spelled with an escape the tokens lack."""
    return _OTHER_SPELLING.search(data) is not None and _ESCAPED_NAME.search(data) is not None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def run(
    config: MapperConfig,
    source: IO[bytes],
    sink: IO[bytes],
    read: Callable[[int, int], bytes] = os.read,
    fd: int | None = None,
) -> None:
    """Map `source` into `sink` until end of input; output is flushed after every chunk read, so
    a STATE is never held back while the tap is quiet."""
    mapper = Mapper(config)
    fd = source.fileno() if fd is None else fd
    rest = b""
    while True:
        data = read(fd, CHUNK)
        if not data:
            break
        data = rest + data if rest else data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            _map_and_write(mapper, data[:cut], sink)
    if rest:
        _map_and_write(mapper, rest + b"\n", sink)


def _map_and_write(mapper: Mapper, data: bytes, sink: IO[bytes]) -> None:
    """Map a chunk and write it; on a failure, what was mapped before the bad line is still
    written (a STATE before it may then be committed downstream), and the error goes up."""
    out: list[bytes] = []
    try:
        mapper.chunk(data, out)
    finally:
        sink.write(b"".join(out))
        sink.flush()
