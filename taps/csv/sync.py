"""Rows of a stream's files as RECORD lines; a malformed row is one clear error.

`read_lines` is what a sync runs: chunks of rows rendered column by column (lines.py), written
with one call per chunk. `read_rows` yields the same records as dicts, a row at a time
(types.compile_row); it also names the line and column of a row a chunk could not take. The file
is decoded by Python's own text layer, in C; a byte the encoding cannot take is then found and
named by its line (`first_bad_line`).
"""

from __future__ import annotations

import csv
import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial, reduce
from itertools import compress, islice
from operator import iadd
from typing import Any, TypeVar

from tapwell.sdk.tap import SyncContext
from tapwell.singer.errors import SyncError
from tapwell.singer.fraction_digits import FractionNotes, cut_fraction
from tapwell.singer.wire import dumps

from . import widen
from .discovery import (
    FIX_CSV,
    FIX_WIDTH,
    CsvDecodeError,
    StreamConfig,
    bad_file,
    check_header,
    declared_not_null,
    not_decoded,
    open_rows,
)
from .lines import (
    BadRow,
    Rendered,
    Renderer,
    column_renderer,
    kept_rows,
    lines,
    may_be_wide,
    refusing_nulls,
)
from .types import (
    compile_row,
    converter_for,
    document_kinds,
    fitted,
    not_null,
    to_datetime,
    to_document,
    with_bounds,
)
from .widen import Props

FIX_VALUE = (
    "fix the file, or declare the column's type in column_types "
    '(e.g. {"type": ["null", "string"]} to take any text)'
)


class BadValue(SyncError):
    """A value its column's type cannot read: bad input (exit 65), named with its fix."""

    exit_code = 65  # EX_DATAERR


# Rows per chunk: a chunk's text (~100 KB) stays under malloc's mmap threshold; 1,000 rows cost
# 0.1 s more of page faults on 300,000 rows (28,000 faults against 3,600).
CHUNK = 250


def read_lines(
    sc: StreamConfig, schema: dict[str, Any], ctx: SyncContext, prefix: str, suffix: str
) -> Iterator[tuple[bytes, int, Any]]:
    """The stream's RECORD lines, a chunk at a time: (lines, how many, greatest replication-key
    value or None), records below `ctx.start_value` dropped (tapwell.sdk.tap.Stream.lines)."""

    def plan(header: list[str], props: dict[str, Any]) -> _LinePlan:
        return _LinePlan(sc, header, props, ctx, prefix)

    for made, texts, n, top in rendered_chunks(sc, schema, ctx, plan):
        yield lines(made.keys, texts, suffix, n, made.wide), n, top


P = TypeVar("P", bound="_LinePlan")


def rendered_chunks(
    sc: StreamConfig,
    schema: dict[str, Any],
    ctx: SyncContext,
    make_plan: Callable[[list[str], dict[str, Any]], P],
) -> Iterator[tuple[P, list[Rendered], int, Any]]:
    """Each file's rows, a chunk at a time, rendered by the plan `make_plan` gives for its header:
    (the plan, each column rendered, how many rows are kept, their greatest key); a chunk with
    no row kept is not given. A row the chunk cannot take is the SyncError read_rows names."""
    # The stream's properties, an inferred column widened in place (`widening`): the next
    # file's plan starts from the wider one, and a bad row is named by it.
    props = Props(schema.get("properties") or {})
    for path in sc.paths:
        with _reading(sc, path) as reader, _no_gc():
            header = next(reader, None)
            if header is None:
                continue
            check_header(header, path, sc)
            plan = make_plan(header, props)
            plan.path = str(path)
            done = 0  # data rows before this chunk (blank lines not counted)
            while rows := list(islice(reader, CHUNK)):
                try:
                    rows = _full_width(rows, len(header))
                    if not rows:
                        continue  # only blank lines
                    plan.done = done
                    texts, n, top = plan.render(rows)
                except BadRow as bad:
                    now = dict(schema, properties=props)
                    raise _bad_row(sc, path, done + bad.index, now, ctx) from None
                done += len(rows)
                if n:
                    yield plan, texts, n, top


class _LinePlan:
    """A file's columns: those written (in the order the kit writes a record's keys), how each
    is rendered, and where the replication key is."""

    path = ""  # the file, and its data rows before the chunk rendered (noting_fractions)
    done = 0

    def __init__(
        self,
        sc: StreamConfig,
        header: list[str],
        props: dict[str, Any],
        ctx: SyncContext,
        prefix: str,
    ) -> None:
        index = {h: i for i, h in enumerate(header)}
        if len(ctx.selected) == len(props):
            names = [h for h in header if h in ctx.selected]  # the record dict's own order
        else:
            names = [h for h in ctx.selected if h in index]  # as the kit picks them
        self.keys = [("," if j else prefix) + dumps(h).decode() + ":" for j, h in enumerate(names)]
        self.stream, self.rkey, self.start = ctx.stream, ctx.replication_key, ctx.start_value
        read = names + ([self.rkey] if self.rkey in index and self.rkey not in names else [])
        self.at = [index[h] for h in read]
        nulls = frozenset(sc.null_values)
        self.renderers: list[Renderer] = [
            widening(
                self,
                sc,
                ctx,
                props,
                h,
                partial(column_renderer, nulls=nulls, native=h == self.rkey),
            )
            for h in read
        ]
        self.key_at = read.index(self.rkey) if self.rkey in index else None
        self.wide = [may_be_wide(props.get(h, {})) for h in names]

    def render(self, rows: list[list[str]]) -> tuple[list[Rendered], int, Any]:
        """(each written column rendered, how many rows are kept, their greatest key); `rows`
        all of one width."""
        width = len(rows[0])
        fields: list[str] = reduce(iadd, rows, [])  # row after row: a column is a slice
        done = [r(fields[i::width]) for r, i in zip(self.renderers, self.at, strict=True)]
        texts = done[: len(self.keys)]
        if self.key_at is None:
            return texts, len(rows), None
        values = done[self.key_at][2] or []
        try:
            if self.start is not None:
                keep = [v is None or v >= self.start for v in values]
                if not all(keep):
                    texts = [(kept_rows(t, keep), q, None) for t, q, _ in texts]
                    values = list(compress(values, keep))
            return texts, len(values), max((v for v in values if v is not None), default=None)
        except TypeError:
            raise SyncError(
                f"stream {self.stream!r}, field {self.rkey!r}: replication key values cannot be "
                f"compared with {self.start!r}; declare the column's type in column_types"
            ) from None


# A time's seconds and a fraction of more than 6 digits, in a text whose digits all read `d`.
_DIGITS = str.maketrans("0123456789,", "dddddddddd.")
NOTES = FractionNotes(done="sent")  # the tap's run: said once per stream and field
PlanLike = Any  # a _LinePlan: its stream, path and rows done (the file's data rows before)


def noting_fractions(plan: PlanLike, name: str, prop: dict[str, Any], render: Renderer) -> Renderer:
    """`render` of a date-time column, saying once per stream and field that a value with more
    than 6 fraction digits is sent cut to the microsecond (Python reads no more; a target would
    cut it too), naming its file and data row. One C pass over a column not sent as written."""
    if converter_for(prop)[0] is not to_datetime:
        return render

    def noting(col: Any) -> Rendered:
        out = render(col)
        if out[0] is not col and "\n".join(col).translate(_DIGITS).find(":dd.ddddddd") >= 0:
            first = next((i for i, t in enumerate(col) if cut_fraction(t, 10) is not None), None)
            if first is not None:
                where = f"{plan.path} data row {plan.done + first + 1}"
                NOTES.cut(col[first], 10, plan.stream, name, None, where=lambda: where)
        return out

    return noting


def widening(
    plan: PlanLike,
    sc: StreamConfig,
    ctx: SyncContext,
    props: dict[str, Any],
    name: str,
    make: Callable[..., Renderer],
) -> Renderer:
    """Column `name`'s renderer (`make` of its property, noting_fractions'), widening the column
    when its type was inferred and a later value does not fit it (widen.widening), refusing a
    null where its type takes none (lines.refusing_nulls: never widened away)."""
    render = widen.widening(plan, sc, ctx, props, name, make, noting_fractions)
    if name not in no_null_columns(ctx, props, [name]):
        return render
    return refusing_nulls(props.get(name, {}), frozenset(sc.null_values), render)


def no_null_columns(ctx: SyncContext, props: dict[str, Any], names: list[str]) -> frozenset[str]:
    """The columns of `names` whose type takes no null (types.not_null) as the catalog's schema
    says, which the SCHEMA gave the target (a catalog's "null" lets a column the config declares
    not null be null), else the stream's own `props`."""
    given = ctx.properties or props
    return frozenset(h for h in names if not_null(given.get(h, props.get(h, {}))))


def _full_width(rows: list[list[str]], width: int) -> list[list[str]]:
    """The rows without blank lines; BadRow at the first row of another width."""
    if set(map(len, rows)) == {width}:
        return rows
    out: list[list[str]] = []
    for row in rows:
        if len(row) != width:
            if not row:
                continue
            raise BadRow(len(out))
        out.append(row)
    return out


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector off: a chunk's rows and texts hold no cycles, and collecting
    while they are built cost 8% of the time (measured on 200,000 rows)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def _reading(sc: StreamConfig, path: str) -> Iterator[Any]:
    """A csv reader of `path`; what the file cannot give becomes one SyncError naming its line."""
    f, reader = open_rows(path, sc)
    with f:
        try:
            yield reader
        except csv.Error as exc:
            problem = f"malformed CSV ({exc})"
            raise bad_file(f"{path} line {reader.line_num}", sc.name, problem, FIX_CSV) from None
        except CsvDecodeError as exc:
            raise exc.named(sc.name) from None
        except UnicodeDecodeError as exc:
            raise not_decoded(path, reader.line_num + 1, sc, exc) from None


def _bad_row(
    sc: StreamConfig, path: str, skip: int, schema: dict[str, Any], ctx: SyncContext
) -> SyncError:
    """The error `read_rows` raises at the data row numbered `skip` (from 0) of `path`, which the
    chunked path could not take: found by reading the file again up to it."""
    try:
        for _ in read_rows(sc, schema, ctx, only=path, skip=skip):
            pass
    except SyncError as exc:
        return exc
    return SyncError(
        f"{path}: row {skip + 1} could not be converted (a tap-csv bug: please report)"
    )


def read_rows(
    sc: StreamConfig,
    schema: dict[str, Any],
    ctx: SyncContext,
    *,
    only: str | None = None,
    skip: int = 0,
) -> Iterator[dict[str, Any]]:
    """The stream's records as dicts, a row at a time; `only` one of its files, from its data
    row numbered `skip` (rows before it are read, not converted)."""
    props = schema.get("properties") or {}
    nulls = frozenset(sc.null_values)
    native = {ctx.replication_key} if ctx.replication_key else set()
    for path in [only] if only else sc.paths:
        with _reading(sc, path) as reader:
            header = next(reader, None)
            if header is None:
                continue
            check_header(header, path, sc)
            width = len(header)
            columns = [(i, h, props.get(h, {})) for i, h in enumerate(header) if h in ctx.selected]
            no_null = no_null_columns(ctx, props, [h for _, h, _ in columns])
            convert = compile_row(columns, nulls, native, no_null)
            seen = 0
            end = reader.line_num  # the file's last line read (a row may span several)
            for row in reader:
                start, end = end + 1, reader.line_num
                if len(row) != width:
                    if not row:
                        continue
                    if seen >= skip:
                        raise bad_file(
                            f"{path} line {reader.line_num}",
                            sc.name,
                            f"expected {width} fields as in the header, found {len(row)}",
                            FIX_WIDTH.format(delimiter=sc.delimiter),
                        )
                seen += 1
                if seen <= skip:
                    continue
                try:
                    record = convert(row)
                except ValueError:
                    name_bad_value(sc, path, start, row, columns, nulls, no_null)
                    raise
                yield record


def name_bad_value(
    sc: StreamConfig,
    path: str,
    line: int,
    row: list[str],
    columns: list[tuple[int, str, dict[str, Any]]],
    nulls: frozenset[str],
    no_null: frozenset[str] = frozenset(),
) -> None:
    """Raise the SyncError naming the first column of `row` whose text does not convert, or is
    null in a column of `no_null`; `line`: the file's line the row starts on, the field's own
    counted from it (a quoted field before it may span lines)."""
    for i, h, prop in columns:
        convert, is_string = converter_for(prop)
        text = row[i]
        at = line + sum(field.count("\n") for field in row[:i])
        where = f"{path} line {at}, stream {sc.name!r}, column {h!r}"
        if text in nulls or (text == "" and not is_string):
            if h in no_null:
                raise BadValue(f"{where}: {_null_refused(sc, h, text, nulls)}")
            continue
        if convert is None:
            continue
        convert = with_bounds(prop, convert)
        try:
            value = convert(text)
            if convert is to_document:
                fitted(value, text, document_kinds(prop))
        except ValueError as exc:
            problem = str(exc)
            if h in sc.catalog_typed:
                problem = _by_the_catalog(problem)
            elif "column_types" not in problem:
                problem += f": {FIX_VALUE}"
            raise BadValue(f"{where}: {problem}") from None


FIX_CATALOG = (
    "as the catalog's schema types the column: fix the file, or change the column's type in the "
    'catalog (e.g. {"type": ["null", "string"]} to take any text)'
)


def _by_the_catalog(problem: str) -> str:
    """A value's problem in a column the catalog types (discovery.catalog_typed): what it is
    not, and the fixes in the file or the catalog (not column_types, which the catalog overrides)."""
    head = re.split(r" \((?:inferred from|DECIMAL\()", problem, maxsplit=1)[0]
    return f"{head}, {FIX_CATALOG}"


def _null_refused(sc: StreamConfig, column: str, text: str, nulls: frozenset[str]) -> str:
    """Why a null text is refused in `column`, and the fixes (in the file, or where its type is
    declared: discovery.declared_not_null)."""
    who, where = declared_not_null(sc, column)
    seen = f"{text!r} is null (one of the stream's null_values)"
    if text not in nulls:
        seen = "an empty field ('') is null in a typed column"
    return (
        f"{seen}, and {who} declares the column not null: fill the field in the file, or add "
        f'"null" to its "type" in {where}'
    )
