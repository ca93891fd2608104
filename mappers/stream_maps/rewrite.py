"""The in-place edit: a RECORD line whose map only hashes some of its properties in place
(`email: hmac_sha256(email)`) is rewritten as bytes, without parsing the line: each such
property's string value is found after its key and replaced by its hash; every other byte stays
as the tap wrote it. The key is taken only where it is sure to be a property of the record
itself: right after the message's head (`{"type":"RECORD","stream":...,"record":{`), with no
bracket between the record's brace and the key (so not inside a nested object, and not in the
message after the record), followed by a string (escapes decoded as JSON does) or null. Anything
else (the key twice in the line, a number, a nested value, a record without the property, a
message in another key order) returns None and the line is mapped the ordinary way.

With one such property, a whole chunk of input is searched at once (Splice): one regular
expression finds every RECORD line of the stream written as tapwell and singer-python write it
(no blanks), and only the value's bytes are replaced; the lines between the matches (STATE,
other streams, anything unusual) take the line by line path, in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .expressions import MapFailure
from .maps import OutputMap


@dataclass(frozen=True)
class Edit:
    """One property hashed in place: its name, its quoted key, the hash, the expression's text,
    and the pattern that finds the key and its value in a line of the stream (value_pattern)."""

    prop: str
    key: bytes
    func: Callable[[Any], Any]
    text: str
    pattern: re.Pattern[bytes]


_MESSAGE_KEYS = frozenset(("type", "stream", "record", "version", "time_extracted"))

_WS = rb"[ \t]*"
_SAFE = rb'[^"\\\x00-\x1f]'  # a byte a JSON string may hold as it is
# a string (group 2 its bytes between the quotes, escapes as written) or null
_VALUE = rb'("(' + _SAFE + rb"*(?:\\." + _SAFE + rb'*)*)"|null)'
# after `"?`: a string's bytes (the quotes outside the groups) or null, as two groups
_SPLIT = rb'(?:(?<=")(' + _SAFE + rb"*(?:\\." + _SAFE + rb'*)*)(?="[,}])|(?<=:)(null)(?=[,}]))'
_NEXT = rb"(?=[,}])"  # the value ends: the record's next property, or its end


def _line_start(stream: str, key: bytes, w: bytes) -> bytes:
    """A RECORD line of `stream` from its start up to `key`'s value; `w` is what may stand
    between tokens."""
    head = (
        rb"\{"
        + w
        + rb'"type"'
        + w
        + b":"
        + w
        + rb'"RECORD"'
        + w
        + b","
        + w
        + rb'"stream"'
        + w
        + b":"
        + w
        + re.escape(orjson.dumps(stream))
        + w
        + b","
        + w
        + rb'"record"'
        + w
        + b":"
        + w
        + rb"\{"
    )
    # the record's properties before the key: no bracket (no nesting), each ended by a comma
    return head + rb"(?:[^\n{}\[\],]*,)*?" + w + re.escape(key) + w + b":" + w


def value_pattern(stream: str, key: bytes) -> re.Pattern[bytes]:
    """`key`'s value in a RECORD line of `stream`, from the line's start, blanks allowed:
    group 1 the value, group 2 a string's bytes."""
    return re.compile(_line_start(stream, key, _WS) + _VALUE + _WS + _NEXT)


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
        key = orjson.dumps(prop)
        out.append(Edit(prop, key, expr.of_own_value, expr.text, value_pattern(stream, key)))
    return out


def string_of(raw: bytes) -> str | None:
    """The text of a JSON string's bytes between its quotes; None when they are not valid
    (a bad escape, broken UTF-8): the parse path then reports the line."""
    try:
        if b"\\" in raw:
            text = orjson.loads(b'"' + raw + b'"')
            return text if isinstance(text, str) else None
        return raw.decode("utf-8")
    except ValueError:  # orjson.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


def rewrite(line: bytes, edits: list[Edit]) -> bytes | None:
    """`line` with every edit applied, or None when the line needs the ordinary path."""
    for edit in edits:
        found = edit.pattern.match(line)
        if found is None or line.find(edit.key, found.end(1)) >= 0:
            return None  # not a string or null at the record's top level, or the key twice
        raw = found.group(2)
        value = None if raw is None else string_of(raw)
        if raw is not None and value is None:
            return None
        try:
            result = edit.func(value)
        except Exception as exc:  # as the parsed path reports it
            raise MapFailure(edit.prop, edit.text, exc) from None
        start, end = found.span(1)
        line = b"".join((line[:start], orjson.dumps(result), line[end:]))
    return line


@dataclass(frozen=True)
class Splice:
    """The one in-place edit of a stream, for a whole chunk: `lines` finds each RECORD line of
    the stream written without blanks, up to and including its newline (group 1 the value,
    group 2 a string's bytes), `value` the same in one line with blanks allowed. The edit is a
    hash (md5, sha256, hmac_sha256) of the value alone, so its JSON text is kept per value seen
    (up to MEMO values): a column of few values (a status, a country) is hashed once per value."""

    stream: str
    prop: str
    key: bytes
    func: Callable[[Any], Any]
    text: str
    lines: re.Pattern[bytes]
    # the hash of a string's UTF-8 bytes as lowercase hex (functions.py)
    hex_of_utf8: Callable[[bytes], bytes]
    # `split` cuts "\n" + chunk at each such line's value: [before, line start and the
    # string's opening quote, the string's bytes or None, None or b"null", ...]
    split: Callable[[bytes], list[bytes | None]]
    memo: dict[bytes | None, bytes] = field(default_factory=dict, compare=False)


MEMO = 4096  # values whose hash a Splice keeps (about 0.5 MB)


def splice_of(edits: list[Edit] | None, stream: str) -> Splice | None:
    """The chunk edit of a stream whose mapping is exactly one in-place edit by a hash."""
    if edits is None or len(edits) != 1:
        return None
    edit = edits[0]
    of_raw = getattr(edit.func, "hex_of_utf8", None)
    if of_raw is None:
        return None
    start = _line_start(stream, edit.key, b"")  # lines without blanks
    found = re.compile(start + _VALUE + _NEXT + rb"[^\n]*\n")
    split = re.compile(b"(\n" + start + b'"?)' + _SPLIT)
    return Splice(stream, edit.prop, edit.key, edit.func, edit.text, found, of_raw, split.split)
