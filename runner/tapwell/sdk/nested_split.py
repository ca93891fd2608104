"""A stream's records split into the rows of its tables (tapwell.sdk.nested) by one function
generated per plan and target, the hot path of `nested: tables`.

`nested.rows` is the reference: it walks the plan for every record and builds a dict per row,
which a target then turns into its own row (a COPY line, a staged tuple), every value visited
twice and every row made twice. `compile_splitter` writes one Python function per plan instead:
each property fetched once by name from a closure variable, each object on a path fetched once,
each row built straight as the target wants it by the target's `RowMaker` (its conversions
inline), appended with its input line. The output is the same rows as `nested.rows` gives, in
the same order (tests compare the two).

As all generated code (tapwell.singer.codegen), the source is built from positions only: the
property names reach it as closure variables, and it is registered with linecache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tapwell.singer.codegen import build_function
from tapwell.singer.errors import ProtocolError
from tapwell.singer.value_check import with_fix

from .nested import DELETED_AT, LOAD_ID, ROW_INDEX, TablePlan
from .nested_check import (
    NestedValueError,
    Segment,
    check_lines,
    field_path,
    fraction_cut,
    slow_check,
)
from .target_types import Batch, RowEncoder, StreamSpec, ValueRefused

# maker(table, index, values) -> (statements, expression, env): Python statements and then an
# expression that build the table's row. `values` maps each of the table's columns (names as in
# its plan schema) to the variable holding its raw value (None when absent). The names of env
# entries and of the variables the statements assign must start with f"_t{index}_".
RowMaker = Callable[[TablePlan, int, dict[str, str]], tuple[list[str], str, dict[str, Any]]]

_POSITION = re.compile(r"l\d+")


def is_position(var: str) -> bool:
    """Whether a RowMaker's value variable holds an element's position (`_sdc_level_N_id`): an
    int, never None, which a maker may write as it is."""
    return _POSITION.fullmatch(var) is not None


# splitter(records, order, lines, load_id, sinks): the rows of records[i] for i in `order`
# appended to sinks (rows.append, lines.append per table, the tables in plan.walk() order).
Splitter = Callable[[list[Any], Any, list[int], str, list[Callable[[Any], None]]], None]


def dict_maker(
    table: TablePlan, index: int, values: dict[str, str]
) -> tuple[list[str], str, dict[str, Any]]:
    """The row as a dict of the columns present, as `nested.rows` makes it (for tests and for
    a target without a maker of its own): a column whose value is absent is left out."""
    names = {f"_t{index}_n{j}": name for j, name in enumerate(values)}
    env: dict[str, Any] = dict(names)
    env[f"_t{index}_row"] = _present
    items = ", ".join(f"(_t{index}_n{j}, {var})" for j, var in enumerate(values.values()))
    return [], f"_t{index}_row(({items},))", env


_ABSENT = object()


def _present(items: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {k: v for k, v in items if v is not _ABSENT}


# bounded(table, column): whether the target keeps the column's integers in 64 bits.
Bounded = Callable[[TablePlan, str], bool]


@dataclass
class _Code:
    lines: list[str] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)
    depth: int = 1  # inside the `for i in order` loop
    count: int = 0
    checked: bool = True  # values checked against their schema (nested_check)
    bounded: Bounded | None = None
    absent: frozenset[type] = frozenset()  # the type of dict_maker's absent marker: not checked
    stream: str = ""  # named when a value is cut to microseconds (nested_check.fraction_cut)

    def add(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def var(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value: Any) -> str:
        """A closure variable holding `value` (a property name: never written into the source)."""
        name = f"_k{len(self.env)}"
        self.env[name] = value
        return name

    def check(
        self,
        x: str,
        schema: dict[str, Any] | None,
        segments: tuple[Segment, ...],
        positions: str,
        present: str = "True",
        bounded: bool = False,
    ) -> None:
        """Check the value in `x` against `schema` (nested_check), naming its path by
        `segments` and the element positions in `positions` (a tuple expression); `present`:
        whether its property is there (a null breaks a non-null schema only then)."""
        if not self.checked or schema is None:
            return
        slow = self.const(slow_check(schema, segments, bounded))
        call = f"line, {positions}, {present}"

        def cut(start: int) -> str:
            return self.const(fraction_cut(self.stream, segments, start))

        for line in check_lines(x, schema, slow, self.const, call, bounded, self.absent, cut):
            self.add(line)


class _Element:
    """The properties of one element (the record, or an array's element) as the code fetches
    them: each object on a path once, None when it is missing or not an object."""

    def __init__(
        self,
        code: _Code,
        var: str,
        absent: str,
        table: TablePlan,
        segments: tuple[Segment, ...] = (),
        positions: list[str] | None = None,
        is_dict: bool = False,
    ) -> None:
        self.code, self.var, self.absent, self.is_dict = code, var, absent, is_dict
        self.default = "" if absent == "None" else f", {absent}"  # dict.get's default
        self.objects: dict[tuple[str, ...], str] = {(): var}
        self.sources = table.sources  # the tap's schema of each path under the element
        self.segments = segments  # the element's own path in the document
        self.positions = positions or []  # the variables of the element positions on it

    @property
    def at(self) -> str:
        """The element positions on the path, as a tuple expression (for an error's path)."""
        return "(" + "".join(f"{p}, " for p in self.positions) + ")"

    def present(self, parent: str, key: str) -> str:
        return (
            f"{key} in {parent}"
            if parent == self.var and self.is_dict
            else (f"({parent} is not None and {key} in {parent})")
        )

    def object_at(self, path: tuple[str, ...]) -> str:
        if path in self.objects:
            return self.objects[path]
        parent = self.object_at(path[:-1])
        key = self.code.const(path[-1])
        var = self.code.var("o")
        if self.is_dict and not path[:-1]:  # the record itself: always a dict
            self.code.add(f"{var} = {parent}.get({key})")
        else:
            self.code.add(f"{var} = {parent}.get({key}) if {parent} is not None else None")
        self.code.add(f"if type({var}) is not dict:")
        self.code.depth += 1
        self.code.check(
            var, self.sources.get(path), self.segments + path, self.at, self.present(parent, key)
        )
        self.code.add(f"{var} = None")
        self.code.depth -= 1
        self.objects[path] = var
        return var

    def value_at(self, path: tuple[str, ...], check: bool = True, bounded: bool = False) -> str:
        """A variable holding the value at `path`, or the absent marker when it is not there;
        checked against its schema unless `check` is false."""
        parent = self.object_at(path[:-1])
        key = self.code.const(path[-1])
        var = self.code.var("x")
        if self.is_dict and not path[:-1]:  # the record itself: always a dict
            self.code.add(f"{var} = {parent}.get({key}{self.default})")
        else:
            self.code.add(
                f"{var} = {parent}.get({key}{self.default}) if {parent} is not None "
                f"else {self.absent}"
            )
        if check:
            self.code.check(
                var,
                self.sources.get(path),
                self.segments + path,
                self.at,
                self.present(parent, key),
                bounded,
            )
        return var


def compile_splitter(
    root: TablePlan,
    maker: RowMaker = dict_maker,
    checked: bool = True,
    bounded: Bounded | None = None,
    record_check: bool = False,
    only: TablePlan | None = None,
    stream: str | None = None,
) -> Splitter:
    """The splitter of `root`'s plan (see Splitter), its rows made by `maker`.

    A value that is absent (a missing property, or one under a missing or null object) is
    `None` to a target's maker; `dict_maker` leaves the column out, as `nested.rows` does.

    With `checked`, every value inside the record's objects and arrays is checked against the
    tap's schema of its property (nested_check; the record's own fields are the record check's):
    one that breaks it raises NestedValueError naming its path. `bounded(table, column)` says
    which columns keep integers in 64 bits. With `record_check` too, the record's own fields
    are checked here as the record check would (key properties, required fields, then each
    field), for a stream whose records were kept unchecked as they were read (`as_read`): one
    pass over each record instead of two.

    With `only` (one table of the plan), the splitter makes that table's rows alone and checks
    only the values its rows hold (the root's: the record's own fields too), walking the other
    tables' arrays just to reach its elements: a target that loads one table at a time runs
    one such pass per table, and every value is still checked in exactly one of them.

    `stream` (the root table's name by default) is named when a value is cut to microseconds."""
    code = _Code(checked=checked, bounded=bounded, stream=stream or root.name)
    absent = "_absent" if maker is dict_maker else "None"
    code.env["_absent"] = _ABSENT
    code.env["_refused"] = ValueRefused
    if maker is dict_maker:
        code.absent = frozenset({type(_ABSENT)})
    tables = list(root.walk())
    index = {id(t): n for n, t in enumerate(tables)}
    params = ", ".join(f"r{n}, n{n}" for n in range(len(tables)))
    body = [f"({params},) = sinks", "for i in order:"]
    code.add("rec = records[i]")
    code.add("line = lines[i]")
    element = _Element(code, "rec", absent, root, is_dict=True)
    mine = only is None or only is root  # the root's rows made in this pass
    top = checked and record_check  # the record's own fields checked here too
    if top and mine:
        _record_head(code, root)
    values = {
        c.name: element.value_at(
            c.path, top or len(c.path) > 1, len(c.path) > 1 and _bounds(code, root, c.name)
        )
        for c in (root.columns if mine else ())
    }
    keys: dict[str, str] = {}
    if not root.key_properties:
        values[LOAD_ID], values[ROW_INDEX] = "load_id", "i"
        keys = {LOAD_ID: "load_id", ROW_INDEX: "i"}
    else:
        for key in root.source_keys:
            keys[key] = values.get(key) or element.value_at((key,), check=False)
    deleted = None
    if root.children and any(DELETED_AT in t.schema["properties"] for t in tables[1:]):
        deleted = values.get(DELETED_AT) or element.value_at((DELETED_AT,), check=False)
    if mine:
        _emit_row(code, maker, root, index, values, element)
    source = {root.source_columns[k]: _present_or_none(code, v, absent) for k, v in keys.items()}
    if deleted is not None:  # absent stays absent, as in nested.rows
        source[DELETED_AT] = deleted
    for child in root.children:
        if only is None or _holds(child, only):
            _emit_child(code, maker, child, element, source, [], index, absent, top, only)
    body += code.lines
    split: Splitter = build_function(
        "split_records",
        "records, order, lines, load_id, sinks",
        body,
        code.env,
        "nested-split",
    )
    return split


def _record_head(code: _Code, root: TablePlan) -> None:
    """The record check's first lines: each key property there and not null, each required
    field there (the same problems, in the same order, as tapwell.singer.value_check's)."""
    missing = code.const(_missing)
    for key in root.key_properties:
        k = code.const(key)
        code.add(
            f"if rec.get({k}) is None: {missing}('key property is missing or null', line, {k})"
        )
    for name in root.required:
        k = code.const(name)
        code.add(f"if {k} not in rec: {missing}('required field is missing', line, {k})")


def _missing(problem: str, line: int, name: str) -> None:
    raise NestedValueError(with_fix(problem), line, name)


def as_read() -> RowEncoder:
    """The row encoder of a `nested: tables` stream whose splitter checks the record's own
    fields too (compile_splitter's `record_check`): each record kept as it was read, unchecked,
    so it is checked and split in one pass at load."""
    return RowEncoder(_as_read)


def _as_read(record: dict[str, Any], line: int | None) -> dict[str, Any]:
    return record


def _bounds(code: _Code, table: TablePlan, column: str) -> bool:
    return code.bounded is not None and code.bounded(table, column)


def _present_or_none(code: _Code, var: str, absent: str) -> str:
    if absent == "None" or var in ("load_id", "i"):
        return var
    out = code.var("s")
    code.add(f"{out} = None if {var} is _absent else {var}")
    return out


def _emit_row(
    code: _Code,
    maker: RowMaker,
    table: TablePlan,
    index: dict[int, int],
    values: dict[str, str],
    element: _Element,
) -> None:
    """The table's row from `values`, made by `maker`; a value the maker refuses is named by
    its path in the document (a try block costs nothing until something is raised)."""
    n = index[id(table)]
    ordered = {name: values.get(name, "None") for name in table.schema["properties"]}
    statements, expr, env = maker(table, n, ordered)
    code.env.update(env)
    code.add("try:")
    code.depth += 1
    for statement in statements:
        code.add(statement)
    code.add(f"r{n}({expr})")
    code.depth -= 1
    code.add("except _refused as exc:")
    where = code.const(_locate(table, element.segments))
    code.add(f"    {where}(exc, line, {element.at})")
    code.add(f"n{n}(line)")


def _locate(
    table: TablePlan, segments: tuple[Segment, ...]
) -> Callable[[ValueRefused, int, tuple[int, ...]], None]:
    """Raises a value a maker refused in `table` again as a NestedValueError naming its path in
    the document (`segments`: the table element's; the refusal names the column), or as it was
    when its column is not one of the element's values (a source key, a position)."""
    paths = {c.name: c.path for c in table.columns}

    def where(exc: ValueRefused, line: int, positions: tuple[int, ...]) -> None:
        column = getattr(exc, "field", None) or getattr(exc, "column", None)
        if column not in paths:
            raise exc
        problem = getattr(exc, "problem", None) or str(exc)
        raise NestedValueError(problem, line, field_path(segments + paths[column], positions))

    return where


def _holds(table: TablePlan, only: TablePlan) -> bool:
    """Whether `only` is `table` or one of its descendants."""
    return any(t is only for t in table.walk())


def _emit_child(
    code: _Code,
    maker: RowMaker,
    table: TablePlan,
    parent: _Element,
    source: dict[str, str],
    levels: list[str],
    index: dict[int, int],
    absent: str,
    own: bool = False,
    only: TablePlan | None = None,
) -> None:
    """The rows of child `table`, whose array is at `table.path` of the parent's element
    (`own`: a record's own field is checked here too); with `only` (another table under this
    one), just the walk down to its elements."""
    if only is not None and only is not table:
        _walk_to(code, maker, table, parent, source, levels, index, absent, only)
        return
    top = parent.is_dict and len(table.path) == 1 and not own  # the record check's
    array = parent.value_at(table.path, check=not top)
    code.add(f"if isinstance({array}, list):")
    code.depth += 1
    level, item = code.var("l"), code.var("e")
    code.add(f"for {level}, {item} in enumerate({array}):")
    code.depth += 1
    mine = levels + [level]
    segments = parent.segments + table.path + (len(mine) - 1,)
    at = "(" + "".join(f"{p}, " for p in mine) + ")"
    values = dict(source)
    values.update(zip(table.level_columns, mine))
    if table.scalar:
        code.check(item, table.items, segments, at, bounded=_bounds(code, table, "value"))
        values["value"] = item
        scalar = _Element(code, item, absent, table, segments, mine)
        _emit_row(code, maker, table, index, values, scalar)
    else:
        code.add(f"if type({item}) is not dict:")
        code.depth += 1
        code.check(item, table.items, segments, at)
        code.add(f"{item} = None")
        code.depth -= 1
        element = _Element(code, item, absent, table, segments, mine)
        for column in table.columns:
            bounded = _bounds(code, table, column.name)
            values[column.name] = element.value_at(column.path, bounded=bounded)
        _emit_row(code, maker, table, index, values, element)
        if table.children and only is None:
            code.add(f"if {item} is not None:")
            code.depth += 1
            for child in table.children:
                _emit_child(code, maker, child, element, source, mine, index, absent)
            code.depth -= 1
    code.depth -= 2


def _walk_to(
    code: _Code,
    maker: RowMaker,
    table: TablePlan,
    parent: _Element,
    source: dict[str, str],
    levels: list[str],
    index: dict[int, int],
    absent: str,
    only: TablePlan,
) -> None:
    """Through child `table`'s elements (no row of its own, nothing of its own checked: its
    pass does that) to the child of it that holds `only`."""
    array = parent.value_at(table.path, check=False)
    code.add(f"if isinstance({array}, list):")
    code.depth += 1
    level, item = code.var("l"), code.var("e")
    code.add(f"for {level}, {item} in enumerate({array}):")
    code.depth += 1
    code.add(f"if type({item}) is dict:")
    code.depth += 1
    mine = levels + [level]
    segments = parent.segments + table.path + (len(mine) - 1,)
    element = _Element(code, item, absent, table, segments, mine)
    for child in table.children:
        if _holds(child, only):
            _emit_child(code, maker, child, element, source, mine, index, absent, False, only)
    code.depth -= 3


def _made_at_split(record: dict[str, Any], line: int | None = None) -> Any:
    raise AssertionError("a nested table's rows are made by its splitter")  # pragma: no cover


def split_batch(
    root: TablePlan,
    split: Splitter,
    batch: Batch,
    specs: dict[str, StreamSpec],
    layouts: dict[str, Any],
    load_id: str,
) -> list[Batch]:
    """A batch of a stream's records (dicts) as one batch per table, the root's first, each of
    rows the target's maker built (Batch.encoder.layout is `layouts[table]`): with key
    properties only the last record of each key (its children with it; the root batch's `keys`
    filled), every row keeping its record's input line. `specs` are the tables' specs by plan
    table name. A value the maker refuses (ValueRefused) is raised as a ProtocolError naming
    its line, stream and field."""
    records: list[dict[str, Any]] = batch.records
    lines = list(batch.lines) + [batch.first_line] * (len(records) - len(batch.lines))
    keys = root.key_properties
    sinks_count = 2 * len(specs)
    try:
        order = last_of_each(records, keys)
    except TypeError:  # a key that is an object or array: the check names it, if it breaks it
        try:
            split(records, range(len(records)), lines, load_id, [_drop] * sinks_count)
        except ValueRefused as bad:
            raise _refused(split, records, lines, load_id, sinks_count, batch, bad) from None
        raise ProtocolError(
            "a key property holds an object or array (a key must be a single value)",
            line=batch.first_line,
            stream=batch.spec.name,
        ) from None
    out = []
    for table in root.walk():
        part = Batch(specs[table.name], first_line=batch.first_line, version=batch.version)
        part.encoder = RowEncoder(_made_at_split, layout=layouts[table.name])
        out.append(part)
    sinks = [sink for part in out for sink in (part.records.append, part.lines.append)]
    try:
        split(records, order, lines, load_id, sinks)
        if len(order) < len(records):  # a record another of its key replaces: checked too
            kept = set(order)
            gone = [i for i in range(len(records)) if i not in kept]
            split(records, gone, lines, load_id, [_drop] * len(sinks))
    except ValueRefused as bad:
        raise _refused(split, records, lines, load_id, len(sinks), batch, bad) from None
    if keys:
        one = keys[0]
        picked = [records[i] for i in order]
        out[0].keys = (
            [r.get(one) for r in picked]
            if len(keys) == 1
            else [tuple(r.get(k) for k in keys) for r in picked]
        )
    return out


def last_of_each(records: list[dict[str, Any]], keys: list[str]) -> Any:
    """The positions of the last record of each key, in input order (all of them when no key
    comes twice, or without keys). TypeError when a key is an object or array."""
    if not keys:
        return range(len(records))
    if len(keys) == 1:
        one = keys[0]
        last = {r.get(one): i for i, r in enumerate(records)}
    else:
        last = {tuple(r.get(k) for k in keys): i for i, r in enumerate(records)}
    return range(len(records)) if len(last) == len(records) else sorted(last.values())


def _refused(
    split: Splitter,
    records: list[Any],
    lines: list[int],
    load_id: str,
    sinks: int,
    batch: Batch,
    bad: ValueRefused,
) -> ProtocolError:
    """The error naming the first record, in input order, that holds a value breaking its
    schema or that the target refused."""
    line = None
    for i in range(len(records)):
        try:
            split(records, [i], lines, load_id, [_drop] * sinks)
        except ValueRefused as first:
            line, bad = lines[i], first
            break
    if isinstance(bad, NestedValueError):
        return ProtocolError(bad.problem, line=bad.line, stream=batch.spec.name, field=bad.field)
    field = getattr(bad, "field", None) or getattr(bad, "column", None)
    problem = getattr(bad, "problem", None) or str(bad)
    return ProtocolError(problem, line=line, stream=batch.spec.name, field=field)


def _drop(row: Any) -> None:
    pass
