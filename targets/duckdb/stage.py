"""Records -> typed columns DuckDB reads directly: each record becomes a row tuple as it is read
(checked against its SCHEMA in the same generated function), and a batch's rows become one Arrow
table that DuckDB scans in place, with no text to write or parse again.

Each value is staged in the type Arrow and DuckDB take without loss, then cast by DuckDB into
the column's type (see `StagedColumn`):

- BIGINT, DOUBLE, BOOLEAN travel as Arrow int64 / float64 / bool;
- DECIMAL and HUGEINT travel as their exact text (a float read from JSON as its shortest repr,
  which is the JSON text's digits), cast by DuckDB exactly as before;
- JSON values as their JSON text, strings as they are ('' stays '', every control character and
  emoji kept), dates and timestamps as their ISO text, cast by DuckDB (offsets kept as instants).

Measured on 1,000,000 orders records (bench/README.md, "embedded"), this is faster than the JSON
lines staging it replaces, a typed CSV, `executemany` or `unnest` of list parameters.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tapwell.sdk.target import ValueRefused
from tapwell.sdk.target_lanes import respeller
from tapwell.singer.codegen import build_function
from tapwell.singer.record_check import CheckCode
from tapwell.singer.schema import number_union
from tapwell.singer.wire import JsonNumber

from .types import (
    Refused,
    as_json,
    as_text,
    canonical,
    decimal_text,
    double_refusal,
    exact_double,
    is_number,
    text_scale,
    value_check,
)

INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
UNCHANGED = (
    "_sdc_unchanged"  # LOG_BASED: the columns a record leaves out as unchanged (unchanged.py)
)


class StagedRefusal(ValueRefused):
    """A value refused while its record was read; reported when its batch is loaded."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def _number_text(v: Any) -> str:
    """An exact number's text: a float's shortest repr (the digits of its JSON text)."""
    return repr(v) if type(v) is float else str(v)


def _bigint(v: Any) -> int:
    """A checked integer (int, integral float or Decimal) as a Python int."""
    return v if type(v) is int else int(v)


NORMAL = sys.float_info.min  # the smallest normal double (types.DOUBLE_MIN)
FIX_NESTED_DOUBLE = (
    "fix the value at the source, or load the stream with `nested: json` (each document kept "
    "as written)"
)


def double_of(prop: str, widens: bool = False) -> Callable[[Any], Any]:
    """A DOUBLE column's staging. A number a double would not give back as written is kept as it
    is, for the load to make the column exact (plainnumber.py); so is one past a double's range
    (1e400, 1e-400) when the column `widens` (a plain number's DOUBLE), else (nested tables:
    children.py) it is refused, naming the field, as it would become infinity or 0. An integer,
    and a number read with its spelling (`1.50`, `-0`: plainnumber.respeller), are kept as they
    are, for the text a column made VARCHAR in the same batch holds (plainnumber.widen makes
    them doubles)."""

    def double(v: Any) -> Any:
        if type(v) is not float:
            if type(v) is JsonNumber or type(v) is int:
                if not widens and (problem := double_refusal(v)) is not None:
                    raise StagedRefusal(prop, f"{problem}: {FIX_NESTED_DOUBLE}")
                return v
            if type(v) is not int:  # a Decimal: most often a float source's own text
                f = float(v)
                if NORMAL <= abs(f) <= sys.float_info.max and repr(f) == str(v):
                    return f
            if not widens and (problem := double_refusal(v)) is not None:
                raise StagedRefusal(prop, f"{problem}: {FIX_NESTED_DOUBLE}")
        return exact_double(v)

    return double


@dataclass(frozen=True)
class StagedColumn:
    """One column of the staging table: the property it comes from, the column's DuckDB type,
    how a checked value is staged (`generic`, an expression of `v`; `pinned`: cheaper ones for
    values whose type the check pinned) and the Arrow type it travels as."""

    prop: str
    column: str  # the table's column (its spelling may differ from the property's in case)
    sqltype: str
    arrow: str  # int64 | float64 | bool | string
    generic: str
    pinned: dict[type, str]
    # a number kept as text (VARCHAR): the scale its values are written at (types.decimal_text)
    scale: int | None = None
    # a union's text column holding numbers (tapwell.singer.schema.number_union): each keeps its line's text
    spelled: bool = False

    @property
    def unchanged(self) -> bool:
        """The `_sdc_unchanged` list: staged (as its JSON text) for the merge, not a column."""
        return not self.column


def unchanged_column() -> StagedColumn:
    """How a record's `_sdc_unchanged` list is staged: its JSON text, for no column."""
    return StagedColumn(UNCHANGED, "", "JSON", "string", "_js(v)", {})


def staged_column(
    prop: str, column: str, sqltype: str, schema: dict[str, Any] | None = None
) -> StagedColumn:
    """How values of property `prop` (its JSON `schema`) are staged for `column` of DuckDB type
    `sqltype`; a number's VARCHAR as decimal_text writes it."""
    sqltype = canonical(sqltype)
    base = sqltype.split("(", 1)[0]
    if base == "BIGINT":
        return StagedColumn(prop, column, sqltype, "int64", "_bi(v)", {int: "v"})
    if base in ("DOUBLE", "FLOAT"):
        return StagedColumn(prop, column, sqltype, "float64", "_db{j}(v)", {float: "v"})
    if base == "BOOLEAN":
        return StagedColumn(prop, column, sqltype, "bool", "v", {bool: "v"})
    if base == "DECIMAL" or base in INTEGERS:
        return StagedColumn(
            prop, column, sqltype, "string", "_nt(v)", {float: "repr(v)", int: "str(v)"}
        )
    if base == "JSON":
        return StagedColumn(prop, column, sqltype, "string", "_js(v)", {})
    if base == "VARCHAR" and is_number(schema):
        scale = text_scale(schema)
        return StagedColumn(prop, column, sqltype, "string", f"_dt(v, {scale})", {}, scale)
    spelled = base == "VARCHAR" and number_union(schema)
    return StagedColumn(prop, column, sqltype, "string", "_tx(v)", {str: "v"}, spelled=spelled)


# JSON values are staged as their JSON text, decoded: 100,000 of orjson's own bytes objects held
# at once cost 8x their making (each keeps a large allocation), a str does not.
ENV: dict[str, Any] = {
    "_bi": _bigint,
    "_nt": _number_text,
    "_js": as_json,
    "_tx": as_text,
    "_dt": decimal_text,
}


def compile_row(
    columns: Sequence[StagedColumn], check: CheckCode | None
) -> Callable[[dict[str, Any], int | None], tuple[Any, ...]] | None:
    """One function: the record checked as the loop's own check does (same errors, same order;
    no check when `check` is None) and returned as its staged row tuple. None when the check
    covers a property that is not a column (its order would differ)."""
    if check is not None and any(f.name not in {c.prop for c in columns} for f in check.fields):
        return None
    env = dict(check.env) if check is not None else {}
    env.update(ENV)
    body = ["get = record.get", *(check.head if check is not None else [])]
    for j, col in enumerate(columns):
        env[f"_ck{j}"] = col.prop
        if col.arrow == "float64":
            env[f"_db{j}"] = double_of(col.prop, widens=col.sqltype == "DOUBLE")
        generic = col.generic.format(j=j)

        def then(
            t: type | None, j: int = j, col: StagedColumn = col, generic: str = generic
        ) -> list[str]:
            if t is type(None):
                return [f"c{j} = None"]
            return [f"c{j} = " + (col.pinned.get(t, generic) if t is not None else generic)]

        i = check.index.get(col.prop) if check is not None else None
        if check is None or i is None:
            body += [f"v = get(_ck{j})", f"c{j} = None if v is None else {generic}"]
        else:
            body += check.field_block(i, then)
    body.append("return (" + "".join(f"c{j}, " for j in range(len(columns))) + ")")
    encode: Callable[[dict[str, Any], int | None], tuple[Any, ...]] = build_function(
        "stage_row", "record, line=None", body, env
    )
    return encode


def first_refusal(
    rows: Sequence[tuple[Any, ...] | None], columns: Sequence[StagedColumn]
) -> tuple[int, str, str] | None:
    """(row index, field, problem) of the first staged value, in input order, that its column
    cannot hold (an integer past 64 bits, too many digits before a DECIMAL's point); None when
    every value fits. Only run when DuckDB or Arrow refused the batch, to name the line."""
    checks: list[tuple[int, StagedColumn, Callable[[Any], Any]]] = []
    for j, col in enumerate(columns):
        check = value_check(col.sqltype.split("(", 1)[0] if col.arrow != "string" else col.sqltype)
        if check is not None:
            checks.append((j, col, check))
    for i, row in enumerate(rows):
        if row is None:
            continue
        for j, col, check in checks:
            value = row[j]
            if isinstance(value, str):
                try:
                    value = Decimal(value)
                except InvalidOperation:
                    continue
            try:
                check(value)
            except Refused as bad:
                return i, col.prop, str(bad)
            if isinstance(value, float) and not math.isfinite(value):
                return i, col.prop, f"{value} is outside the range of a DOUBLE column"
    return None


def arrow_table(columns: Sequence[StagedColumn], rows: Sequence[tuple[Any, ...]]) -> Any:
    """The staged rows as one Arrow table, a column per staged column, named c0, c1, ... (the
    loader maps them onto the table's columns, so no user's name is an Arrow name)."""
    import pyarrow as pa  # imported when a batch is loaded, not when --about or --help run

    types = {
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "string": pa.string(),  # past 2 GB a column comes back chunked
    }
    arrays = [pa.array([r[j] for r in rows], type=types[c.arrow]) for j, c in enumerate(columns)]
    return pa.table(arrays, names=[f"c{j}" for j in range(len(columns))])


def keeps_spelling(column: StagedColumn) -> bool:
    """A column whose values keep the numbers as their line spells them: a JSON document, or a
    union's text (`spelled`)."""
    return (column.sqltype == "JSON" or column.spelled) and not column.unchanged


def respell(
    columns: Sequence[StagedColumn],
) -> Callable[[dict[str, Any], bytes], dict[str, Any]] | None:
    """RowEncoder.respell for a table with JSON columns or a union's text columns (`spelled`):
    each document, and each number such a column holds, keeps every number as its input line
    spells it (`1.50`, `1E5`, `-0`; tapwell.sdk.target_lanes.respeller), as the SQL path and the
    csv lane store it. None without such columns."""
    documents = [c.prop for c in columns if keeps_spelling(c)]
    return respeller(documents) if documents else None
