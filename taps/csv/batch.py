"""csv BATCH files: a stream's rows as lines in tapwell's csv dialect (tapwell.sdk.tap_batch), for
a target that loads the files with its own reader (target-duckdb's `read_csv`, target-postgres's
COPY).

The values are those of the RECORD lines, validated by the same column renderers (lines.py): a
number is the exact text the RECORD carries (never a float), a date or date-time is parsed and
written as the RECORD writes it (a naive date-time as UTC, an offset kept, microseconds kept),
a boolean is true/false, a JSON document is its text. In the dialect NULL is the unquoted empty
field and every string is quoted, so '' stays '' (`""`), and quotes, commas, newlines,
backslashes and control characters are plain characters inside the quotes.

A file's header names the stream's selected columns, in the order the catalog selects them; a
column missing from one CSV file of the stream is written as NULL there (its RECORD leaves it out).
An untyped property (`{}`) is a string on the RECORD line, so its field is that JSON string's text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import repeat
from typing import Any

import orjson
from tapwell.sdk.tap import SyncContext
from tapwell.singer.schema import property_format, property_types

from .discovery import StreamConfig
from .lines import (
    Rendered,
    Renderer,
    StringTexts,
    _null_rows,
    _wide_rows,
    column_renderer,
    lines,
    may_be_wide,
)
from .sync import _LinePlan, rendered_chunks, widening
from .types import converter_for

__all__ = ["csv_lines", "source_bytes"]

Chunks = Iterator[tuple[bytes, int, Any]]


def csv_lines(
    sc: StreamConfig, schema: dict[str, Any], ctx: SyncContext
) -> tuple[list[str], Chunks]:
    """(the files' columns, the stream's csv lines a chunk at a time: (lines, how many, greatest
    replication-key value or None)), records below `ctx.start_value` dropped, as `read_lines`
    gives the RECORD lines (tapwell.sdk.tap.Stream.csv_lines)."""
    props = schema.get("properties") or {}
    names = [h for h in ctx.selected if h in props]
    return names, _chunks(sc, schema, ctx, names)


def source_bytes(sc: StreamConfig, ctx: SyncContext) -> int:
    """The stream's files' size: about the bytes of its csv lines (the fast lane's size hint)."""
    return sum(os.path.getsize(p) for p in sc.paths if os.path.isfile(p))


def _chunks(sc: StreamConfig, schema: dict[str, Any], ctx: SyncContext, names: list[str]) -> Chunks:
    def plan(header: list[str], props: dict[str, Any]) -> _CsvPlan:
        return _CsvPlan(sc, header, props, ctx, names)

    for made, fields, n, top in rendered_chunks(sc, schema, ctx, plan):
        yield lines(made.keys, fields, "\n", n, made.wide, "surrogatepass"), n, top


class _CsvPlan(_LinePlan):
    """The RECORD lines' plan (sync._LinePlan: renderers, replication key, start filter) over
    the files' columns, with string columns kept as they are and each typed column's rendering
    turned into csv fields (`_typed`)."""

    def __init__(
        self,
        sc: StreamConfig,
        header: list[str],
        props: dict[str, Any],
        ctx: SyncContext,
        names: list[str],
    ) -> None:
        index = {h: i for i, h in enumerate(header)}
        nulls = frozenset(sc.null_values)
        self.stream, self.rkey, self.start = ctx.stream, ctx.replication_key, ctx.start_value
        # What comes before each field (lines.lines' keys: render's slice is as long)
        self.keys = [("," if j else "") for j in range(len(names))]
        read = names + ([self.rkey] if self.rkey in index and self.rkey not in names else [])
        self.at = [index.get(h, 0) for h in read]
        self.renderers: list[Renderer] = []
        for h in read:
            if h not in index:
                self.renderers.append(_absent)
                continue
            make = partial(_column, nulls=nulls, native=h == self.rkey)
            self.renderers.append(widening(self, sc, ctx, props, h, make))
        self.key_at = read.index(self.rkey) if self.rkey in index else None
        # Which written columns may hold a non-ASCII character beside the string columns (whose
        # StringTexts say where): JSON documents (lines.lines)
        self.wide = [h in index and may_be_wide(props.get(h, {})) for h in names]


def _column(prop: dict[str, Any], *, nulls: frozenset[str], native: bool) -> Renderer:
    """A column's renderer of csv fields for `prop` (made again when the column widens):
    strings kept as they are, typed columns rendered as the RECORD lines' (lines.column_renderer)
    and turned into fields."""
    if converter_for(prop)[1]:
        if not set(property_types(prop)) - {"null"}:  # untyped ({}): a JSON column, as a string
            return _json_string(nulls, native)
        return _string(nulls, native)
    return _typed(column_renderer(prop, nulls=nulls, native=native), _typed_fields(prop))


def _typed(render: Renderer, fields: Fields) -> Renderer:
    """`render`'s texts as csv fields, its Python values kept (the replication key's). A
    column rendered as it came (the texts are the column itself: each value checked to be
    written as it is) holds no JSON null, so `fields` need not look for one (a look per value
    per chunk, 0.02-0.03 CPU s per column of 300,000 rows)."""

    def typed(col: Sequence[str]) -> Rendered:
        texts, quoted, natives = render(col)
        return fields(texts, quoted, texts is col), False, natives

    return typed


def _absent(col: Sequence[str]) -> Rendered:
    """A selected column this file does not have: NULL in every row."""
    return [""] * len(col), False, [None] * len(col)


def _string(nulls: frozenset[str], native: bool) -> Renderer:
    """A string column's fields: texts that need only their quotes (the assembly writes them, a
    quote in a text doubled), a null_value the unquoted empty field (a `bare` row of StringTexts,
    written without the quotes)."""

    def render(col: Sequence[str]) -> Rendered:
        natives = [None if t in nulls else t for t in col] if native else None
        joined = "".join(col)
        at = _null_rows(col, joined, nulls) if nulls else []
        wide = [] if joined.isascii() else _wide_rows(col)
        texts = StringTexts(_quotes_doubled(col) if '"' in joined else col, wide, at)
        for i in at:
            texts[i] = ""
        return texts, True, natives

    return render


def _json_string(nulls: frozenset[str], native: bool) -> Renderer:
    """An untyped property's fields (`{}` in a declared schema): the RECORD line carries each
    value as a JSON string, which a target stores in a JSON column, so the field is that JSON
    text, quotes and all (`"hello"`, `"{\"a\": 1}"`), not the bare text a target would read as
    a document or refuse; a null_value the unquoted empty field."""

    def render(col: Sequence[str]) -> Rendered:
        natives = [None if t in nulls else t for t in col] if native else None
        return ["" if t in nulls else _quote(_json_text(t)) for t in col], False, natives

    return render


def _json_text(text: str) -> str:
    try:
        return orjson.dumps(text).decode()
    except orjson.JSONEncodeError:  # a lone surrogate (the files' surrogatepass): escaped
        return json.dumps(text)


def _quotes_doubled(col: Sequence[str]) -> list[str]:
    """Each text with its quotes doubled, a `str.replace` per text called by `map` in C (a text
    without a quote is given back as it is, not copied). Joining the column by a character none
    of its texts holds, replacing and splitting it again cost more: it copies every text twice
    and makes each anew (the JSON-text column: 0.081 against 0.070 CPU s per 300,000 rows; a
    loop in Python cost 0.2 s of the tap's 1.0 with two such columns)."""
    return list(map(str.replace, col, repeat('"'), repeat('""')))


# A typed column's texts (and whether they need only their quotes, and whether they are the
# column as it came) as csv fields.
Fields = Callable[[Sequence[str], bool, bool], Sequence[str]]


def _typed_fields(prop: dict[str, Any]) -> Fields:
    """How a typed column's rendering (JSON texts, or texts that need only their JSON quotes)
    becomes csv fields: `null` the empty field, a date or date-time without its JSON quotes
    (its text has no character the dialect quotes), a JSON document quoted, as the target
    stores it from a RECORD. The kind is read from the property in converter_for's order."""
    kinds = set(property_types(prop)) - {"null"}
    dated = "string" in kinds and property_format(prop) in ("date", "date-time")
    if (
        (kinds and kinds <= {"integer", "number"})
        or kinds == {"boolean"}
        or not (dated or kinds & {"object", "array"})
    ):
        return _plain
    return _dated if dated else _document


def _plain(texts: Sequence[str], bare: bool, as_came: bool) -> Sequence[str]:
    """Integers, numbers, booleans: no character the dialect quotes."""
    if bare or as_came or "null" not in texts:
        return texts
    return ["" if t == "null" else t for t in texts]


def _dated(texts: Sequence[str], bare: bool, as_came: bool) -> Sequence[str]:
    if bare:
        return texts
    return ["" if t == "null" else t[1:-1] for t in texts]


def _document(texts: Sequence[str], bare: bool, as_came: bool) -> Sequence[str]:
    return ["" if t == "null" else _quote(_minified(t)) for t in texts]


def _minified(text: str) -> str:
    """A JSON document as target-duckdb stores it from a RECORD (its SQL reading): without
    blanks, each number as written, strings escaped only where JSON needs it."""
    value = json.loads(text, parse_float=orjson.Fragment, parse_int=orjson.Fragment)
    return orjson.dumps(value).decode()


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
