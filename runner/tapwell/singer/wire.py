"""Singer messages on the wire: a line reader and a writer, both on orjson.

Exactness rules kept here, once, for every tap and target:

- A Decimal is written as the JSON number it is (orjson.Fragment), never through float.
- A number is read as a float only when a float holds it exactly (at most 15 significant digits,
  an exponent of at most two digits); a line with another number is parsed with
  `parse_float=Decimal` and arbitrary-size integers.
- Datetimes are written ISO 8601 with their offset (naive ones are taken as UTC); dates stay dates.
  orjson writes an offset in hours and minutes only (+05:30:15 as +05:30, +00:19:32 as +00:20:
  the instant moves), so a datetime whose offset has seconds (historical LMT zones such as
  Europe/Amsterdam before 1937) is written in UTC instead: the same instant, and every target
  reads it. `dumps` (STATE, SCHEMA, the mapper's records) checks each datetime; the hot
  `write_record` leaves them to orjson, so a tap that hands it datetimes from such a zone passes
  them through `exact_instant` (tapwell's taps read their sources in UTC sessions).
- A number keeps its spelling where a target stores JSON text (a document, a JSONL line): a line
  that may hold one the readers above would write back otherwise (`1.50`, `1E5`, `-0`,
  `0.000001`: `may_respell`) is read again by `loads_spelled`, whose numbers (`JsonNumber`)
  `dumps` writes as they were written.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import IO, Any

import orjson

from tapwell.singer.errors import ProtocolError, TruncatedInput
from tapwell.singer.messages import (
    ActivateVersionMessage,
    Message,
    RecordMessage,
    StateMessage,
    UnknownMessageType,
    from_dict,
)

# A run of 16+ digits (optionally with a point) may not survive a float: parse that line exactly.
# orjson also turns integers past 64 bits into floats, which this catches too. So may an exponent
# of three digits: 1e-400 underflows to 0.0 and 2.5e-324 becomes 5e-324 without an error (a
# double's exact range ends near 1e-308). Found without a regex (5x faster on a typical record
# line): digits and points become "9", "e"/"E" become "e", signs "s", everything else " ", then
# look for 16 nines, or an "e" with three digits after it (a superset of \d[\d.]{15} and of
# \d[eE][-+]?\d{3}: a run may start with a point, and text such as "1e100" in a string matches
# too, which only costs the slower reader).
_DIGITS = bytes(
    ord("9") if c in b"0123456789." else ord("e") if c in b"eE" else ord("s") if c in b"+-" else 32
    for c in range(256)
)
_RUN = b"9" * 16
_EXPONENTS = re.compile(
    rb"9es?999"
)  # one search: 0.19 against 0.26 s CPU per 100 MB of orders lines


def needs_exact(raw: bytes) -> bool:
    """Whether a line (or block of lines) may hold a number that a float does not hold exactly:
    such a line is read by `loads`'s exact path, never by orjson alone."""
    digits = raw.translate(_DIGITS)
    return _RUN in digits or (b"9e" in digits and _EXPONENTS.search(digits) is not None)


_OPTS = orjson.OPT_NAIVE_UTC
# `dumps` has orjson pass date, time and datetime values to `_default`, which checks the offset.
_DUMPS_OPTS = _OPTS | orjson.OPT_PASSTHROUGH_DATETIME


def exact_instant(value: datetime) -> datetime:
    """`value`, or the same instant in UTC when its offset has seconds orjson would drop."""
    offset = value.utcoffset()
    if offset is not None and (offset.seconds % 60 or offset.microseconds):
        return value.astimezone(UTC)
    return value


class JsonNumber(Decimal):
    """A JSON number as `loads_spelled` reads it: its exact value (a Decimal, so it checks,
    compares and converts as one) and its text as the source wrote it, which `dumps` writes back
    (a Decimal's own text would be `1E+5` for `1E5`)."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


# A number whose text the fast readers would not write back as it is: an exponent (1E5, 1e+5),
# an integer -0, a fraction with five leading zeros (0.000001: orjson writes 1e-6, a Decimal
# 1E-7) or ending in 0 after another digit (1.50, 2.00; `1.0` stays). Found as needs_exact finds
# its numbers (one translate, then substrings; 5x faster than one regex): digits become "9" but
# 0 stays "0", "e"/"E" become "e", a delimiter that may end a number (`,`, `]`, `}`, a blank)
# ",", points and minus signs stay, anything else " ". A fraction ending in 0 is then confirmed
# by a regex over the line. Text in a string that looks like such a number (`"a 2e"`, a time's
# `.000001`) only costs a second reading; a time's `:00.500000+00:00` is no such number.
# tests/singer/test_wire_spelled.py checks on random spellings that a line this does not find
# reads and writes back unchanged.
_SPELLING = bytes(
    c if c in b"0.-" else ord("9") if c in b"123456789" else ord("e") if c in b"eE"
    else ord(",") if c in b",]} \t\r\n" else 32
    for c in range(256)
)  # fmt: skip
_FRACTION_ZERO = re.compile(rb"\.[0-9]*[0-9]0[,\]}\s]")


def may_respell(raw: bytes) -> bool:
    """Whether a line may hold a number that `loads` would write back spelled otherwise (`1.50`
    as 1.5): a target that stores JSON text reads such a line again with `loads_spelled`."""
    t = raw.translate(_SPELLING)
    return (
        b"9e" in t
        or b"0e" in t
        or b"-0," in t
        or b".00000" in t
        or (b"0," in t and _FRACTION_ZERO.search(raw) is not None)
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return orjson.Fragment(orjson.dumps(exact_instant(value), option=_OPTS))
    if isinstance(value, (date, time)):
        return orjson.Fragment(orjson.dumps(value, option=_OPTS))
    if isinstance(value, Decimal):
        if type(value) is JsonNumber:
            return orjson.Fragment(value.text)
        if not value.is_finite():
            raise TypeError(f"{value} is not a JSON number")
        return orjson.Fragment(str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _big_ints(value: Any) -> Any:
    """orjson refuses integers past 64 bits; write those as exact number fragments."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**64 else orjson.Fragment(str(value))
    if isinstance(value, dict):
        return {k: _big_ints(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_big_ints(v) for v in value]
    return value


def dumps(obj: Any, option: int = 0) -> bytes:
    """Encode one JSON value the way every tapwell message is encoded."""
    try:
        return orjson.dumps(obj, default=_default, option=_DUMPS_OPTS | option)
    except TypeError as exc:
        if "Recursion" in str(exc):  # orjson writes at most 255 levels; the reader takes 1024
            return _dumps_deep(obj, option)
        if "64-bit" not in str(exc):
            raise
        return orjson.dumps(_big_ints(obj), default=_default, option=_DUMPS_OPTS | option)


def _dumps_deep(obj: Any, option: int) -> bytes:
    """`dumps` for a value nested deeper than orjson writes, without recursion: containers are
    written here, every other value by orjson (so numbers, strings and dates read the same)."""
    tail = b"\n" if option & orjson.OPT_APPEND_NEWLINE else b""
    leaf_option = option & ~orjson.OPT_APPEND_NEWLINE & ~orjson.OPT_INDENT_2
    sort = bool(option & orjson.OPT_SORT_KEYS)
    out: list[bytes] = []
    todo: list[Any] = [obj]  # values to write, and bytes to copy, in reverse order
    while todo:
        item = todo.pop()
        if isinstance(item, bytes):
            out.append(item)
        elif isinstance(item, dict):
            parts: list[Any] = [b"{"]
            pairs = sorted(item.items()) if sort else item.items()
            for n, (key, value) in enumerate(pairs):
                if not isinstance(key, str):
                    raise TypeError("Dict key must be str")
                parts += [b"," if n else b"", orjson.dumps(key) + b":", value]
            parts.append(b"}")
            todo.extend(reversed(parts))
        elif isinstance(item, (list, tuple)):
            parts = [b"["]
            for n, value in enumerate(item):
                parts += [b"," if n else b"", value]
            parts.append(b"]")
            todo.extend(reversed(parts))
        else:
            out.append(dumps(item, leaf_option))
    return b"".join(out) + tail


class UnreadableJSON(ValueError):
    """A line that is JSON, or nearly, but holds what no tapwell reader takes: NaN or Infinity,
    an integer past Python's 4300-digit conversion limit, nesting past what a reader holds."""


def _no_constant(name: str) -> Any:
    raise UnreadableJSON(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def loads(line: bytes | str) -> Any:
    """Decode one JSON value, keeping every digit of every number. Raises ValueError (orjson's
    JSONDecodeError, or UnreadableJSON) for anything that is not a JSON value we can hold."""
    raw = line.encode() if isinstance(line, str) else line
    if not needs_exact(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if "infinity when parsed as double" not in str(exc):
                raise
            # a number past a double's range (1e400): valid JSON, read exactly below
    return _loads_exact(raw, Decimal, int)


def loads_spelled(line: bytes | str) -> Any:
    """`loads`, every number keeping its text: each fraction or exponent, and -0, as a
    JsonNumber (which `dumps` writes as it was written), other integers as ints. Slower than
    `loads`: for the lines `may_respell` finds, by a target that stores JSON text."""
    return _loads_exact(line.encode() if isinstance(line, str) else line, JsonNumber, _int)


def _int(text: str) -> int | JsonNumber:
    return JsonNumber(text) if text == "-0" else int(text)


def _loads_exact(raw: bytes, parse_float: Any, parse_int: Any) -> Any:
    """json.loads with these number readers, refusing what `loads` refuses."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 1100)  # as deep as orjson's 1024 levels on this path too
    try:
        return json.loads(
            raw, parse_float=parse_float, parse_int=parse_int, parse_constant=_no_constant
        )
    except RecursionError:
        raise UnreadableJSON("nested too deeply to read (up to 1024 levels always load)") from None
    except UnreadableJSON:
        raise
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            raise UnreadableJSON(
                "an integer with more than 4300 digits (no destination holds it exactly)"
            ) from None
        raise
    finally:
        sys.setrecursionlimit(limit)


def json_problem(exc: ValueError) -> str:
    """What `loads` refused, as the problem of one error line."""
    if isinstance(exc, UnreadableJSON):
        return str(exc)
    if "depth limit" in str(exc) or "recursion" in str(exc).lower():
        return "nested too deeply to read (up to 1024 levels always load)"
    return f"not valid JSON ({exc})"


_POSITION = re.compile(r": line \d+ column \d+ \(char (\d+)\)")


def line_problem(exc: ValueError) -> str:
    """What `loads` refused in one line of a message stream, with the fix: the parser's own
    "line 2 column 1" counts within the line, so only the character is kept."""
    problem = _POSITION.sub(r" at character \1", json_problem(exc))
    if problem.startswith("not valid JSON"):
        problem += ": every line must be one whole JSON message; fix the program that wrote it"
    return problem


def _cut_short(line: bytes, exc: ValueError) -> bool:
    """The line ends where its JSON is still open, and without its newline: only the last line of
    a stream lacks one, so the writer stopped mid-line (killed, crashed), as opposed to a whole
    line of bad data."""
    if line.endswith(b"\n") or not isinstance(exc, json.JSONDecodeError):
        return False
    text = str(exc)
    return "end of data" in text or text.startswith("Unterminated") or exc.pos >= len(line.rstrip())


def parse_line(line: bytes, line_no: int | None = None, source: str = "input") -> Message:
    """One line of input to one message; errors name the line."""
    try:
        obj = loads(line)
    except ValueError as exc:  # orjson's and json's decode errors, UnicodeDecodeError, ours
        if _cut_short(line, exc):
            raise TruncatedInput(
                "the input ended in the middle of this line (the process writing it stopped); "
                "nothing after the last STATE is committed, and a retry resumes from it",
                line=line_no,
                source=source,
            ) from None
        raise ProtocolError(line_problem(exc), line=line_no, source=source) from None
    try:
        return from_dict(obj)
    except ProtocolError as exc:
        exc.line, exc.source = line_no, source
        exc.args = (exc.describe(),)
        raise


_loads, _DecodeError = orjson.loads, orjson.JSONDecodeError


def sniff_record(line: bytes) -> dict[str, Any] | None:
    """The message object of a well-formed RECORD line (a dict whose "stream" is a str, "record"
    a dict and "version", if any, an int); None for any other line, which the caller reads the
    general way (`parse_line`, which names its problem).

    The hot path of every reader of Singer messages (read_messages, the target loop): nearly
    every line is a RECORD, so one is taken apart here without a message object or the general
    checks' call chain. A line with a number a float may not hold is left to the general way."""
    if needs_exact(line):
        return None
    try:
        obj = _loads(line)
    except _DecodeError:
        return None
    if (
        type(obj) is dict
        and obj.get("type") == "RECORD"
        and type(obj.get("record")) is dict
        and type(obj.get("stream")) is str
        and ((version := obj.get("version")) is None or type(version) is int)
    ):
        return obj
    return None


def read_messages(
    stream: IO[bytes] | None = None,
    *,
    source: str = "stdin",
    skip_unknown: bool = True,
    on_unknown: Any = None,
) -> Iterator[tuple[int, Message]]:
    """Yield (line number, message) for each non-blank line.

    Unknown message types are skipped (the spec allows it) unless `skip_unknown` is false;
    `on_unknown(line_no, error)` is called for each one skipped.
    """
    stream = stream if stream is not None else sys.stdin.buffer
    sniff = sniff_record
    for line_no, line in enumerate(stream, 1):
        if len(line) < 4 and not line.strip():
            continue
        obj = sniff(line)
        if obj is not None:
            record, name, version = obj["record"], obj["stream"], obj.get("version")
            yield line_no, RecordMessage(name, record, version, obj.get("time_extracted"))
            continue
        if not line.strip():  # only whitespace, longer than the cheap test above
            continue
        try:
            yield line_no, parse_line(line, line_no, source)
        except UnknownMessageType as exc:
            if not skip_unknown:
                raise
            if on_unknown is not None:
                on_unknown(line_no, exc)


def _buffered_stdout() -> IO[bytes]:
    """Standard output, buffered. With PYTHONUNBUFFERED set (as Docker images and CI often set
    it) `sys.stdout.buffer` is raw and writes each record with its own system call: then the
    same file descriptor gets a buffer of its own, flushed at every STATE and at exit (closing
    it leaves the descriptor open). One writer per sync, so nothing else writes in between."""
    out = sys.stdout.buffer
    if isinstance(out, io.RawIOBase) and hasattr(out, "fileno"):
        return open(out.fileno(), "wb", buffering=1 << 16, closefd=False)  # noqa: SIM115
    return out


class MessageWriter:
    """Writes Singer messages to a binary stream, buffered; flushed at every STATE.

    `write_record` is the hot path: one dict, one orjson call, one buffered write.
    """

    def __init__(self, out: IO[bytes] | None = None) -> None:
        self._out = out if out is not None else _buffered_stdout()
        self._write = self._out.write

    def write_record(
        self,
        stream: str,
        record: dict[str, Any],
        version: int | None = None,
        time_extracted: datetime | None = None,
    ) -> None:
        msg: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            msg["version"] = version
        if time_extracted is not None:
            msg["time_extracted"] = time_extracted
        try:
            self._write(
                orjson.dumps(msg, default=_default, option=_OPTS | orjson.OPT_APPEND_NEWLINE)
            )
        except TypeError:
            self._write(dumps(msg, orjson.OPT_APPEND_NEWLINE))

    def write_schema(
        self,
        stream: str,
        schema: dict[str, Any],
        key_properties: list[str] | None = None,
        bookmark_properties: list[str] | None = None,
    ) -> None:
        msg: dict[str, Any] = {
            "type": "SCHEMA",
            "stream": stream,
            "schema": schema,
            "key_properties": list(key_properties or []),
        }
        if bookmark_properties:
            msg["bookmark_properties"] = list(bookmark_properties)
        self.write_dict(msg)

    def write_state(self, value: dict[str, Any]) -> None:
        self.write_dict({"type": "STATE", "value": value})
        self.flush()

    def write_activate_version(self, stream: str, version: int, *, empty: bool = False) -> None:
        """`empty=True` says the table really holds no rows: a target may then retire every row
        of older versions even though no record of `version` came (tapwell.sdk.target_versions)."""
        self.write_message(ActivateVersionMessage(stream, version, empty))

    def write_message(self, message: Message) -> None:
        self.write_dict(message.to_dict())
        if isinstance(message, StateMessage):
            self.flush()

    def write_dict(self, msg: dict[str, Any]) -> None:
        self._write(dumps(msg, orjson.OPT_APPEND_NEWLINE))

    def write_lines(self, data: bytes) -> None:
        """Whole message lines already encoded (a tap that builds its RECORD lines itself)."""
        self._write(data)

    def flush(self) -> None:
        self._out.flush()


__all__ = [
    "JsonNumber",
    "MessageWriter",
    "RecordMessage",
    "dumps",
    "exact_instant",
    "loads",
    "loads_spelled",
    "may_respell",
    "parse_line",
    "read_messages",
    "sniff_record",
]
