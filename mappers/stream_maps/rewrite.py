"""The in-place edit: a RECORD line whose map only hashes some of its properties in place
(`email: hmac_sha256(email)`) is rewritten as bytes, without parsing the line: each such
property's string value is found after its key and replaced by its hash; every other byte stays
as the tap wrote it. Anything unusual (the key found twice in the line, a value that is not a
string or null, an escape in the value) returns None and the line is mapped the ordinary way.
"""

from __future__ import annotations

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


def rewrite(line: bytes, edits: list[Edit]) -> bytes | None:
    """`line` with every edit applied, or None when the line needs the ordinary path."""
    for prop, key, func, text in edits:
        at = line.find(key)
        if at < 0 or line.find(key, at + 1) >= 0:
            return None
        i = at + len(key)
        n = len(line)
        while i < n and line[i] in b" \t":
            i += 1
        if i >= n or line[i] != 58:  # ':'
            return None
        i += 1
        while i < n and line[i] in b" \t":
            i += 1
        if line.startswith(b"null", i):
            start, end, value = i, i + 4, None
        elif i < n and line[i] == 34:  # '"'
            end = line.find(b'"', i + 1)
            if end < 0 or line.find(b"\\", i, end) >= 0:
                return None
            start, end = i, end + 1
            value = line[i + 1 : end - 1].decode("utf-8")
        else:
            return None
        try:
            result = func(value)
        except Exception as exc:  # as the parsed path reports it
            raise MapFailure(prop, text, exc) from None
        line = line[:start] + orjson.dumps(result) + line[end:]
    return line
