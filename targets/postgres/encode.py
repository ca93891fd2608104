"""Records -> COPY text format, the hot path. A row encoder is compiled once per table layout.

Each column gets an expression chosen by the column's PostgreSQL type, with the common case
inline (an int for a bigint, a plain str for text) and anything else through a formatter that
handles the rest exactly: Decimal and float as their exact text (never rounded), booleans as
t/f, objects and arrays as JSON, strings escaped for COPY (backslash, newline, carriage return,
tab). PostgreSQL cannot store a NUL character (U+0000) in text or jsonb: `Nul` replaces it with
U+FFFD (the default), strips it, or refuses the value naming its column (`nul_characters`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson
from tapwell.sdk.target import ValueRefused
from tapwell.singer.codegen import build_function, execute
from tapwell.singer.schema import CheckCode
from tapwell.singer.wire import dumps

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
        if isinstance(value, float):
            return repr(value)
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
    env = dict(check.env)
    env["NULL"] = NULL
    env["_jd"] = orjson.dumps
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
    encoder: Callable[[dict[str, Any], int | None], str] = build_function(
        "encode_row", "record, line=None", body, env, "target-postgres-row"
    )
    return encoder


RowEncoder = Callable[[Sequence[dict[str, Any]], Sequence[int]], list[str]]


def compile_encoder(
    columns: list[tuple[str | None, str, str]],
    constants: dict[str, str] | None = None,
    nul: Nul = REFUSE_NUL,
) -> RowEncoder:
    """A function (records, indexes) -> COPY lines, one per index, without the newline.

    `columns` is (property, column, type) in COPY order; a property of None takes its column's
    value from `constants` (already COPY text), e.g. the batch's table version.
    """
    constants = constants or {}
    names: list[Any] = []
    fmts: list[Any] = []
    body: list[str] = []
    parts: list[str] = []
    for i, (prop, column, sqltype) in enumerate(columns):
        if prop is None:
            names.append(None)
            fmts.append(None)
            parts.append(f"{{C{i}}}")
            continue
        fmt, expr = formatter_for(column, sqltype, nul)
        names.append(prop)
        fmts.append(fmt)
        expr = expr.replace("f(v)", f"f{i}(v)")
        body.append(f"        v = g(k{i}); c{i} = N if v is None else {expr}")
        parts.append(f"{{c{i}}}")
    consts = [constants.get(c, NULL) if p is None else None for p, c, _ in columns]
    source = [
        "def make(K, F, CONST, N):",
        *[f"    k{i} = K[{i}]; f{i} = F[{i}]; C{i} = CONST[{i}]" for i in range(len(columns))],
        "    def encode(records, indexes):",
        "        out = []",
        "        append = out.append",
        "        for j in indexes:",
        "            g = records[j].get",
        *["    " + line for line in body],
        '            append(f"' + "\\t".join(parts) + '")',
        "        return out",
        "    return encode",
    ]
    values = {"K": names, "F": fmts, "CONST": consts, "N": NULL}  # from column positions only
    namespace = execute("\n".join(source), "target-postgres-copy", {}, values)
    encoder: RowEncoder = namespace["make"](names, fmts, consts, NULL)
    return encoder


class CopySource:
    """A file-like object psycopg2's copy_expert reads from: it encodes rows as it is read, so a
    batch is never held twice in memory and PostgreSQL parses one chunk while the next is made."""

    def __init__(
        self, records: Sequence[dict[str, Any]], indexes: Sequence[int], encode: RowEncoder
    ) -> None:
        self.records = records
        self.indexes = indexes
        self.encode = encode
        self.pos = 0
        self.failed_at: int | None = None  # index into records of the row that could not be encoded
        self.error: BadValue | None = None

    def read(self, size: int = -1) -> bytes:
        if self.pos >= len(self.indexes):
            return b""
        chunk = self.indexes[self.pos : self.pos + ROWS_PER_CHUNK]
        try:
            lines = self.encode(self.records, chunk)
            lines.append("")
            data = "\n".join(lines).encode("utf-8")
        except (BadValue, UnicodeEncodeError) as exc:
            self._locate(chunk, exc)
            raise
        self.pos += len(chunk)
        return data

    readline = read

    def _locate(self, chunk: Sequence[int], exc: Exception) -> None:
        for j in chunk:
            try:
                "".join(self.encode(self.records, [j])).encode("utf-8")
            except BadValue as bad:
                self.failed_at, self.error = j, bad
                return
            except UnicodeEncodeError:
                self.failed_at, self.error = (
                    j,
                    BadValue(
                        self._surrogate_column(j),
                        "text holds an unpaired UTF-16 surrogate, which is not valid UTF-8",
                    ),
                )
                return

    def _surrogate_column(self, j: int) -> str:
        for key, value in self.records[j].items():
            try:
                orjson.dumps(value)
            except TypeError:
                return key
        return "?"


class EncodedSource:
    """CopySource for a batch whose rows were encoded as they were read (`compile_row_encoder`):
    it only joins them, appending the batch's constant columns to every line. A row refused at
    read time (None in `rows`, its BadValue in `refused`) is raised when the COPY reaches it, as
    CopySource raises when it encodes it, so a row a later one replaced is never reported."""

    def __init__(
        self,
        rows: Sequence[str | None],
        indexes: Sequence[int],
        suffix: str,
        refused: dict[int, ValueRefused],
        columns: list[tuple[str | None, str, str]],
    ) -> None:
        self.rows = rows
        self.indexes = indexes
        self.sep = suffix + "\n"
        self.refused = refused
        self.columns = columns
        self.whole = isinstance(indexes, range) and not refused  # every row, in order: slices
        self.pos = 0
        self.failed_at: int | None = None
        self.error: BadValue | None = None

    def read(self, size: int = -1) -> bytes:
        pos, n = self.pos, len(self.indexes)
        if pos >= n:
            return b""
        end = min(pos + ROWS_PER_CHUNK, n)
        if self.whole:
            lines = self.rows[pos:end]
        else:
            rows = self.rows
            chunk = self.indexes[pos:end]
            lines = [rows[j] for j in chunk]
            if self.refused and None in lines:
                j = chunk[lines.index(None)]
                bad = self.refused[j]
                self.failed_at = j
                self.error = bad if isinstance(bad, BadValue) else BadValue("?", str(bad))
                raise self.error
        sep = self.sep
        try:
            data = (sep.join(lines) + sep).encode("utf-8")  # type: ignore[arg-type]
        except UnicodeEncodeError:
            self._locate(range(pos, end) if self.whole else self.indexes[pos:end])
            raise
        self.pos = end
        return data

    readline = read

    def _locate(self, chunk: Sequence[int]) -> None:
        for j in chunk:
            row = self.rows[j] or ""
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
