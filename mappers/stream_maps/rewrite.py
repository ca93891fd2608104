"""The in-place edit: a RECORD line whose map only hashes some of its properties in place
(`email: hmac_sha256(email)`) is rewritten as bytes, without parsing the line: each such
property's string value is found after its key and replaced by its hash; every other byte stays
as the tap wrote it. Anything unusual (the key found twice in the line, a value that is not a
string or null, an escape in the value) returns None and the line is mapped the ordinary way.

With one such property, a whole chunk of input is searched at once (Splice): one regular
expression finds every RECORD line of the stream with the value, and only the value's bytes are
replaced; the lines between the matches (STATE, other streams, anything unusual) take the line
by line path, in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .expressions import MapFailure
from .maps import OutputMap

Edit = tuple[str, bytes, Callable[[Any], Any], str]  # property, its quoted key, hash, expression


_MESSAGE_KEYS = frozenset(("type", "stream", "record", "version", "time_extracted"))


def edits_of(maps: list[OutputMap], stream: str) -> list[Edit] | None:
    """The in-place edits that do this stream's mapping, or None when it needs the parse."""
    if len(maps) != 1:
        return None
    m = maps[0]
    if m.identity or m.removed or m.keep_filter is not None or not m.include_by_default:
        return None
    if m.alias != stream or not m.steps:
        return None
    out: list[Edit] = []
    for prop, expr in m.steps:
        if expr is None or expr.of_own_value is None or prop in _MESSAGE_KEYS:
            return None  # a key the message itself has would be found outside the record
        out.append((prop, orjson.dumps(prop), expr.of_own_value, expr.text))
    return out


# after a key: the colon, then (group 1) a string without escapes (its text: group 2) or null
_VALUE = re.compile(rb'[ \t]*:[ \t]*("([^"\\]*)"|null)')


def rewrite(line: bytes, edits: list[Edit]) -> bytes | None:
    """`line` with every edit applied, or None when the line needs the ordinary path."""
    for prop, key, func, text in edits:
        at = line.find(key)
        if at < 0 or line.find(key, at + len(key)) >= 0:
            return None
        found = _VALUE.match(line, at + len(key))
        if found is None:
            return None  # a number, an object, an escape in the string: parse the line
        raw = found.group(2)
        value = None if raw is None else raw.decode("utf-8")
        try:
            result = func(value)
        except Exception as exc:  # as the parsed path reports it
            raise MapFailure(prop, text, exc) from None
        start, end = found.span(1)
        line = b"".join((line[:start], orjson.dumps(result), line[end:]))
    return line


@dataclass(frozen=True)
class Splice:
    """The one in-place edit of a stream, for a whole chunk: `head` matches the start of the
    stream's RECORD lines, `value` what follows the property's key (group 1 the value, a string
    without escapes or null; group 2 the string's bytes). The edit is a hash (md5, sha256,
    hmac_sha256) of the value alone, so its JSON text is kept per value seen (up to MEMO
    values): a column of few values (a status, a country) is hashed once per value."""

    stream: str
    prop: str
    key: bytes
    func: Callable[[Any], Any]
    text: str
    head: re.Pattern[bytes]
    value: re.Pattern[bytes]
    # the hash of a string's raw bytes as JSON text (functions.py), when the function has one
    json_of_utf8: Callable[[bytes], bytes] | None = None
    memo: dict[bytes | None, bytes] = field(default_factory=dict, compare=False)


MEMO = 4096  # values whose hash a Splice keeps (about 0.5 MB)
_WS = rb"[ \t]*"
_STRING_OR_NULL = re.compile(_WS + b":" + _WS + rb'("([^"\\\n]*)"|null)')


def splice_of(edits: list[Edit] | None, stream: str) -> Splice | None:
    """The chunk edit of a stream whose mapping is exactly one in-place edit."""
    if edits is None or len(edits) != 1:
        return None
    prop, key, func, text = edits[0]
    ws = _WS
    head = re.compile(
        rb"\{"
        + ws
        + rb'"type"'
        + ws
        + b":"
        + ws
        + rb'"RECORD"'
        + ws
        + b","
        + ws
        + rb'"stream"'
        + ws
        + b":"
        + ws
        + re.escape(orjson.dumps(stream))
        + ws
        + b","
    )
    of_raw = getattr(func, "json_of_utf8", None)
    return Splice(stream, prop, key, func, text, head, _STRING_OR_NULL, of_raw)
