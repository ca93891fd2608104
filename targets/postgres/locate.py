"""Which input row and field PostgreSQL refused, from its error: the COPY context names the row
(and usually the column); a row refused as a whole (a NUL, a character the database's encoding
cannot hold) is searched for the field that holds it."""

from __future__ import annotations

import codecs
import re
from typing import Any

import orjson
from tapwell.singer.wire import dumps

from .connection import UNTRANSLATABLE_CHARACTER, sqlstate

_COPY_CONTEXT = re.compile(r"COPY .*?, line (\d+)(?:, column (.*?): |$|,)", re.S)


def refused_row(exc: BaseException, indexes: Any) -> tuple[int, str | None] | None:
    """(position in the COPY, the column text PostgreSQL named or None), or None."""
    diag = getattr(exc, "diag", None)
    context = (getattr(diag, "context", None) or "") if diag is not None else ""
    match = _COPY_CONTEXT.search(context)
    if not match:
        return None
    row = int(match.group(1)) - 1
    if not 0 <= row < len(indexes):
        return None
    return row, match.group(2)


def field_refused(exc: BaseException, conn: Any, found: Any, columns: list[Any]) -> str | None:
    """The field of a row PostgreSQL refused as a whole (its error names no column): one
    holding a NUL, or a character the database's encoding cannot hold."""
    if sqlstate(exc) == UNTRANSLATABLE_CHARACTER:
        codec = python_codec(conn.info.parameter_status("server_encoding") or "")
        if codec and codec != "utf-8":
            return unencodable(found, columns, codec)
    if isinstance(found, dict):
        return nul_column(found)
    return nul_field(found or "", columns)


def python_codec(server_encoding: str) -> str | None:
    """Python's codec for a PostgreSQL encoding name (LATIN1, WIN1252, ...), or None."""
    name = server_encoding.lower()
    for candidate in (name, name.replace("win", "cp"), name.replace("koi8", "koi8_")):
        try:
            return codecs.lookup(candidate).name
        except LookupError:
            continue
    return None


def column_named(text: str | None, columns: list[tuple[str | None, str, str]]) -> str | None:
    if not text:
        return None
    for prop, col, _ in sorted(columns, key=lambda c: -len(c[1])):
        if text == col or text.startswith(col):
            return prop or col
    return None


def unencodable(found: Any, columns: list[tuple[str | None, str, str]], codec: str) -> str | None:
    """The first field of a record (or of a row in COPY text) that `codec` cannot encode."""
    fields = (
        [(k, dumps(v).decode() if not isinstance(v, str) else v) for k, v in found.items()]
        if isinstance(found, dict)
        else [
            (prop or col, text) for (prop, col, _), text in zip(columns, (found or "").split("\t"))
        ]
    )
    for name, text in fields:
        try:
            text.encode(codec)
        except UnicodeEncodeError:
            return name
    return None


def nul_column(record: dict[str, Any]) -> str | None:
    for key, value in record.items():
        if (
            "\\u0000" in orjson.dumps(value).decode(errors="replace")
            or isinstance(value, str)
            and "\x00" in value
        ):
            return key
    return None


def nul_field(row: str, columns: list[tuple[str | None, str, str]]) -> str | None:
    """`nul_column` for a row already in COPY text: the field holding an escaped \\u0000."""
    for (prop, col, _), text in zip(columns, row.split("\t")):
        if "\\u0000" in text:
            return prop or col
    return None
