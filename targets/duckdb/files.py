"""The fast lane into DuckDB: a csv BATCH file (tapwell's dialect, see tapwell.sdk.tap_batch) is
read by DuckDB's own `read_csv` (every column as text, NULL only for the unquoted empty field, so
'' stays '') and checked and cast to the table's column types in the one INSERT that loads it: no
Python per row, the file read once (plus a read of its key columns for an upsert's delete).

Each value is held to what the RECORD path would accept for its property, in SQL: DuckDB's casts
alone are lenient where the RECORD path refuses ('1.5' casts to BIGINT 2, '1.005' to
DECIMAL(12,2) 1.01, 'inf' to DOUBLE and TIMESTAMPTZ, 't' to BOOLEAN), so each column's text
passes the check of its kind (`Column.good`) or the INSERT stops on `error()`, the transaction
rolls back, and the file is read again to name the first row and column refused (`refused`).
An upsert keeps the last row of a key within a file, as the RECORD path does (only a file with a
key twice pays for the ordering).

A file is first read without being looked through (`plan(..., looked=False)`): its date-times
and times may have at most 6 fraction digits and its rows DuckDB's default max_line_size, so no
Python read of the file precedes DuckDB's. Anything that read refuses raises Unlooked, and the
loader loads its batches again looked: the file read once in Python for a bound on its longest row
and for fractions to cut and say (file_facts), every check and message as they always were.

A header naming a column the stream does not have, a file DuckDB cannot parse, or a value its
column cannot hold: one ProtocolError naming the file and, when it can be found, the row.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import re
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import duckdb
from tapwell.sdk.csv_fractions import moment_start, row_number, scan
from tapwell.sdk.sql_names import quote_ident
from tapwell.sdk.target import Batch
from tapwell.singer.errors import ProtocolError
from tapwell.singer.fraction_digits import FRACTIONS
from tapwell.singer.number_steps import (
    multiple_of,
    number_step,
    step_problem,
    ten_to_minus,
    text_off_step,
)
from tapwell.singer.schema import property_types
from tapwell.singer.value_check import FIX_KEY, FIX_VALUE

from . import stored
from .ddl import key_match, literal
from .raw import DATE, DATETIME, INTEGER_TYPES
from .types import FIX_DIGITS, FIX_WIDER, INT64, decimal_text_sql, number_scale

if TYPE_CHECKING:
    from .loader import Table

N = "_tapwell_n"  # a row's position in its file (naming a refused row)
# raw.DATETIME with any number of fraction digits: DuckDB's cast truncates past microseconds, as
# the RECORD lane cuts them; `plan` says so once per field (tapwell.sdk.csv_fractions.scan)
LONG_DATETIME = DATETIME.replace("[0-9]{1,6}", "[0-9]+")
STAGED = "temp.main._tapwell_file"  # an upserted file's checked rows
# a time's fraction of more than 6 digits, in a TIME (or TIMETZ) column's text, refused unlooked
LONG_TIME_FRACTION = "[.,][0-9]{7}"


class Unlooked(Exception):  # noqa: N818 - not an error: the load is done again, looked
    """A file read unlooked was refused: its batches are loaded again with the file looked
    through (a long fraction or row, or a refusal the looked load names)."""


class OffStep(duckdb.Error):
    """A number off its property's step, where the step is no 10^-s (multipleOf 0.25, or 5 on an
    integer: no digit count tells it), found by the exact test before the file is loaded
    (`off_step`): the file's first such (row, column index, text)."""

    def __init__(self, found: tuple[int, int, str]) -> None:
        super().__init__(f"row {found[0]}: a number off its step")
        self.found = found


def csv_source(path: str, gz: bool, names: list[str], longest: int = 0) -> str:
    """`read_csv` of one file in tapwell's csv dialect, every column (its header) as text; a
    file with a row of more than DuckDB's default max_line_size (`longest`, a bound from
    `file_facts`) read with room for it."""
    columns = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
    room = f", max_line_size = {int(longest)}" if longest > MAX_LINE_SIZE else ""
    return (
        f"read_csv({literal(path)}, header = true, columns = {{{columns}}}, delim = ',', "
        "quote = '\"', escape = '\"', allow_quoted_nulls = false, auto_detect = false, "
        f"compression = {literal('gzip' if gz else 'none')}, strict_mode = true{room})"
    )


def header(batch: Batch, path: str, gz: bool, source: str) -> list[str]:
    """The file's column names: its first csv record (a quoted name may hold a line break)."""
    try:
        with gzip.open(path, "rb") if gz else open(path, "rb") as f:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            first = next(csv.reader(text, strict=True), None)
    except (OSError, EOFError, zlib.error) as exc:
        raise bad(batch, source, f"BATCH file {path} cannot be read ({exc})") from None
    except (UnicodeDecodeError, csv.Error):
        raise bad(batch, source, f"BATCH file {path} row 1: the header is not csv") from None
    if first is None:
        raise bad(batch, source, f"BATCH file {path} row 1: no header line (empty or truncated)")
    return first


# ----------------------------------------------------------------------------- the checks

# What an object or array property's text is not (`Column.what`), and JSON's blanks around a value.
DOCUMENTS = (
    "array",
    "object",
    "array or object",
    "array or a JSON string",
    "object or a JSON string",
    "array or object or a JSON string",
)
JSON_BLANKS = " \t\n\r"

# A comma before a closing bracket outside a string (`{"a":1,}`, `[1,]`): DuckDB's JSON cast and
# json_valid take it (yyjson's trailing commas allowed), JSON and the RECORD lane do not. One
# search from the text's start, past its strings (`",]"` is text). Measured against a search for
# `,]` first and this one only where found: that cost more in the target (300,000 rows, an
# object and an array column, 5-6 interleaved rounds: CPU median 2.26-2.28 s against 2.06-2.07,
# 1.89-1.90 without a check).
TRAILING_COMMA = r",[ \t\n\r]*[\]}]"
TRAILING_COMMA_OUTSIDE = r'^(?:[^"]|"(?:[^"\\]|\\.)*")*?' + TRAILING_COMMA
NO_TRAILING_COMMA = f"NOT regexp_matches({{t}}, '{TRAILING_COMMA_OUTSIDE}')"

# Expressions of a column's text {t} and value {v}.
# A number's text as its JSON text would carry it (tapwell.sdk.tap_batch): DuckDB's casts read
# more ('0x10' and '0b11' as BIGINT 16 and 3, '1_000' as 1000, '1_0.5' as 10.5, ' 12', '+5',
# '.5'), which the RECORD lane refuses; so the text is held to the shape, then cast.
NUMBER = r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"
WHOLE = "regexp_full_match({t}, '-?[0-9]+')"
NUMBER_TEXT = f"regexp_full_match({{t}}, '{NUMBER}')"
# A number that rounds to 0 as a double (1e-400) has a non-zero digit before its exponent.
NOT_UNDERFLOW = "({v} <> 0 OR NOT regexp_matches({t}, '^[^eE]*[1-9]'))"


@dataclass(frozen=True)
class Column:
    """One column of the file: its csv name, the table column, the column's type, the value
    (`value`, an expression of the text {t}), whether a non-null text is accepted (`good`, of
    {t} and the value {v}), whether NULL is, and what a refused text is not (`what`); its
    property and key-ness (to say a refusal as the RECORD lane does), and `off`: the RECORD
    lane's exact test of a step no digit count in SQL can check (multipleOf 0.25, or 5), tested
    in Python on the file's text (`off_step`), else None."""

    name: str
    column: str
    sqltype: str
    value: str
    good: str
    nullable: bool
    what: str
    prop: dict[str, Any] = field(default_factory=dict, compare=False)
    key: bool = False
    off: Any = field(default=None, compare=False)


def decimal_args(sqltype: str) -> tuple[int, int]:
    """(precision, scale) of a DECIMAL(p,s) type name."""
    p, _, s = sqltype[len("DECIMAL(") : -1].partition(",")
    return int(p), int(s or 0)


def column(
    name: str, col: str, sqltype: str, prop: dict[str, Any], key: bool, looked: bool = True
) -> Column:
    """How the text of csv column `name` becomes a value of `col` (of `sqltype`), and the
    check that holds it to what the RECORD path accepts for `prop`; not `looked` (the file not
    looked through for fractions to cut and say), a date-time or time with more than 6 fraction
    digits is refused too."""
    kinds = set(property_types(prop)) or {"null"}
    nullable = "null" in kinds and not key
    real = kinds - {"null"}
    base = sqltype.split("(", 1)[0]
    cast = f"TRY_CAST({{t}} AS {sqltype})"
    off = _odd_step(prop, real)

    def made(value: str, good: str, what: str) -> Column:
        return Column(name, col, sqltype, value, good, nullable, what, prop, key, off)

    if base in INTEGER_TYPES and "number" in real:
        return made(*_whole_number(sqltype))
    if base in INTEGER_TYPES:
        good = _as_its_text(f"{{v}} IS NOT NULL AND {WHOLE_TEXT}")
        return made(cast, good, f"a whole number a {sqltype} holds")
    digits = _step_digits(prop) if "number" in real else None
    if base == "DECIMAL":
        p, s = decimal_args(sqltype)
        # the text cast with room for 38 digits (as many before the point as the column has):
        # a value the column would round differs from it (not when p is 38: no room is left)
        good = f"{{v}} IS NOT NULL AND {{v}} = TRY_CAST({{t}} AS DECIMAL(38,{38 - (p - s)}))"
        good += f" AND {WHOLE_TEXT if real == {'integer'} else NUMBER_TEXT}"
        what = f"a number a {sqltype} holds exactly ({p - s} digits before the point, {s} after)"
        if digits is not None and (p == 38 or digits < s):
            good += f" AND {_within_digits(digits)}"
            what += f", {_step_words(prop, digits)}"
        elif s == 0 or real != {"integer"}:  # its own text ('5.00') is no whole number's
            good = _as_its_text(good)
        return made(cast, good, what)
    if base in ("DOUBLE", "FLOAT"):
        good = f"isfinite({{v}}) AND {NOT_UNDERFLOW} AND {NUMBER_TEXT}"
        what = f"a finite number a {sqltype} holds"
        if digits is not None:
            good += f" AND {_within_digits(digits)}"
            what += f", {_step_words(prop, digits)}"
        return made(f"TRY_CAST({{t}} AS {sqltype})", good, what)
    if base == "BOOLEAN":
        return made("{t} = 'true'", "{t} IN ('true', 'false')", "true or false")
    if base in ("DATE", "TIMESTAMPTZ", "TIMESTAMP"):
        shape = DATE if base == "DATE" else LONG_DATETIME if looked else DATETIME
        good = (
            f"{{v}} IS NOT NULL AND regexp_full_match({{t}}, '{shape}') "
            "AND NOT starts_with({t}, '0000')"
        )
        return made(
            cast, good, "a date (YYYY-MM-DD)" if base == "DATE" else "an RFC 3339 date-time"
        )
    if real & {"object", "array"} and real <= {"object", "array", "string"}:
        return made(*_document(real, sqltype))
    if base == "VARCHAR" and real and real <= {"integer", "number"}:
        # a decimal wider than 38 digits: held to its step as the RECORD lane holds it
        good, what = NUMBER_TEXT, "a number"
        if real == {"integer"}:
            good, what = WHOLE_TEXT, "a whole number"
        elif digits is not None:
            good += f" AND {_within_digits(digits)}"
            what += f", {_step_words(prop, digits)}"
        return made(decimal_text_sql("{t}", number_scale(prop)), good, what)
    if base == "VARCHAR":
        return made("{t}", "true", "text")
    if base == "JSON":  # any JSON value (a property of no type, or of every kind)
        return made(cast, f"{{v}} IS NOT NULL AND {NO_TRAILING_COMMA}", "a JSON value")
    if not looked and moment_start(sqltype) is not None:  # TIME, TIMETZ
        good = f"{{v}} IS NOT NULL AND NOT regexp_matches({{t}}, '{LONG_TIME_FRACTION}')"
        return made(cast, good, f"a {sqltype}")
    return made(cast, "{v} IS NOT NULL", f"a {sqltype}")


def _document(real: set[str], sqltype: str) -> tuple[str, str, str]:
    """(value, good, what) of an object or array property: a text is held to the RECORD lane's
    kinds (JSON's own `1`, `"x"`, `null`, or `[1]` in an object property, are refused), told
    by its first character past JSON's blanks once DuckDB's cast has read it as JSON. With
    `string` among its types, a JSON string (`"x"`, as tapwell.sdk.tap_batch and tap-csv write a
    string there) is one of those kinds and loads as that string, as the RECORD lane keeps it; a
    text that is no JSON (`x`) is refused: it would be a string or a document only by guessing."""
    kinds = sorted(real)
    starts = "".join({"object": "{", "array": r"\[", "string": '"'}[kind] for kind in kinds)
    cast = f"TRY_CAST({{t}} AS {sqltype})"
    kind = f"regexp_matches({{t}}, '^[ \\t\\n\\r]*[{starts}]')"
    what = " or ".join(f"a JSON {k}" if k == "string" else k for k in kinds)
    valid = "{v} IS NOT NULL" if sqltype == "JSON" else "{v} IS NOT NULL AND json_valid({t})"
    return cast, f"{valid} AND {kind} AND {NO_TRAILING_COMMA}", what


def _as_its_text(good: str) -> str:
    """`good`, told at once for a text that is the value's own text as DuckDB writes it ('-12',
    '1047.29' for a DECIMAL(12,2)): such a text passes the checks (a number's shape; the value
    holds it exactly, no rounding), so only another spelling ('007', '1.5e3', '1047.3') pays
    for them (a regular expression and a wider cast: 0.013 of 0.127 CPU s per 100,000-row file
    for a DECIMAL, 0.002 for an integer). The caller leaves out a check the value's text could
    fail: a whole number's shape against a scale above 0, a count of digits."""
    return f"(CASE WHEN {{t}} = CAST({{v}} AS VARCHAR) THEN true ELSE ({good}) END)"


def _whole_number(sqltype: str) -> tuple[str, str, str]:
    """(value, good, what) of a `number` property whose column is an integer type (x-scale 0:
    DECIMAL(19..38,0) is a HUGEINT, or a BIGINT widened by a SCHEMA of such a number). Its JSON
    text may be a whole number spelled with a point or an exponent ('1E+3', as tap-csv writes
    a widened integer column's '1e3'; '1.0'), which the RECORD lane loads: DuckDB's cast reads
    it exactly, but rounds a fraction (1.5 to 2), so the text is held to no digit after the
    point (its exponent and trailing zeros counted)."""
    good = f"{{v}} IS NOT NULL AND {NUMBER_TEXT} AND {_within_digits(0)}"
    return f"TRY_CAST({{t}} AS {sqltype})", good, f"a whole number a {sqltype} holds"


def _odd_step(prop: dict[str, Any], real: set[str]) -> Any:
    """The RECORD lane's exact test (schema.multiple_of) of a number or integer property's step
    when it is no 10^-s (0.25, 5, 10), which a count of digits after the point cannot check;
    None for any other property (a 10^-s step is checked in SQL, and every integer is on it)."""
    if not real & {"number", "integer"}:
        return None
    step = number_step(prop)
    if step is None or ten_to_minus(step) is not None:
        return None
    return multiple_of(step)


def _step_digits(prop: dict[str, Any]) -> int | None:
    """k when the property's values must be multiples of 10^-k (multipleOf, or x-scale k: the
    RECORD lane's rule, schema.number_step); None without such a step."""
    step = number_step(prop)
    return None if step is None else ten_to_minus(step)


def _within_digits(k: int) -> str:
    """Whether the number text {t} has at most k digits after the point, read exactly from the
    text (its exponent and trailing zeros counted): DuckDB's cast rounds 1.239 into a
    DECIMAL(38,2) as 1.24, and the cast with more room cannot be made at 38 digits."""
    mantissa = "regexp_extract({t}, '^[-+]?([0-9.]*)', 1)"
    digits = f"replace({mantissa}, '.', '')"
    after = f"CASE WHEN contains({mantissa}, '.') THEN length({mantissa}) - strpos({mantissa}, '.') ELSE 0 END"
    exponent = (
        "TRY_CAST(coalesce(nullif(regexp_extract({t}, '[eE]([-+]?[0-9]+)$', 1), ''), '0') "
        "AS HUGEINT)"
    )
    zeros = f"(length({digits}) - length(rtrim({digits}, '0')))"
    exact = f"(rtrim({digits}, '0') = '' OR {after} - {exponent} - {zeros} <= {int(k)})"
    # most texts have no exponent and no more than k digits after the point: told cheaply
    plain = (
        "NOT (contains({t}, 'e') OR contains({t}, 'E')) AND "
        f"(strpos({{t}}, '.') = 0 OR length({{t}}) - strpos({{t}}, '.') <= {int(k)})"
    )
    return f"(CASE WHEN {plain} THEN true ELSE {exact} END)"


# Whether text {t} is a whole number as an integer property's JSON text may spell it: digits
# (told first: most are), or a JSON number with no digit after the point once its exponent and
# trailing zeros are counted ('1.0', '1E+3', '10E-1'), which RECORD lines load as 1 and 1000 and
# DuckDB's cast reads exactly (it rounds a fraction, 1.5 to 2: refused here).
WHOLE_TEXT = f"({WHOLE} OR ({NUMBER_TEXT} AND {_within_digits(0)}))"


def _step_words(prop: dict[str, Any], k: int) -> str:
    if "multipleOf" in prop:
        return f"a multiple of {prop['multipleOf']} (the schema's multipleOf)"
    return f"with at most {k} digits after the point (the schema's x-scale {k})"


def _at(sql: str, t: str, v: str = "") -> str:
    """`sql` with its text {t} and value {v} named (in one pass: a name may hold either)."""
    return _SLOT.sub(lambda m: t if m[1] == "t" else v, sql)


_SLOT = re.compile(r"\{([tv])\}")


def _accepted(c: Column, j: int) -> str:
    """Whether the row's value of column j is accepted (NULL included)."""
    if_null = "true" if c.nullable else "false"
    return f"CASE WHEN t{j} IS NULL THEN {if_null} ELSE ({_at(c.good, f't{j}', f'v{j}')}) END"


# ----------------------------------------------------------------------------- the load


@dataclass(frozen=True)
class File:
    """One csv BATCH file of a stream: its path, its columns, the keys it upserts on, the
    version its rows carry and a bound on its longest row."""

    path: str
    gz: bool
    columns: list[Column]
    keys: list[Column]
    version: int | None
    longest: int = 0  # a bound on its longest row (Facts)

    def source(self) -> str:
        return csv_source(self.path, self.gz, [c.name for c in self.columns], self.longest)

    def typed(self, numbered: bool = False) -> str:
        """The file's rows: each column's text t<j> and value v<j> (and its position in the
        file, when `numbered`)."""
        ts = [f"{quote_ident(c.name)} AS t{j}" for j, c in enumerate(self.columns)]
        vs = [f"{_at(c.value, f't{j}')} AS v{j}" for j, c in enumerate(self.columns)]
        n = [f"row_number() OVER () + 1 AS {N}"] if numbered else []
        inner = f"SELECT {', '.join(n + ts)} FROM {self.source()}"
        return f"SELECT *, {', '.join(vs) or 'NULL AS _none'} FROM ({inner})"

    def checked(self) -> tuple[str, list[str]]:
        """(the SELECT of the file's rows as the table's columns, each value checked: a refused
        one stops the statement with DuckDB's error(); the table columns it fills)."""
        values, cols = [], []
        for j, c in enumerate(self.columns):
            values.append(
                f"CASE WHEN {_accepted(c, j)} THEN v{j} "
                f"ELSE error({literal('refused column ' + c.column)}) END AS {quote_ident(c.column)}"
            )
            cols.append(c.column)
        if self.version is not None:
            values.append(f"CAST({int(self.version)} AS BIGINT) AS _sdc_table_version")
            cols.append("_sdc_table_version")
        return f"SELECT {', '.join(values)} FROM ({self.typed()})", cols


def plan(
    batch: Batch,
    table: Table,
    path: str,
    gz: bool,
    source: str,
    upsert: bool,
    looked: bool = True,
) -> File:
    """The file's columns from its header, checked against the stream's; `looked`: the file
    read for its Facts first (when not, DuckDB's read refuses what they would be needed for)."""
    by_prop = {c.prop: c.column for c in table.staged if not c.unchanged}
    props = batch.spec.schema.get("properties") or {}
    keys = set(batch.spec.key_properties)
    columns = []
    for name in header(batch, path, gz, source):
        col = by_prop.get(name)
        if col is None:
            raise bad(
                batch,
                source,
                f"BATCH file {path} row 1: column {name!r} is not in the stream's schema",
            )
        prop = props.get(name, {})
        columns.append(column(name, col, table.columns[col], prop, name in keys, looked))
    facts = Facts(False, 0)
    if looked:
        moments = any(moment_start(c.sqltype) is not None for c in columns)
        with contextlib.suppress(OSError, EOFError, zlib.error):  # the load names such a file
            facts = file_facts(path, gz, fractions=moments)
        _say_long_fractions(batch, path, gz, columns, facts)
    missing = [k for k in batch.spec.key_properties if k not in {c.name for c in columns}]
    if upsert and missing:
        raise bad(batch, source, f"BATCH file {path} row 1: no column for key {missing[0]!r}")
    key_cols = [c for c in columns if c.name in keys] if upsert else []
    return File(path, gz, columns, key_cols, batch.version, facts.longest)


def _say_long_fractions(
    batch: Batch, path: str, gz: bool, columns: list[Column], facts: Facts
) -> None:
    """A date-time or time with more than 6 fraction digits, which DuckDB's cast truncates:
    said once per stream and field, naming the file's row (as the RECORD lane says it)."""
    moments = {j: moment_start(c.sqltype) for j, c in enumerate(columns)}
    found = {j: start for j, start in moments.items() if start is not None}
    if not found or not facts.long_fraction:
        return

    def cut(text: str, start: int, j: int, at: int) -> str:
        def where() -> str:
            with gzip.open(path, "rb") if gz else open(path, "rb") as f:
                return f"BATCH file {path} row {row_number(f.read(at))}"

        name = columns[j].name
        return FRACTIONS.cut(text, start, batch.spec.name, name, batch.first_line, where=where)

    try:
        with gzip.open(path, "rb") if gz else open(path, "rb") as f:
            scan(f, len(columns), found, cut)  # type: ignore[arg-type]
    except (OSError, EOFError, zlib.error):
        return  # the load names the file that cannot be read


# csv_fractions.long_fraction's test (a time's seconds, `.` or `,`, 7+ digits) as one regular
# expression over the raw bytes: 0.07 s for 63 MB against 0.22 s for scan's walk by rows.
_LONG_FRACTION = re.compile(rb":[0-9]{2}[.,][0-9]{7}")
_MATCH = len(b":00.0000000")
MAX_LINE_SIZE = 2_097_152  # DuckDB's read_csv default (a longer row: 'CSV Error on Line')
BLOCK = 1 << 19  # the row-length bound's unit: a file whose every block ends a row has none past


@dataclass(frozen=True)
class Facts:
    """What one read of a file tells the load: whether it may hold a time with more than 6
    fraction digits (when not, scan has nothing to say), and a bound on its longest row in
    bytes (read_csv refuses a row past its max_line_size, which costs memory to raise)."""

    long_fraction: bool
    longest: int


def file_facts(
    path: str, gz: bool, size: int = 1 << 22, block: int = BLOCK, fractions: bool = True
) -> Facts:
    """The file's Facts, read in pieces of `size` bytes (a fraction across two pieces found;
    not looked for without `fractions`: a file with no date-time or time column)."""
    tail, found = b"", not fractions
    rows = _RowBound(block)
    with gzip.open(path, "rb") if gz else open(path, "rb") as f:
        while piece := f.read(size):
            if not found:
                edge = tail + piece[: _MATCH - 1]
                found = bool(_LONG_FRACTION.search(edge) or _LONG_FRACTION.search(piece))
                keep = (tail + piece) if len(piece) < _MATCH else piece
                tail = keep[1 - _MATCH :]
            rows.add(piece)
    return Facts(found and fractions, rows.longest())


def may_hold_long_fraction(path: str, gz: bool, size: int = 1 << 22) -> bool:
    """Whether the file may hold a time with more than 6 fraction digits."""
    return file_facts(path, gz, size).long_fraction


class _RowBound:
    """A bound on the longest csv row of a file fed in pieces: the file is cut in blocks, and a
    row ends in a block when a newline there follows an even number of quotes since the file's
    start (in the dialect a quote inside a field is doubled). A row is no longer than the blocks
    from the one where the row before it ended to the one where it ends: a C count and find per
    block, a walk by newlines only in a block inside one quoted field."""

    def __init__(self, block: int) -> None:
        self.block = block
        self.offset = 0  # bytes fed
        self.odd = False  # inside a quoted field at `offset`
        self.since = 0  # start of the block where the last row ended
        self.most = 0

    def add(self, piece: bytes) -> None:
        for a in range(0, len(piece), self.block):
            b = min(a + self.block, len(piece))
            quotes = piece.count(b'"', a, b)
            if self._row_ends(piece, a, b, quotes):
                self.most = max(self.most, self.offset + b - self.since)
                self.since = self.offset + a
            self.odd ^= quotes % 2 == 1
        self.offset += len(piece)

    def _row_ends(self, piece: bytes, a: int, b: int, quotes: int) -> bool:
        """Whether a row ends in piece[a:b] (`quotes` of them there)."""
        end = piece.rfind(b"\n", a, b)
        while end >= 0:
            quotes -= piece.count(b'"', end, b)
            if (quotes % 2 == 1) == self.odd:
                return True
            b, end = end, piece.rfind(b"\n", a, end)
        return False

    def longest(self) -> int:
        return max(self.most, self.offset - self.since)


def off_step(con: duckdb.DuckDBPyConnection, f: File) -> tuple[int, int, str] | None:
    """The file's first (row, column index, text) of a number off its step, for the columns
    whose step SQL cannot check (Column.off): their texts read by DuckDB (the rows numbered as
    `refused` numbers them) and tested exactly, as Decimals, by the RECORD lane's test. None
    when every value is on its step (or the file has no such column: nothing is read)."""
    odd = [(j, c) for j, c in enumerate(f.columns) if c.off is not None]
    if not odd:
        return None
    probe = con.cursor()  # reading the file needs no transaction
    try:
        return _first_off(probe, f, odd)
    finally:
        probe.close()


def _first_off(
    con: duckdb.DuckDBPyConnection, f: File, odd: list[tuple[int, Column]]
) -> tuple[int, int, str] | None:
    names = ", ".join(quote_ident(c.name) for _, c in odd)
    some = " OR ".join(f"{quote_ident(c.name)} IS NOT NULL" for _, c in odd)
    numbered = f"SELECT row_number() OVER () + 1 AS {N}, {names} FROM {f.source()}"
    reader = con.sql(f"SELECT * FROM ({numbered}) WHERE {some}").to_arrow_reader(1 << 16)
    for part in reader:  # a cursor of its own: left unread when a value is found, it is closed
        rows = part.column(0).to_pylist()
        first = None
        for k, (j, c) in enumerate(odd):
            for i, text in enumerate(part.column(k + 1).to_pylist()):
                if first is not None and i >= first[0]:
                    break
                if text is not None and text_off_step(c.off, text):
                    first = (i, j, text)
                    break
        if first is not None:
            return rows[first[0]], first[1], first[2]
    return None


_NUMBER_SHAPE = re.compile(NUMBER)


def _number(text: str) -> Decimal | None:
    """The text's exact value, when it is a finite number spelled as JSON spells it (Decimal
    also reads '1_000' and ' 12', which SQL's checks refuse as no number)."""
    if not _NUMBER_SHAPE.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def merge(
    con: duckdb.DuckDBPyConnection,
    target: str,
    f: File,
    deleted: bool,
    unnamed: Collection[str] = (),
) -> int:
    """The file's rows into `target`, read once: appended straight from the file; with keys,
    staged (checked) in a temporary table, the table's rows of those keys deleted, and of a key
    the file holds twice only its last row inserted. Returns the rows inserted. A file with a
    number off a step SQL cannot check (Column.off) is refused first (OffStep), nothing loaded.
    The table's `unnamed` columns (stored.unnamed) the file does not fill keep their stored
    values (stored.py)."""
    found = off_step(con, f)
    if found is not None:
        raise OffStep(found)
    rows, cols = f.checked()
    where = " WHERE _sdc_deleted_at IS NULL" if deleted else ""
    collist = ", ".join(quote_ident(c) for c in cols)
    if not f.keys:
        inserted = con.execute(
            f"INSERT INTO {target} ({collist}) SELECT {collist} FROM ({rows}) AS s{where}"
        ).fetchone()
        return int(inserted[0]) if inserted else 0
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED} AS {rows}")
    try:
        keys = ", ".join(quote_ident(k.column) for k in f.keys)
        found = con.execute(
            f"SELECT count(*) FROM (SELECT {keys} FROM {STAGED} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        key_cols = [k.column for k in f.keys]
        left = stored.left_out(list(unnamed), cols, key_cols)
        if left:
            stored.save(con, target, key_cols, left, STAGED)
        match = key_match(key_cols)  # a key is refused when null
        con.execute(f"DELETE FROM {target} AS t USING {STAGED} AS s WHERE {match}")
        last = ""
        if found and found[0]:  # the rowid of a temporary table is the file's row order
            last = f" QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY rowid DESC) = 1"
        rows = f"SELECT {collist} FROM {STAGED}{where}{last}"
        insert = stored.insert(target, cols, left, key_cols, rows) if left else None
        inserted = con.execute(insert or f"INSERT INTO {target} ({collist}) {rows}").fetchone()
    finally:  # after an error DuckDB refuses any statement (the load's ROLLBACK drops it)
        with contextlib.suppress(duckdb.TransactionException):
            con.execute(f"DROP TABLE IF EXISTS {STAGED}")
            stored.drop(con)
    return int(inserted[0]) if inserted else 0


def refused(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    f: File,
    exc: duckdb.Error,
    source: str,
) -> ProtocolError:
    """What DuckDB refused (or `off_step` found), named by file, row and column when a value
    was refused: the file's first refused row, and in it the first refused column."""
    message = str(exc).splitlines()[0]
    probe = con.cursor()  # the load's transaction is aborted; reading the file needs none
    # IS NOT TRUE: a check may be NULL ('abc' in a DOUBLE column: isfinite(NULL)), which the
    # load refuses (CASE WHEN NULL takes the error) and NOT (NULL) would not name
    first = " ".join(
        f"WHEN ({_accepted(c, j)}) IS NOT TRUE THEN {j}" for j, c in enumerate(f.columns)
    )
    try:
        found = (
            probe.execute(
                f"SELECT {N}, j, t FROM (SELECT {N}, CASE {first} END AS j, "
                f"[{', '.join(f't{j}' for j in range(len(f.columns)))}][j + 1] AS t "
                f"FROM ({f.typed(numbered=True)})) WHERE j IS NOT NULL ORDER BY {N} LIMIT 1"
            ).fetchone()
            if f.columns
            else None
        )
    except duckdb.Error:
        found = None  # the file itself does not parse: DuckDB's message says where
    if isinstance(exc, OffStep) and (found is None or exc.found[:2] < found[:2]):
        found = exc.found
    if found is None:
        return bad(batch, source, f"BATCH file {f.path}{_unparsed(str(exc), message)}")
    row, j, text = found
    c = f.columns[j]
    return bad(
        batch, source, f"BATCH file {f.path} row {row}, column {c.column}: {_problem(c, text)}"
    )


def _problem(c: Column, text: str | None) -> str:
    """Why the column refused `text`, with the fix, in the RECORD lane's words where it has them
    (a step, digits before the point, 64 bits); else what the text is not."""
    if text is None:
        return (
            f"NULL is not {c.what} (the column may not be null: {FIX_KEY if c.key else FIX_VALUE})"
        )
    short = text if len(text) <= 40 else text[:40] + "..."
    if _TRAILING_COMMA_OUTSIDE.search(text):
        return f"{short!r} is no JSON: a comma before a closing bracket ({FIX_VALUE})"
    if c.what in DOCUMENTS and text.strip(JSON_BLANKS) == "null":
        return f"{short!r} is not {c.what} (a JSON null: NULL is the unquoted empty field; {FIX_VALUE})"
    number = _number(text)
    if number is not None:
        step = number_step(c.prop) if {"number", "integer"} & set(property_types(c.prop)) else None
        test = c.off or (multiple_of(step) if step is not None else None)
        if test is not None and not test(number):
            return f"{step_problem(c.prop, short)} ({FIX_VALUE})"
        base = c.sqltype.split("(", 1)[0]
        if base == "DECIMAL":
            p, s = decimal_args(c.sqltype)
            if abs(number) >= 10 ** (p - s):
                return (
                    f"{short} has more than {p - s} digits before the point, which a "
                    f"{c.sqltype} column cannot hold: {FIX_DIGITS}"
                )
        whole = number == number.to_integral_value()
        if base == "BIGINT" and whole and not INT64[0] <= number <= INT64[1]:
            return f"{short} is outside the range of a BIGINT column (64 bits): {FIX_WIDER}"
    return f"{short!r} is not {c.what} ({FIX_VALUE})"


_TRAILING_COMMA_OUTSIDE = re.compile(TRAILING_COMMA_OUTSIDE)


def _unparsed(text: str, first: str) -> str:
    """` row N: ...why` for a file DuckDB's csv reader stopped at (its first line said only
    `CSV Error on Line: N`; the reason is on its later lines), else `: its first line`."""
    m = re.match(r"Invalid Input Error: CSV Error on Line: (\d+)", first)
    if m is None:
        return f": {first}"
    n = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if n:
        why = f"expected {n[1]} fields as in the header, found {n[2]}"
    elif "unterminated quote" in text:
        why = "a quoted field is not closed (truncated file?)"
    else:
        why = "malformed csv"
    return f" row {m[1]}: {why}: fix the file, or run the tap again to write it anew"


def bad(batch: Batch, source: str, problem: str) -> ProtocolError:
    return ProtocolError(problem, line=batch.first_line, stream=batch.spec.name, source=source)


__all__: list[Any] = ["File", "OffStep", "Unlooked", "csv_source", "merge", "plan", "refused"]
