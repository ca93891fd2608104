"""The in-place edit: a RECORD line whose map only hashes some of its properties in place
(`email: hmac_sha256(email)`) is rewritten as bytes, without parsing the line: each such
property's string value is found after its key and replaced by its hash; every other byte stays
as the tap wrote it. Anything unusual (the key found twice in the line, a value that is not a
string or null, an escape in the value) returns None and the line is mapped the ordinary way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from .expressions import MapFailure
from .maps import OutputMap

Edit = tuple[str, bytes, Callable[[Any], Any], str]  # property, its quoted key, hash, expression


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
        if expr is None or expr.of_own_value is None:
            return None
        out.append((prop, orjson.dumps(prop), expr.of_own_value, expr.text))
    return out


# after a key: the colon, then a string without escapes (group 1) or null
_VALUE = re.compile(rb'[ \t]*:[ \t]*(?:"([^"\\]*)"|null)')


def rewrite(line: bytes, edits: list[Edit]) -> bytes | None:
    """`line` with every edit applied, or None when the line needs the ordinary path."""
    for prop, key, func, text in edits:
        at = line.find(key)
        if at < 0 or line.find(key, at + len(key)) >= 0:
            return None
        found = _VALUE.match(line, at + len(key))
        if found is None:
            return None  # a number, an object, an escape in the string: parse the line
        raw = found.group(1)
        value = None if raw is None else raw.decode("utf-8")
        try:
            result = func(value)
        except Exception as exc:  # as the parsed path reports it
            raise MapFailure(prop, text, exc) from None
        start = found.start() + found.group(0).index(b":") + 1
        line = b"".join((line[:start], orjson.dumps(result), line[found.end() :]))
    return line
