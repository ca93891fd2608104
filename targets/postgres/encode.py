"""Records -> COPY text format, the hot path. A row encoder is compiled once per table layout, and
every row of every COPY is written by one (`compile_row_encoder`): as a record is read, or at
load for a batch buffered as dicts; the batch's constant columns by the same formatters.

Each column gets an expression chosen by the column's PostgreSQL type, with the common case
inline (an int for a bigint, a plain str for text) and anything else through a formatter that
handles the rest exactly: Decimal and float as their exact text (never rounded), booleans as
t/f, objects and arrays as JSON, strings escaped for COPY (backslash, newline, carriage return,
tab). PostgreSQL cannot store a NUL character (U+0000) in text or jsonb: `Nul` replaces it with
U+FFFD (the default), strips it, or refuses the value naming its column (`nul_characters`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import orjson
from tapwell.sdk.target import ValueRefused
from tapwell.singer.codegen import build_function
from tapwell.singer.record_check import CheckCode
from tapwell.singer.wire import JsonNumber, dumps

from .types import family

NULL = "\\N"
ROWS_PER_CHUNK = 4096


NUL_MODES = ("replace", "strip", "error")
REPLACEMENT = "\ufffd"


class Nul:
    """What a stream does with NUL characters (setting `nul_characters`), and how many values
    held one, for the one warning per stream at the end."""

    def __init__(self, mode: str = "error") -> None:
        self.mode = mode
        self.count = 0

    def fix(self, column: str, value: str) -> str:
        """`value` without NUL characters, or BadValue in mode `error`."""
        if self.mode == "error":
            raise BadValue(
                column,
                "text contains a NUL byte (\\u0000), which PostgreSQL cannot store "
                "(set nul_characters to replace or strip to load it)",
            )
        self.count += 1
        return value.replace("\x00", REPLACEMENT if self.mode == "replace" else "")

    def fix_json(self, column: str, value: Any) -> Any:
        """`value` (a JSON document) with NUL characters fixed in every string and key; the
        value itself when it holds none."""
        found = False

        def walk(node: Any) -> Any:
            nonlocal found
            if isinstance(node, str):
                if "\x00" in node:
                    found = True
                    return self._clean(column, node)
                return node
            if isinstance(node, dict):
                return {walk(k): walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        out = walk(value)
        if found:
            self.count += 1
        return out

    def _clean(self, column: str, text: str) -> str:
        if self.mode == "error":
            raise BadValue(
                column,
                "JSON contains a NUL character (\\u0000), which PostgreSQL's jsonb cannot store "
                "(set nul_characters to replace or strip to load it)",
            )
        return text.replace("\x00", REPLACEMENT if self.mode == "replace" else "")


REFUSE_NUL = Nul("error")


class BadValue(ValueRefused):
    """A value that cannot be written to its column; `column` names it."""

    def __init__(self, column: str, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


def escape_text(column: str, value: str, nul: Nul = REFUSE_NUL) -> str:
    if "\x00" in value:
        value = nul.fix(column, value)
    # Four C-level replaces beat one str.translate with a mapping by an order of magnitude.
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )


def _as_text(column: str, nul: Nul = REFUSE_NUL) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        if isinstance(value, str):
            return escape_text(column, value, nul)
        if value is True or value is False:
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return escape_text(column, dumps(value).decode(), nul)
        if type(value) is JsonNumber:  # a union's number as its line spells it (1.50, -0)
            return value.text
        if isinstance(value, float):  # the wire's writing: the line's own text of it
            return orjson.dumps(value).decode()
        return escape_text(column, str(value), nul)

    return fmt


def _as_integer(column: str, nul: Nul = REFUSE_NUL) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        if isinstance(value, bool):
            raise BadValue(column, f"{value!r} is not an integer")
        if isinstance(value, (int, float, Decimal)):
            try:
                if value == int(value):
                    return str(int(value))
            except (ValueError, OverflowError, ArithmeticError):
                pass
            raise BadValue(column, f"{value!r} is not an integer")
        return _as_text(column, nul)(value)  # PostgreSQL parses it, or names the column

    return fmt


def _as_number(column: str, nul: Nul = REFUSE_NUL) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        if isinstance(value, bool):
            raise BadValue(column, f"{value!r} is not a number")
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise BadValue(column, f"{value!r} is not a finite number")
            return repr(value)
        if isinstance(value, (int, Decimal)):
            if isinstance(value, Decimal) and not value.is_finite():
                raise BadValue(column, f"{value} is not a finite number")
            return str(value)
        return _as_text(column, nul)(value)

    return fmt


def _as_boolean(column: str, nul: Nul = REFUSE_NUL) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        return _as_text(column, nul)(value)  # 'true'/'false' text, or PostgreSQL's own error

    return fmt


def _as_json(column: str, nul: Nul = REFUSE_NUL) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        try:
            text = orjson.dumps(value).decode()
        except TypeError:
            text = dumps(value).decode()
        if "\\" not in text:
            return text
        if "\\u0000" in text:  # maybe a NUL character (or a backslash before "u0000")
            fixed = nul.fix_json(column, value)
            if fixed is not value:
                text = dumps(fixed).decode()
        return text.replace("\\", "\\\\")

    return fmt


def _as_bytea(column: str, nul: Nul = REFUSE_NUL) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        if isinstance(value, str) and value.startswith("\\x"):
            return escape_text(column, value, nul)  # PostgreSQL reads the hex digits, or names them
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise BadValue(column, f"{shown} is not bytea hex text (\\x and hex digits)")

    return fmt


# (formatter factory, inline expression) per column family; `v` is the value, `f` its formatter.
_TEXT_FAST = 'v if type(v) is str and "\\\\" not in v and v.isprintable() else f(v)'
_KINDS: dict[str, tuple[Callable[[str, Nul], Callable[[Any], str]], str]] = {
    "bigint": (_as_integer, "v if type(v) is int else f(v)"),
    "integer": (_as_integer, "v if type(v) is int else f(v)"),
    "smallint": (_as_integer, "v if type(v) is int else f(v)"),
    "numeric": (_as_number, "v if type(v) is int or type(v) is float else f(v)"),
    "double precision": (_as_number, "v if type(v) is int or type(v) is float else f(v)"),
    "real": (_as_number, "v if type(v) is int or type(v) is float else f(v)"),
    "boolean": (_as_boolean, "('t' if v else 'f') if type(v) is bool else f(v)"),
    "jsonb": (_as_json, "f(v)"),
    "json": (_as_json, "f(v)"),
    "bytea": (_as_bytea, "f(v)"),
}


def formatter_for(
    column: str, sqltype: str, nul: Nul = REFUSE_NUL
) -> tuple[Callable[[Any], str], str]:
    factory, expr = _KINDS.get(family(sqltype), (_as_text, _TEXT_FAST))
    return factory(column, nul), expr


# When the record check has already pinned a value's type, the cheaper expression for it.
# A float's text from orjson (its shortest round-trip digits, as repr's: a float read from JSON
# had at most 15 significant digits, so these are exactly the digits it was sent with) costs a
# third of repr's; the exponent is written 1e16 rather than 1e+16, which PostgreSQL reads alike.
_INT: dict[type, str] = {int: "v"}
_NUMBER: dict[type, str] = {int: "v", float: "_jd(v).decode()"}
# An object or array: orjson inline, the formatter only for what orjson refuses (Decimal, ints
# past 64 bits) or for an escaped NUL, and backslashes doubled for COPY.
_JSON_LINES = [
    "try:",
    "    {c} = _jd(v).decode()",
    "except TypeError:",
    "    {c} = {f}(v)",
    "else:",
    '    if "\\\\" in {c}:',
    '        {c} = {f}(v) if "\\\\u0000" in {c} else {c}.replace("\\\\", "\\\\\\\\")',
]
_PINNED: dict[str, dict[type, str]] = {
    "bigint": _INT,
    "integer": _INT,
    "smallint": _INT,
    "numeric": _NUMBER,
    "double precision": _NUMBER,
    "real": _NUMBER,
    "boolean": {bool: "'t' if v else 'f'"},
    "jsonb": {dict: "", list: ""},  # see _JSON_LINES
    "json": {dict: "", list: ""},
    "bytea": {},  # always its formatter: a string is hex text, never bytes to take as they are
}
_TEXT_PINNED = {str: 'v if "\\\\" not in v and v.isprintable() else f(v)'}
_CLEAN_TEXT_PINNED = {str: "v"}


def compile_row_encoder(
    columns: list[tuple[str, str, str]],
    check: CheckCode,
    *,
    clean: bool = False,
    nul: Nul = REFUSE_NUL,
) -> Callable[[dict[str, Any], int | None], str] | None:
    """One function that checks a record against its SCHEMA (raising what the loop's own check
    raises, in the same order) and returns its COPY line for `columns` (property, column, type),
    without the newline: each value is fetched and its type tested once, and the batch keeps
    ~270 bytes of text per row instead of a ~1.5 KB dict. A value the column cannot take raises
    BadValue, as `compile_encoder`'s would at COPY time. None when the check covers a property
    that is not a column (the fields would be checked in another order).

    `clean=True` compiles the variant for a record whose JSON line holds no backslash (see
    RowEncoder.encode_clean): a string then holds no backslash, tab, newline, carriage return or
    NUL, so a string already checked is its own COPY text, and JSON made from the record needs
    no backslash doubled."""
    props = {prop for prop, _, _ in columns}
    if any(f.name not in props for f in check.fields):
        return None
    env: dict[str, Any] = {"NULL": NULL, "_jd": orjson.dumps}
    body = ["get = record.get", *check.head]
    json_lines = _JSON_LINES[:4] if clean else _JSON_LINES
    for j, (prop, column, sqltype) in enumerate(columns):
        fmt, generic = formatter_for(column, sqltype, nul)
        pinned = _PINNED.get(family(sqltype), _CLEAN_TEXT_PINNED if clean else _TEXT_PINNED)
        env[f"_cf{j}"] = fmt

        def then(
            t: type | None, j: int = j, generic: str = generic, pinned: Any = pinned
        ) -> list[str]:
            if t is type(None):
                return [f"c{j} = NULL"]
            expr = pinned.get(t, generic) if t is not None else generic
            if expr == "":
                return [line.format(c=f"c{j}", f=f"_cf{j}") for line in json_lines]
            return [f"c{j} = " + expr.replace("f(v)", f"_cf{j}(v)")]

        i = check.index.get(prop)
        if i is None:  # no check (any value): fetch it only to encode it
            env[f"_ck{j}"] = prop
            body += [
                f"v = get(_ck{j})",
                f"c{j} = NULL if v is None else " + then(None)[0].split(" = ", 1)[1],
            ]
        else:
            body += check.field_block(i, then)
    body.append('return f"' + "\\t".join(f"{{c{j}}}" for j in range(len(columns))) + '"')
    env = {**check.env, **env}  # after the blocks: field_block adds the names it uses
    encoder: Callable[[dict[str, Any], int | None], str] = build_function(
        "encode_row", "record, line=None", body, env, "target-postgres-row"
    )
    return encoder


def plain_check(stream: str) -> CheckCode:
    """A check of nothing: `compile_row_encoder` with it encodes a record buffered as a dict
    (already checked as it was read) with the same code as a record encoded as it is read."""
    return CheckCode(stream, {}, [])


def encode_constants(
    columns: list[tuple[str | None, str, str]], values: dict[str, Any], nul: Nul = REFUSE_NUL
) -> str:
    """The COPY text a batch's constant columns (those of property None in `columns`, e.g. its
    table version) append to every row, each value written by its column's formatter, as a row
    encoder writes a property's value."""
    out = []
    for prop, column, sqltype in columns:
        if prop is None:
            value = values.get(column)
            out.append(
                "\t"
                + (NULL if value is None else str(formatter_for(column, sqltype, nul)[0](value)))
            )
    return "".join(out)


def copy_block(lines: Sequence[str], sep: bytes) -> bytes:
    """COPY lines as the bytes one `copy.write` sends, each line ended by `sep` (the batch's
    constant columns and the newline). Each line is encoded alone and the bytes joined: joining
    the str first makes the whole block as wide as its widest character, so one emoji in a
    thousand rows made a 4-byte-a-character copy of the block and a slow encode of it (~1.3 ms
    a thousand orders rows, against ~0.04 ms; ASCII-only blocks cost about the same either way).
    A line that is not valid UTF-8 (an unpaired surrogate) raises UnicodeEncodeError."""
    out = list(map(str.encode, lines))
    out.append(b"")
    return sep.join(out)


class CopyRows:
    """The COPY text of one batch, in chunks of ROWS_PER_CHUNK rows, for `copy.write`: each row
    as the row encoder wrote it when it was read, or writes it now (`encode`, for a batch
    buffered as dicts), with the batch's constant columns (`suffix`) appended to every line.
    A chunk is made only when the previous one was sent, so a batch is never held twice and
    PostgreSQL parses one chunk while the next is made.

    A row refused at read time (None in `rows`, its BadValue in `refused`) is raised when the
    COPY reaches it, so a row a later one replaced is never reported; `failed_at` and `error`
    then say which record and why."""

    def __init__(
        self,
        rows: Sequence[Any],
        indexes: Sequence[int],
        suffix: str,
        refused: dict[int, ValueRefused],
        columns: list[tuple[str | None, str, str]],
        encode: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self.rows = rows
        self.indexes = indexes
        self.sep = (suffix + "\n").encode("utf-8")
        self.refused = refused
        self.columns = columns
        self.encode = encode
        # every row, in order, already encoded: the chunks are slices
        self.whole = isinstance(indexes, range) and not refused and encode is None
        self.failed_at: int | None = None  # index into rows of the record that was refused
        self.error: BadValue | None = None

    def chunks(self) -> Iterator[bytes]:
        n = len(self.indexes)
        for pos in range(0, n, ROWS_PER_CHUNK):
            yield self._chunk(pos, min(pos + ROWS_PER_CHUNK, n))

    def _chunk(self, pos: int, end: int) -> bytes:
        chunk = range(pos, end) if self.whole else self.indexes[pos:end]
        lines = self.rows[pos:end] if self.whole else self._lines(chunk)
        try:
            return copy_block(lines, self.sep)
        except UnicodeEncodeError:
            self._locate(chunk, lines)
            raise

    def _lines(self, chunk: Sequence[int]) -> list[str]:
        rows, encode = self.rows, self.encode
        if encode is None:
            lines = [rows[j] for j in chunk]
            if self.refused and None in lines:
                self._refuse(chunk[lines.index(None)], self.refused[chunk[lines.index(None)]])
            return lines
        out = []
        for j in chunk:
            try:
                out.append(encode(rows[j]))
            except ValueRefused as bad:
                self._refuse(j, bad)
        return out

    def _refuse(self, j: int, bad: ValueRefused) -> None:
        self.failed_at = j
        self.error = bad if isinstance(bad, BadValue) else BadValue("?", str(bad))
        raise self.error

    def _locate(self, chunk: Sequence[int], lines: Sequence[str]) -> None:
        for j, row in zip(chunk, lines):
            try:
                row.encode("utf-8")
            except UnicodeEncodeError:
                self.failed_at = j
                self.error = BadValue(
                    self._column_at(row),
                    "text holds an unpaired UTF-16 surrogate, which is not valid UTF-8",
                )
                return

    def _column_at(self, row: str) -> str:
        """The property of the first field of `row` that is not valid UTF-8 (COPY text escapes
        tabs inside values, so the fields split on tabs)."""
        for (prop, column, _), text in zip(self.columns, row.split("\t")):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return prop or column
        return "?"
