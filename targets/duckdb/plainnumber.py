"""A plain `number` (no multipleOf, x-scale or x-precision: what singer-sdk taps send for a SQL
decimal) keeps every value as written.

Its column starts as DOUBLE: fast, and exact for every value a double gives back as written
(`Decimal(repr(float(text))) == Decimal(text)`): every value a float source sends, and any text of
at most 15 significant digits within a double's range. The first value a DOUBLE would not give
back (123456789012345678901234.5678, 0.12345678901234567, 2^53 + 1) makes the column exact
instead, in the batch's transaction:

- DECIMAL(38,s) when every value stored so far and the batch's fit 38 digits (stored doubles are
  converted through their shortest text, `CAST(CAST(d AS VARCHAR) AS DECIMAL(38,s))`, exact
  because only values a double gives back were stored); a later value with more places or more
  digits before the point widens s again, or makes it VARCHAR;
- else VARCHAR, every value as its source's text (as a declared number past 38 digits already
  is): a csv BATCH file's field, a RECORD line's number as the line spells it (`0`, `-0`,
  `1.50`, `1E5`: `respeller`), as every lane writes it. Values stored before the change hold
  DuckDB's text of what was stored: a DOUBLE's shortest text (`0.0`, `1e+308`), a DECIMAL(38,s)
  made here without the zeros its scale added (`1.5`), a declared DECIMAL(p,s) at its scale
  (`1.50`). In the batch that makes a column text, every value holds its line's text, also one
  the wire read as a float or int (`1.50`, `-0`: the batch's lines are read again, `_Lines`).

One INFO line on stderr says so (stream, column, old and new type, the value that did it). Later
loads keep the exact type (ddl.wider: a plain number never narrows an exact column back to DOUBLE),
and a re-run of the same records changes nothing in rows of the batch that changed the type
(rows committed before it are written with their source's text).

Where the check runs: a float read from JSON always goes back as written (the wire reads a number
as a float only when it has at most 15 significant digits), so the staging only tests ints and
Decimals (types.exact_double) and keeps the value itself when a double would not; the load looks
for such values (`widen`) only in the stream's plain columns, with one C-speed pass over the
batch's column. RECORD lines read in SQL (raw.py) never hold such a number: a line with a run of
16 digits or a three-digit exponent goes to the Python path.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson
from tapwell.sdk.sql_names import quote_ident
from tapwell.sdk.target_lanes import everywhere
from tapwell.singer.number_steps import normalized
from tapwell.singer.wire import JsonNumber, dumps, loads_spelled, may_respell

from .files import decimal_args
from .types import (
    decimal_text,
    decimal_text_sql,
    exact_double,
    is_plain,
    minus_zero_pattern,
    text_scale,
)

if TYPE_CHECKING:
    from tapwell.sdk.target import Batch

    from .loader import DuckDBLoader, Table
    from .stage import StagedColumn

LOG = logging.getLogger("target-duckdb")
DIGITS = 38  # DuckDB's widest DECIMAL
_PLAIN_KINDS = (float, type(None))


def plain_columns(schema: dict[str, Any], staged: list[StagedColumn]) -> tuple[int, ...]:
    """Positions of the staged columns whose property is a plain number, and of any other
    DOUBLE (or FLOAT) column (an integer property loaded into a DOUBLE an earlier schema made):
    a value a double would not give back makes those exact too. A plain number's VARCHAR column
    is staged (in `staged`, in place) with each value as read, for `widen` to write its text."""
    props = schema.get("properties") or {}
    plain = tuple(
        j
        for j, c in enumerate(staged)
        if not c.unchanged
        and (
            c.arrow == "float64"
            or (isinstance(props.get(c.prop), dict) and is_plain(props[c.prop]))
        )
    )
    for j in plain:
        c = staged[j]
        staged[j] = staged_column(c.prop, c.column, c.sqltype, text_scale(props.get(c.prop)))
    return plain


def staged_column(prop: str, column: str, sqltype: str, scale: int | None) -> StagedColumn:
    """How a plain number's column is staged: as stage.staged_column stages its type, but a
    DECIMAL or VARCHAR keeps each value as read (`widen` writes each one's text; a VARCHAR's
    at `scale`, the property's multipleOf 10^-s, when it has one: types.decimal_text)."""
    from . import stage  # the loader imports this module

    if sqltype == "VARCHAR" or sqltype.startswith("DECIMAL("):
        return stage.StagedColumn(prop, column, sqltype, "string", "v", {}, scale)
    return replace(stage.staged_column(prop, column, sqltype), scale=scale)


def number_text(value: Any) -> Any:
    """A staged number as the text its input held: a number read with its spelling (`1.50`,
    `1E5`, `-0`: `respeller`) as spelled; an integer's digits; a float as the wire writes it
    back (its line's text: a line spelling a number otherwise was read with its spelling); a
    Decimal's own text (`12345678901234567890.1234`); a text (a csv file's, a DECIMAL's staged
    text) as it is; None stays."""
    if value is None or type(value) is str:
        return value
    if type(value) is JsonNumber:
        return value.text
    if type(value) is float:
        return orjson.dumps(value).decode()
    return str(value)


def respeller(
    table: Table, documents: Callable[[dict[str, Any], bytes], dict[str, Any]] | None
) -> Callable[[dict[str, Any], bytes], dict[str, Any]] | None:
    """RowEncoder.respell for a table with plain-number columns (and `documents`, the JSON
    columns' respell): a record whose plain number goes to a column made exact (VARCHAR, or a
    DECIMAL a value may make VARCHAR), or was read exactly (a Decimal: its line may make the
    column exact, and text, in this batch), and whose line spells such a number otherwise than
    the wire writes it back (`1.50`, `1E5`, `-0`, `-0.000000000000000000000000000001`), has
    those properties read again from the line, each number a JsonNumber keeping its text.
    Floats for a DOUBLE column, the usual record, cost a dict look-up per plain column: the
    batch that makes a DOUBLE column text reads its other values' lines again at load (`widen`),
    where reading every such line here cost +50% CPU on such streams."""
    if not table.plain:
        return documents
    keys = [(c.prop, c.column, dumps(c.prop)) for c in map(table.staged.__getitem__, table.plain)]
    columns = table.columns

    def wanted(record: dict[str, Any]) -> bool:
        for prop, column, _ in keys:
            value = record.get(prop)
            if value is not None and (type(value) is Decimal or columns[column] != "DOUBLE"):
                return True
        return False

    def as_written(record: dict[str, Any], line: bytes) -> bool:
        """Whether each such number's text in the line is the wire's writing of it: found
        after its key (`"x":1.5,`) wherever the line holds the key (a document may hold
        `"x":1.5` where the record holds `"x":1.50`: tapwell.sdk.target_lanes.everywhere)."""
        for prop, _, key in keys:
            value = record.get(prop)
            if value is None or type(value) is JsonNumber:
                continue
            text = key + b":" + number_text(value).encode()
            if not everywhere(line, key, text + b",", text + b"}"):
                return False
        return True

    def respell(record: dict[str, Any], line: bytes) -> dict[str, Any]:
        if documents is not None:
            record = documents(record, line)
        if not wanted(record) or not may_respell(line) or as_written(record, line):
            return record
        again = loads_spelled(line).get("record")
        if type(again) is not dict:  # pragma: no cover - the loop read it as a RECORD line
            return record
        return {**record, **{p: again[p] for p, _, _ in keys if p in again and p in record}}

    return respell


def extent(text: str) -> tuple[int, int]:
    """(digits before the point, digits after it) of a number's exact value, trailing zeros of
    the fraction and leading zeros left out: `123.4500` (3, 2), `1E+2` (3, 0), `-0.0` (0, 0)."""
    d = Decimal(text)
    if not d:
        return 0, 0
    _, digits, exponent = normalized(d).as_tuple()
    assert isinstance(exponent, int)  # finite: the wire and the checks admit no NaN or Infinity
    return max(0, len(digits) + exponent), max(0, -exponent)


def _extent_sql(text: str) -> tuple[str, str]:
    """SQL of extent() for a number's text without its sign, as DuckDB writes a DOUBLE or a
    DECIMAL (`1.5`, `1e+22`, `1.5e-07`, `1.5000`) or a csv file holds it (`1E5`)."""
    mantissa = f"split_part({text}, 'e', 1)"
    power = f"CASE WHEN contains({text}, 'e') THEN TRY_CAST(split_part({text}, 'e', 2) AS INTEGER) ELSE 0 END"
    whole = f"ltrim(split_part({mantissa}, '.', 1), '0')"
    fraction = f"rtrim(split_part({mantissa}, '.', 2), '0')"
    return (
        f"greatest(0, length({whole}) + {power})",
        f"greatest(0, length({fraction}) - {power})",
    )


def stored_extent(loader: DuckDBLoader, table: Table, column: str) -> tuple[int, int]:
    """extent() over the values a DOUBLE or DECIMAL column holds, in SQL, from each value's
    shortest text as DuckDB writes it."""
    whole, places = _extent_sql(f"CAST(abs({quote_ident(column)}) AS VARCHAR)")
    row = loader.con.execute(
        f"SELECT coalesce(max({whole}), 0), coalesce(max({places}), 0) "
        f"FROM {loader._qualified(table.schema, table.name)} "
        f"WHERE {quote_ident(column)} IS NOT NULL AND {quote_ident(column)} <> 0"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def exact_type(whole: int, places: int) -> str:
    """The column holding numbers of up to `whole` digits before the point and `places` after."""
    return f"DECIMAL({DIGITS},{places})" if whole + places <= DIGITS else "VARCHAR"


# The table's batches that may have been read while a load behind the reader ran: the next one,
# loading ahead of its commit (DuckDBLoader.load_ahead), and the one the reader reads meanwhile;
# the one after waits for the load to end before it is read.
READ_AHEAD = 2


def widen(
    loader: DuckDBLoader,
    batch: Batch,
    table: Table,
    rows: list[tuple[Any, ...]],
    every: list[tuple[Any, ...]] | None = None,
) -> list[tuple[Any, ...]]:
    """The batch's rows (the last of each key among `every`, the batch's rows in input order),
    with the table's plain-number columns made exact first where a value needs it (see the
    module's text); their values staged as text when the column is not a DOUBLE. Only the
    plain columns are looked at. When a column becomes text, or was made exact by the table's
    previous two loads (this batch may have been read before such a load changed it), each value the
    wire read as a float or int gets its line's text (`1.50`, `-0`, `1E5`: `_Lines`)."""
    fresh = set(table.fresh)
    table.fresh = {c: n - 1 for c, n in table.fresh.items() if n > 1}
    lines = _Lines(batch, rows, every)
    for j in table.plain:
        column = table.staged[j]
        values = list(map(itemgetter(j), rows))
        sqltype = table.columns[column.column]
        if sqltype == "DOUBLE":
            if set(map(type, values)) <= set(_PLAIN_KINDS):
                continue  # the usual batch: every value a float a DOUBLE gives back
            odd = [i for i, v in enumerate(values) if type(v) not in _PLAIN_KINDS]
            doubles = {i: exact_double(values[i]) for i in odd}
            inexact = next((i for i in odd if type(doubles[i]) is not float), None)
            if inexact is None:  # integers and spelled numbers a DOUBLE gives back: as doubles
                # `-0`, which the JSON readers read as the integer 0, is -0.0
                zeros = [i for i in odd if type(values[i]) is int and values[i] == 0]
                for i in lines.minus(zeros, column.prop) if zeros else ():
                    doubles[i] = -0.0
                rows = list(rows)
                for i in odd:
                    rows[i] = (*rows[i][:j], doubles[i], *rows[i][j + 1 :])
                continue
            texts = lines.written(values, column.prop)
            first = texts[inexact]
        elif sqltype.startswith("DECIMAL("):
            texts = list(map(number_text, values))
            first = _first_outside(texts, *decimal_args(sqltype))
            if first is not None and column.column in fresh:
                texts = lines.written(values, column.prop)
        elif sqltype == "VARCHAR":  # every value as its exact text
            texts, first = list(map(number_text, values)), None
            if column.column in fresh:
                texts = lines.written(values, column.prop)
        else:  # a column of the user's own type (FLOAT): staged as a double, as before
            rows = [(*r[:j], _float(r[j]), *r[j + 1 :]) for r in rows]
            continue
        if first is not None:
            sqltype = _make_exact(loader, batch, table, j, texts, first)
        if sqltype == "VARCHAR":  # positional, never an exponent (`1E5`: 100000)
            texts = [decimal_text(t, column.scale) for t in texts]
        if sqltype != "DOUBLE":
            rows = [(*r[:j], t, *r[j + 1 :]) for r, t in zip(rows, texts, strict=True)]
    return rows


class _Lines:
    """The input lines of a batch's rows (Batch.texts, kept when the table has plain columns),
    for the rare batch that needs them: one that makes a column text, or holds an integer 0 a
    line may spell `-0`. A line is read again (keeping each number's text) only when it does not
    hold the value as the wire writes it back."""

    def __init__(
        self, batch: Batch, rows: list[tuple[Any, ...]], every: list[tuple[Any, ...]] | None
    ) -> None:
        self.batch, self.rows, self.every = batch, rows, rows if every is None else every

    def lines(self, wanted: list[int]) -> dict[int, bytes]:
        """The input lines of rows `wanted`, when the batch kept them (not when its records were
        staged at load: metadata columns): found among the batch's rows in one pass."""
        texts = self.batch.texts
        if len(texts) != len(self.every):
            return {}
        if len(self.rows) == len(self.every):  # no key twice: the last of each is every row
            return {i: t for i in wanted if (t := texts[i]) is not None}
        need = {id(self.rows[i]): i for i in wanted}
        found = [(need[x], k) for k, x in enumerate(map(id, self.every)) if x in need]
        return {i: t for i, k in found if (t := texts[k]) is not None}

    @staticmethod
    def spelled(line: bytes, prop: str) -> Any:
        """`prop`'s value as `line` spells it (a JsonNumber, an int), or None."""
        record = loads_spelled(line).get("record")
        value = record.get(prop) if type(record) is dict else None
        return value if type(value) is JsonNumber or type(value) is int else None

    def written(self, values: list[Any], prop: str) -> list[Any]:
        """number_text of each value, a float's or an int's as its line spells it."""
        texts = list(map(number_text, values))
        key = dumps(prop)
        read = [i for i, v in enumerate(values) if type(v) is float or type(v) is int]
        for i, line in self.lines(read).items():
            text = key + b":" + texts[i].encode()  # wherever the line holds the key (everywhere)
            if everywhere(line, key, text + b",", text + b"}"):
                continue
            again = self.spelled(line, prop)
            if again is not None:
                texts[i] = number_text(again)
        return texts

    def minus(self, zeros: list[int], prop: str) -> set[int]:
        """Which of rows `zeros` (an integer 0) write `prop` as `-0` (a document's key of that
        name may hold one too: the line is read again when the pattern is there)."""
        pattern = _minus_zero(prop)
        out = set()
        for i, line in self.lines(zeros).items():
            if pattern.search(line) is not None:
                again = self.spelled(line, prop)
                if type(again) is JsonNumber and again.text.startswith("-"):
                    out.add(i)
        return out


@functools.lru_cache(maxsize=256)
def _minus_zero(prop: str) -> re.Pattern[bytes]:
    """`"prop":-0` as a line may write it (blanks around the colon: types.minus_zero_pattern)."""
    return re.compile(minus_zero_pattern(prop).encode())


def _float(value: Any) -> Any:
    return value if value is None else float(value)


def _first_outside(texts: list[Any], precision: int, scale: int) -> str | None:
    """The first text a DECIMAL(precision, scale) would not hold as written, if any."""
    for t in texts:
        if t is not None:
            whole, places = extent(t)
            if places > scale or whole > precision - scale:
                return str(t)
    return None


def _make_exact(
    loader: DuckDBLoader, batch: Batch, table: Table, j: int, texts: list[Any], first: str
) -> str:
    """Change column j to the exact type holding its stored values and `texts`; say so once."""
    whole, places = 0, 0
    for t in texts:
        if t is not None:
            w, p = extent(t)
            whole, places = max(whole, w), max(places, p)
    return _change(loader, batch, table, j, whole, places, first)


def _change(
    loader: DuckDBLoader, batch: Batch, table: Table, j: int, whole: int, places: int, first: str
) -> str:
    """Column j made the exact type holding its stored values and numbers of `whole` and
    `places` digits, in the load's transaction; the INFO line; the table's staging with it."""
    from . import raw  # the loader imports this module

    column = table.staged[j]
    old = table.columns[column.column]
    stored = stored_extent(loader, table, column.column)
    new = exact_type(max(whole, stored[0]), max(places, stored[1]))
    name = quote_ident(column.column)
    text = f"CAST({name} AS VARCHAR)"
    if old == "DOUBLE":  # through the shortest text: exact, as only such doubles were stored
        using = (
            decimal_text_sql(text, column.scale) if new == "VARCHAR" else f"CAST({text} AS {new})"
        )
    elif new != "VARCHAR":
        using = f"CAST({name} AS {new})"
    elif decimal_args(old)[0] == DIGITS:  # made here: its scale is the widest value's, trimmed
        trimmed = (
            f"CASE WHEN contains({text}, '.') THEN rtrim(rtrim({text}, '0'), '.') ELSE {text} END"
        )
        using = decimal_text_sql(trimmed, column.scale)
    else:  # a declared DECIMAL(p,s) to text at its scale, as its source wrote it (1.50 stays)
        using = decimal_text_sql(text, column.scale)
    loader.con.execute(
        f"ALTER TABLE {loader._qualified(table.schema, table.name)} ALTER COLUMN {name} "
        f"TYPE {new} USING {using}"
    )
    LOG.info(
        "stream %r: column %r is now %s (was %s): %s, a plain number (no precision in the "
        "SCHEMA: no x-precision, no maximum with a multipleOf), would not stay as written in a "
        "%s; every value is kept exactly, and later loads keep %s",
        batch.spec.name,
        column.column,
        new,
        old,
        first,
        old,
        new,
    )
    table.columns[column.column] = new
    if loader._behind:  # the next batch is being read meanwhile, against the old type: `widen`
        table.fresh[column.column] = READ_AHEAD
    table.staged[j] = staged_column(column.prop, column.column, new, column.scale)  # encoder's
    if table.raw is not None:
        table.raw = raw.plan(batch.spec, table.staged)
    return new


# A csv text a double gives back as written, surely: at most 15 digits, an exponent of at most 2.
_SHORT = r"[-+]?[0-9]*\.?[0-9]*([eE][-+]?[0-9]{1,2})?"


def _inexact(number: Decimal) -> bool:
    """A number a DOUBLE would not give back as written (also one past its range: 1e400)."""
    return type(exact_double(number)) is not float


def widen_for_file(
    loader: DuckDBLoader,
    batch: Batch,
    table: Table,
    f: Any,
    seen: dict[str, tuple[int, int]] | None = None,
) -> bool:
    """A csv BATCH file (files.File) about to be loaded: its plain-number columns made exact
    first where a text needs it, as `widen` does for a batch of records; True when a column
    changed (the batch's files are planned again). One read of the file's plain columns, in
    SQL; only texts of more than 15 digits or a longer exponent are tested in Python. `seen`:
    the extents of the batch's earlier files, not stored yet (this one's are added)."""
    seen = {} if seen is None else seen
    by_column = {c.column: j for j, c in enumerate(table.staged)}
    mine = [
        (c, by_column[c.column])
        for c in f.columns
        if by_column.get(c.column) in table.plain
        and (table.columns[c.column] == "DOUBLE" or table.columns[c.column].startswith("DECIMAL("))
    ]
    if not mine:
        return False
    parts = []
    for k, (c, _) in enumerate(mine):
        t = f"t{k}"
        whole, places = _extent_sql(f"lower(ltrim({t}, '-+'))")
        long = (
            f"{t} IS NOT NULL AND NOT (regexp_full_match({t}, '{_SHORT}') AND "
            f"length(regexp_replace(split_part(lower({t}), 'e', 1), '[^0-9]', '', 'g')) <= 15)"
        )
        # the texts the lane's check accepts as numbers: in a DOUBLE also those past its range
        # (1e400 reads as infinity, 1e-400 as 0), which make the column exact as records do;
        # `inf` and `nan` (no digit) stay refused
        number = f"TRY_CAST({t} AS DOUBLE) IS NOT NULL"
        if table.columns[c.column] == "DOUBLE":
            d = f"TRY_CAST({t} AS DOUBLE)"
            number = f"{d} IS NOT NULL AND (isfinite({d}) OR regexp_matches({t}, '[0-9]'))"
        parts += [
            f"coalesce(max({whole}) FILTER (WHERE {number}), 0)",
            f"coalesce(max({places}) FILTER (WHERE {number}), 0)",
            f"arg_max({t}, {whole}) FILTER (WHERE {number})",
            f"arg_max({t}, {places}) FILTER (WHERE {number})",
            f"list(DISTINCT {t}) FILTER (WHERE {number} AND {long})",
        ]
    texts = ", ".join(f"{quote_ident(c.name)} AS t{k}" for k, (c, _) in enumerate(mine))
    row = loader.con.execute(
        f"SELECT {', '.join(parts)} FROM (SELECT {texts} FROM {f.source()})"
    ).fetchone()
    assert row is not None  # an aggregate's one row
    changed = False
    for k, (c, j) in enumerate(mine):
        whole, places, widest, longest, long = row[5 * k : 5 * k + 5]
        before = seen.get(c.column, (0, 0))
        seen[c.column] = (max(before[0], int(whole)), max(before[1], int(places)))
        sqltype = table.columns[c.column]
        first = None
        if sqltype == "DOUBLE":
            first = next((t for t in long or [] if _inexact(Decimal(t))), None)
        else:
            p, s = decimal_args(sqltype)
            first = longest if places > s else widest if whole > p - s else None
        if first is not None:
            _change(loader, batch, table, j, *seen[c.column], str(first))
            changed = True
    return changed
