"""Nested documents as relational tables (`nested: tables` in target-postgres and target-duckdb):
one pure plan shared by both targets, so the same input gives the same tables in either.

`plan(stream, schema, key_properties, max_depth)` turns a stream's JSON Schema into a tree of
TablePlans: the root table with every object that declares `properties` flattened into
`parent__child` columns, and one child table `<table>__<property>` per array whose `items`
declare properties (or are a scalar). A child row carries natural keys: the parent's key
properties as `_sdc_source_key_<key>` and each element's position (from 0) as
`_sdc_level_N_id`, so a child joins back to its parent without any metadata table and a re-load
writes the same keys. `rows(plan, record)` turns a record into the rows of every table.

What stays one JSON column: an object without declared properties, an array without declared
items, an open `{}`, an array of arrays, a union other than "X or null", and anything past
`max_depth` levels of nesting. A null and an empty array both give no child rows.

A stream without key properties gets two columns on its root table, `_sdc_load_id` and
`_sdc_row_index` (the record's position in its batch), which its children carry as source keys:
such a stream is append-only, as it is in `json` mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from tapwell.sdk.sql_names import shorten
from tapwell.sdk.target_types import Batch, StreamSpec

SEP = "__"
LOAD_ID = "_sdc_load_id"
ROW_INDEX = "_sdc_row_index"
SOURCE_KEY = "_sdc_source_key_"
DELETED_AT = "_sdc_deleted_at"
DEFAULT_MAX_DEPTH = 3
MODES = ("json", "tables")


class NestedSchemaError(ValueError):
    """Two properties of a stream land on one column or table name once flattened."""


@dataclass(frozen=True)
class Column:
    """One column of a table: its name and the path of property names from the table's element
    (the record for the root, an array element for a child) to the value."""

    name: str
    path: tuple[str, ...]


@dataclass
class TablePlan:
    """A table of the plan. `schema` is a Singer object schema of its columns (keys first), the
    one a target creates and evolves the table from; `key_properties` its natural key."""

    name: str
    depth: int  # 0 for the root table, 1 for its children, ...
    path: tuple[str, ...] = ()  # from the parent's element to this table's array
    columns: list[Column] = field(default_factory=list)
    children: list[TablePlan] = field(default_factory=list)
    schema: dict[str, Any] = field(default_factory=dict)
    key_properties: list[str] = field(default_factory=list)
    source_keys: list[str] = field(default_factory=list)  # the root's keys the children carry
    source_columns: dict[str, str] = field(default_factory=dict)  # root key -> child column
    scalar: bool = False  # elements are scalars, kept in a column named `value`
    # The tap's own schema of every property under the element, by path (objects flattened,
    # columns, arrays made child tables), and of a child's elements: what a value is checked
    # against (a flattened column's plan schema allows null wherever its object may be null).
    sources: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    items: dict[str, Any] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)  # the root's: its schema's `required`
    _levels: list[str] = field(default_factory=list, repr=False)
    _direct: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _deep: list[tuple[str, tuple[str, ...]]] = field(default_factory=list, repr=False)

    def walk(self) -> Iterator[TablePlan]:
        """This table, then every descendant, parents before children."""
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def level_columns(self) -> list[str]:
        return self._levels

    @property
    def direct(self) -> list[tuple[str, str]]:
        """(column, property) of the columns straight under the element (most of them)."""
        return self._direct

    @property
    def deep(self) -> list[tuple[str, tuple[str, ...]]]:
        """(column, path) of the columns flattened from objects."""
        return self._deep

    def compile(self) -> None:
        """Work out the lists `rows` reads for every record, once per SCHEMA."""
        self._levels = [level_column(n) for n in range(self.depth)]
        self._direct = [(c.name, c.path[0]) for c in self.columns if len(c.path) == 1]
        self._deep = [(c.name, c.path) for c in self.columns if len(c.path) > 1]


def level_column(level: int) -> str:
    """The column of an element's position at `level` (0: in the root record's array)."""
    return f"_sdc_level_{level}_id"


def source_key_column(key: str, rename: Callable[[str], str] = shorten) -> str:
    """The column a child table keeps the root's key property `key` in."""
    return rename(SOURCE_KEY + key)


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return set()
    return {kind} if isinstance(kind, str) else set(kind)


def _unwrap(schema: Any) -> dict[str, Any]:
    """The schema itself, or X of `anyOf: [X, {"type": "null"}]` (singer-sdk's optional form)."""
    if not isinstance(schema, dict):
        return {}
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        real = [b for b in branches if isinstance(b, dict) and _types(b) != {"null"}]
        if len(real) == 1 and len(real) < len(branches):
            return real[0]
    return schema


def _kind(schema: dict[str, Any]) -> str:
    """'object' (flatten), 'array' (child table) or 'leaf' (one column, JSON if structured)."""
    schema = _unwrap(schema)
    if "anyOf" in schema or "oneOf" in schema or "allOf" in schema:
        return "leaf"
    types = _types(schema) - {"null"}
    props = schema.get("properties")
    if types == {"object"} and isinstance(props, dict) and props:
        return "object"
    if types == {"array"}:
        items = _unwrap(schema.get("items"))
        if not items or "anyOf" in items or "oneOf" in items:
            return "leaf"
        inner = _types(items) - {"null"}
        if not inner or "array" in inner:
            return "leaf"
        if inner == {"object"}:
            return (
                "array"
                if isinstance(items.get("properties"), dict) and items["properties"]
                else "leaf"
            )
        return "array"
    return "leaf"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` allowing null: a flattened column is null whenever its object is."""
    schema = dict(_unwrap(schema))
    types = _types(schema)
    if not types or "null" in types:
        return schema
    schema["type"] = sorted(types) + ["null"] if len(types) > 1 else [next(iter(types)), "null"]
    return schema


class _Builder:
    def __init__(self, max_depth: int, rename: Callable[[str], str]) -> None:
        self.max_depth = max_depth
        self.rename = rename
        self.tables: dict[str, tuple[str, ...]] = {}

    def table(self, name: str, where: tuple[str, ...]) -> str:
        short = self.rename(name)
        if short in self.tables and self.tables[short] != where:
            raise NestedSchemaError(
                f"properties {_dotted(self.tables[short])} and {_dotted(where)} both become "
                f"table {short!r}: rename one in the tap or a mapper, or set nested: json"
            )
        self.tables[short] = where
        return short

    def fill(
        self,
        table: TablePlan,
        props: dict[str, Any],
        prefix: tuple[str, ...],
        level: int,
        where: tuple[str, ...],
    ) -> None:
        """Add the columns and children of the object `props` (at `prefix` of the element)."""
        for prop, sub in props.items():
            path = prefix + (prop,)
            table.sources[path] = sub if isinstance(sub, dict) else {}
            kind = _kind(sub) if level < self.max_depth else "leaf"
            if kind == "object":
                self.fill(table, _unwrap(sub)["properties"], path, level + 1, where + (prop,))
            elif kind == "array":
                table.children.append(
                    self.child(table, _unwrap(sub), path, level + 1, where + (prop,))
                )
            else:
                self.column(table, path, _nullable(sub) if prefix else dict(sub))

    def column(self, table: TablePlan, path: tuple[str, ...], schema: dict[str, Any]) -> None:
        name = self.rename(SEP.join(path))
        if name in table.schema["properties"]:
            other = next((c.path for c in table.columns if c.name == name), (name,))
            raise NestedSchemaError(
                f"table {table.name!r}: properties {_dotted(other)} and {_dotted(path)} both "
                f"become column {name!r}: rename one in the tap or a mapper, or set nested: json"
            )
        table.schema["properties"][name] = schema
        table.columns.append(Column(name, path))

    def child(
        self,
        parent: TablePlan,
        schema: dict[str, Any],
        path: tuple[str, ...],
        level: int,
        where: tuple[str, ...],
    ) -> TablePlan:
        name = self.table(parent.name + SEP + SEP.join(path), where)
        items = _unwrap(schema["items"])
        child = TablePlan(
            name=name,
            depth=parent.depth + 1,
            path=path,
            source_keys=parent.source_keys,
            source_columns=parent.source_columns,
            schema={"type": "object", "properties": {}},
            items=schema["items"] if isinstance(schema["items"], dict) else {},
        )
        for key in parent.source_keys:
            child.schema["properties"][parent.source_columns[key]] = {}
        for n in range(child.depth):
            child.schema["properties"][level_column(n)] = {"type": "integer"}
        child.key_properties = list(child.schema["properties"])
        if _kind(items) == "object":
            self.fill(child, items["properties"], (), level, where)
        else:
            child.scalar = True
            self.column(child, ("value",), _nullable(items))
            child.columns[-1] = Column("value", ())
        return child


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path) or "(root)"


def plan(
    stream_table: str,
    schema: dict[str, Any],
    key_properties: list[str],
    max_depth: int = DEFAULT_MAX_DEPTH,
    rename: Callable[[str], str] = shorten,
) -> TablePlan:
    """The tables of a stream whose root table is named `stream_table`, from its SCHEMA.
    `rename` is the destination's rule for a long name (PostgreSQL's 63 bytes by default; a
    DuckDB target passes one that keeps every name).

    Raises NestedSchemaError when two properties would share a column or table name."""
    builder = _Builder(max_depth, rename)
    props = schema.get("properties") or {}
    keys = list(key_properties) or [LOAD_ID, ROW_INDEX]
    root = TablePlan(
        name=stream_table,
        depth=0,
        key_properties=list(key_properties),
        source_keys=keys,
        source_columns={k: source_key_column(k, rename) for k in keys},
        schema={**schema, "type": "object", "properties": {}},
    )
    required = schema.get("required")
    root.required = [r for r in required if r not in keys] if isinstance(required, list) else []
    builder.tables[stream_table] = ()
    builder.fill(root, props, (), 0, ())
    if not key_properties:
        root.schema["properties"][LOAD_ID] = {"type": ["string", "null"]}
        root.schema["properties"][ROW_INDEX] = {"type": ["integer", "null"]}
    soft = DELETED_AT in props
    for table in root.walk():
        table.compile()
        table.schema.pop("required", None)
        if table.depth:
            _resolve_source_keys(table, root, props)
            if soft:
                table.schema["properties"][DELETED_AT] = _nullable(props[DELETED_AT])
    return root


def _resolve_source_keys(table: TablePlan, root: TablePlan, props: dict[str, Any]) -> None:
    """A child's source-key columns take the root key's own schema (its type, exactly)."""
    for key in table.source_keys:
        known = root.schema["properties"].get(key) or props.get(key) or {}
        table.schema["properties"][root.source_columns[key]] = dict(_unwrap(known))


def _get(element: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """The value at `path` in `element` and whether it was there (a missing object on the way,
    or a null one, makes every column under it absent)."""
    value = element
    for step in path:
        if not isinstance(value, dict) or step not in value:
            return False, None
        value = value[step]
    return True, value


def rows(
    root: TablePlan,
    record: dict[str, Any],
    row_index: int = 0,
    load_id: str | None = None,
    out: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The rows `record` becomes: table name -> rows, the root's one row first (appended to
    `out` when given). Properties the record lacks are absent from its row (as in `json` mode).
    `row_index` and `load_id` are a keyless stream's source keys (the record's position in its
    batch, the load's id)."""
    if out is None:
        out = {t.name: [] for t in root.walk()}
    parent = _row(root, record)
    if not root.key_properties:
        parent[LOAD_ID] = load_id
        parent[ROW_INDEX] = row_index
    out[root.name].append(parent)
    if root.children:
        keys = {
            root.source_columns[k]: record[k] if k in record else parent.get(k)
            for k in root.source_keys
        }
        if DELETED_AT in record:
            keys[DELETED_AT] = record[DELETED_AT]
        _children(root, record, keys, (), out)
    return out


def _row(table: TablePlan, element: Any) -> dict[str, Any]:
    if table.scalar:
        return {"value": element}
    if not isinstance(element, dict):
        return {}
    row = {name: element[prop] for name, prop in table.direct if prop in element}
    for name, path in table.deep:
        found, value = _get(element, path)
        if found:
            row[name] = value
    return row


def _children(
    table: TablePlan,
    element: Any,
    keys: dict[str, Any],
    levels: tuple[int, ...],
    out: dict[str, list[dict[str, Any]]],
) -> None:
    for child in table.children:
        items = element.get(child.path[0]) if len(child.path) == 1 else _get(element, child.path)[1]
        if not isinstance(items, list) or not items:
            continue
        target = out[child.name]
        names = child.level_columns
        base = dict(keys)  # the source keys and the parent's levels: the same for every element
        base.update(zip(names, levels))
        own = names[-1]
        direct, deep, scalar, grandchildren = child.direct, child.deep, child.scalar, child.children
        for position, item in enumerate(items):
            row = base.copy()
            row[own] = position
            if scalar:
                row["value"] = item
            elif isinstance(item, dict):
                for name, prop in direct:
                    if prop in item:
                        row[name] = item[prop]
                for name, path in deep:
                    found, value = _get(item, path)
                    if found:
                        row[name] = value
                if grandchildren:
                    _children(child, item, keys, levels + (position,), out)
            target.append(row)


def child_specs(stream: str, root: TablePlan) -> dict[str, StreamSpec]:
    """A stream spec per child table, named `<stream>__<path>` (how a target keeps their tables
    apart from the stream's own): its schema and natural key from the plan."""
    specs = {}
    for table in list(root.walk())[1:]:
        name = stream + table.name[len(root.name) :]
        specs[table.name] = StreamSpec(
            name, table.schema, list(table.key_properties), check=lambda record, line: None
        )
    return specs


def split(
    root: TablePlan,
    batch: Batch,
    root_spec: StreamSpec,
    children: dict[str, StreamSpec],
    load_id: str,
) -> list[Batch]:
    """A batch of a stream's records (dicts) as one batch per table, the root's first: with key
    properties only the last record of each key (its children with it), every record's rows
    keeping its input line for load-time errors. A keyless record's children are keyed by its
    position in the batch and `load_id`."""
    records: list[dict[str, Any]] = batch.records
    lines = batch.lines
    order = range(len(records))
    if root.key_properties:
        last = {tuple(records[i].get(k) for k in root.key_properties): i for i in order}
        order = sorted(last.values())  # type: ignore[assignment]
    out = {t.name: Batch(root_spec if t is root else children[t.name]) for t in root.walk()}
    for b in out.values():
        b.first_line, b.version = batch.first_line, batch.version
    made: dict[str, list[dict[str, Any]]] = {name: b.records for name, b in out.items()}
    for i in order:
        line = lines[i] if i < len(lines) else batch.first_line
        rows(root, records[i], i, load_id, made)
        for b in out.values():
            b.lines.extend([line] * (len(b.records) - len(b.lines)))
    return list(out.values())


@dataclass
class NestedStream:
    """A stream loaded with `nested: tables`: its plan, the spec its root table is made from
    (objects flattened) and its child tables' specs (child table name -> spec)."""

    plan: TablePlan
    spec: StreamSpec
    children: dict[str, StreamSpec]
    splitter: Any = None  # the target's compiled splitter (tapwell.sdk.nested_split), once made
    json_columns: list[str] = field(default_factory=list)  # left by nested: json, not filled


def json_columns(schema: dict[str, Any], root: TablePlan) -> list[str]:
    """The stream's top-level properties that `nested: tables` does not keep as columns of its
    root table (objects it flattens, arrays it makes child tables): the JSON columns `nested:
    json` gives them, which a switch from json to tables leaves in place, no longer filled.
    Compared by property, not by column name: a long name's column is shortened."""
    kept = {c.path[0] for c in root.columns if len(c.path) == 1}
    return [p for p in schema.get("properties") or {} if p not in kept]


def flattened_columns(root: TablePlan) -> list[str]:
    """The root table's columns flattened from objects (`address__city`): what a switch from
    tables to json leaves in place, no longer filled, beside the child tables."""
    return [c.name for c in root.columns if len(c.path) > 1]


def switched_to_tables(stream: str, table: str, columns: list[str], drop: str) -> str:
    """The one line a target says when `nested: tables` meets its stream's old JSON columns."""
    return (
        f"stream {stream!r}: nested: tables leaves the JSON column(s) {', '.join(columns)} of "
        f"{table} (from nested: json) unfilled: a row loaded from now on holds NULL there. "
        f"To drop them: {drop}"
    )


def switched_to_json(
    stream: str, table: str, tables: list[str], columns: list[str], drop: str
) -> str:
    """The one line a target says when `nested: json` meets its stream's old child tables or
    flattened columns."""
    what = []
    if tables:
        what.append(f"the child table(s) {', '.join(tables)}")
    if columns:
        what.append(f"the column(s) {', '.join(columns)} of {table}")
    return (
        f"stream {stream!r}: nested: json leaves {' and '.join(what)} (from nested: tables) "
        f"unfilled: they keep what was loaded then. To drop them: {drop}"
    )


def stream(
    spec: StreamSpec,
    table: str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    rename: Callable[[str], str] = shorten,
) -> NestedStream:
    """The tables of `spec`'s stream, whose root table is named `table` (NestedSchemaError when
    two properties land on one name; `rename` as in `plan`)."""
    root = plan(table, spec.schema, spec.key_properties, max_depth, rename)
    flat = replace(spec, schema=root.schema, encoder=None)
    return NestedStream(root, flat, child_specs(spec.name, root))
