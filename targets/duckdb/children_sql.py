"""`nested: tables` read in SQL: a batch of RECORD lines split into its tables by DuckDB, with no
Python JSON parse and no Python per record (the raw lines of raw.py, for nested documents).

Each table of the plan (tapwell.sdk.nested) gets one temporary table built by one statement:
the root's from the batch's lines (`json_transform` of the record into each property's JSON
text), a child's from its parent's temporary table (the array's JSON text read as a list of
element texts, UNNEST with the element's position). An object is read from its own text the
same way, level by level, so every value keeps its JSON text (`r`) and is checked and cast as
raw.py does a record's own fields (raw.column); the objects and arrays on the way are checked
to be objects and arrays, a null where the schema allows none is refused only when its key is
there (as the Python check does), and an object whose keys SQL would read differently (a key
written twice) is refused. A batch where anything is refused is decoded and split in Python
instead (children.load), which names the problem in its usual one line.

A RECORD line may write a plain number's -0.0 as `-0`, which DuckDB's JSON reader (as orjson)
reads as the integer 0. A batch whose lines hold such a `-0` outside a string (a bytes
search per line: nested_zero.py) has its root read from its lines with each of those
written `-0.0` (`statements(..., signed=True)`; the line's own text still decides what a document
holds): a DOUBLE column gets -0.0 as the flat paths give it; a document holding `-0` and an
integer column given `-0` go the Python way (which keeps both: nested_zero.signer).

A stream goes the Python way always when one of its tables has a column of a kind raw.column
does not check (time, unions of kinds, an open `{}`), `required` properties, `_sdc_unchanged`,
or property names SQL cannot tell apart (empty, or differing only in case, in one object).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tapwell.sdk import nested
from tapwell.sdk.sql_names import quote_ident
from tapwell.singer.schema import property_types
from tapwell.singer.wire import dumps

from . import raw
from .stage import UNCHANGED, StagedColumn

TEMP = "temp.main._tapwell_nested_"  # + the table's position in plan.walk()
SIGNED = "_tapwell_nested_signed"  # the batch's lines with each bare -0 written -0.0 (n, j)
VERSION_COLUMN = "_sdc_table_version"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class _Node:
    """A place in an element: an object (its keys), a leaf column (staged index) or an array
    (the child table reading it)."""

    schema: dict[str, Any]
    keys: dict[str, _Node] = field(default_factory=dict)
    leaf: int | None = None
    child: nested.TablePlan | None = None


@dataclass(frozen=True)
class Table:
    """How one table's rows are made in SQL: the statement filling its temporary table (with
    the load id as its parameters) and the columns it fills (temp column, table column);
    `arrays` names, per child table, the column holding its array's text."""

    stream: str  # the loader's table (Table by spec name)
    temp: str
    create: str
    columns: list[tuple[str, str]]
    arrays: dict[str, str]
    params: int = 0  # 1: the load id is the parameter of `create` (the root's)
    signed: str = ""  # the root's `create` reading SIGNED's lines (nested_zero.signed_lines)


@dataclass(frozen=True)
class Plan:
    tables: list[Table]  # in plan.walk() order, the root first
    keys: list[str]  # the root temp's key columns (k0, ...): the children's source keys
    source: dict[str, list[tuple[str, str]]]  # child stream -> (its column, root temp's key)
    keyed: bool  # the root has key properties (k0, ... in its temp), merged last one wins
    doubles: bool = False  # a table has a DOUBLE column (a `-0` in a line may be -0.0 there)


class _Select:
    """A SELECT built in levels: `SELECT *, <level n> FROM (<level n-1>)`, so a value computed
    once is read by the next level instead of computed again."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.levels: list[list[str]] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"_{prefix}{self.count}"

    def add(self, level: int, expr: str) -> None:
        while len(self.levels) <= level:
            self.levels.append([])
        self.levels[level].append(expr)

    def sql(self) -> str:
        out = self.base
        for level in self.levels:
            if level:
                out = f"SELECT *, {', '.join(level)} FROM ({out})"
        return out


class _Refused(Exception):
    """The plan cannot be read in SQL (the stream goes the Python way)."""


def plan(
    root: nested.TablePlan,
    specs: dict[str, Any],
    staged: dict[str, list[StagedColumn]],
) -> Plan | None:
    """The SQL of every table of `root`'s plan (`specs`: each table's spec by plan name,
    `staged`: each spec's staged columns), or None when a table needs the Python path."""
    if root.required or UNCHANGED in (specs[root.name].schema.get("properties") or {}):
        return None
    try:
        return _Planner(root, specs, staged).plan()
    except _Refused:
        return None


class _Planner:
    def __init__(
        self,
        root: nested.TablePlan,
        specs: dict[str, Any],
        staged: dict[str, list[StagedColumn]],
    ) -> None:
        self.root, self.specs, self.staged = root, specs, staged
        self.tables = list(root.walk())
        self.index = {id(t): i for i, t in enumerate(self.tables)}
        self.arrays: dict[int, str] = {}  # child index -> its array text column, in the parent
        self.present: dict[int, str] = {}  # staged index -> whether its key is in its object
        self.keys: dict[int, str] = {}  # staged index -> its key in its object
        self.signed = ""  # the root's base SELECT reading SIGNED's lines

    def plan(self) -> Plan:
        root = self.tables[0]
        keys = [f"k{i}" for i in range(len(root.source_keys))]
        out, source = [], {}
        for i, table in enumerate(self.tables):
            out.append(self.table(table, i))
            if i:
                spec = self.specs[table.name]
                source[spec.name] = [
                    (root.source_columns[k], keys[n]) for n, k in enumerate(root.source_keys)
                ]
        doubles = any(c.sqltype == "DOUBLE" for cols in self.staged.values() for c in cols)
        return Plan(out, keys, source, bool(root.key_properties), doubles)

    def tree(self, table: nested.TablePlan, columns: dict[str, int]) -> _Node:
        """The element's keys as a tree: objects, leaves (by staged index) and arrays."""
        top = _Node(table.items if table.depth else {})
        for column in table.columns:
            if column.name not in columns:
                raise _Refused(column.name)
            if not column.path:  # a scalar array's element itself
                top.leaf = columns[column.name]
                continue
            self.at(table, top, column.path).leaf = columns[column.name]
        for child in table.children:
            self.at(table, top, child.path).child = child
        return top

    def at(self, table: nested.TablePlan, top: _Node, path: tuple[str, ...]) -> _Node:
        node = top
        for n in range(len(path)):
            node = node.keys.setdefault(path[n], _Node(table.sources.get(path[: n + 1]) or {}))
        return node

    def table(self, table: nested.TablePlan, i: int) -> Table:
        spec = self.specs[table.name]
        staged = self.staged[table.name]
        columns = {c.prop: j for j, c in enumerate(staged)}
        top = self.tree(table, columns)
        root = self.tables[0]
        keys = [f"k{n}" for n in range(len(root.source_keys))]
        self.present, self.keys = {}, {}
        if table.depth == 0:
            head = (
                "SELECT n AS _n, ?::VARCHAR AS _load, d, "
                "try(json_transform({read}, {structure})) AS ok, "
                "len(try(json_keys(d, '$.record'))) AS _nk0 FROM "
            )
            select = _Select(
                head.replace("{read}", "d") + f"(SELECT n, try(decode(j)) AS d FROM {raw.LINES})"
            )
            self.signed = (  # the same lines, json_transform reading their SIGNED writing
                head.replace("{read}", "s")
                + f"(SELECT n, try(decode(l.j)) AS d, try(decode(s.j)) AS s FROM {raw.LINES} AS l "
                f"JOIN {SIGNED} AS s USING (n))"
            )
            carried = []
        else:
            parent = self.tables[self.index[id(self.parent_of(table))]]
            levels = [f"_l{n}" for n in range(table.depth - 1)]
            carried = ["_n", *keys, "_del", *levels]
            arr = self.arrays[i]
            # a table with documents reads its records' lines again, where their text is
            line, lines = "", ""
            if any(c.sqltype == "JSON" for c in staged):
                line = ", d"
                lines = f" JOIN (SELECT n AS _n, try(decode(j)) AS d FROM {raw.LINES}) USING (_n)"
            select = _Select(
                f"SELECT {', '.join(carried)}{line}, unnest(_arr) AS _e, "
                f"generate_subscripts(_arr, 1) - 1 AS _l{table.depth - 1} FROM ("
                f"SELECT {', '.join(carried)}{line}, json_transform({arr}, '[\"JSON\"]') AS _arr "
                f"FROM {TEMP}{self.index[id(parent)]}{lines} WHERE {arr} IS NOT NULL)"
            )
        bad: list[str] = []
        texts: dict[int, str] = {}  # staged index -> its r column
        arrays: dict[str, str] = {}
        if table.depth == 0:
            structure = self.record(select, top, bad, texts, arrays)
            select.base = select.base.replace("{structure}", _lit(structure))
            self.signed = self.signed.replace("{structure}", _lit(structure))
        elif table.scalar:
            if top.leaf is None:
                raise _Refused(table.name)
            texts[top.leaf] = "_e"
        else:
            self.check_kind(select, "_e", top.schema, "true", bad, "object")
            self.object(select, "_e", top, 0, bad, texts, arrays)
        return self.finish(table, i, spec, staged, select, bad, texts, arrays, carried)

    def parent_of(self, table: nested.TablePlan) -> nested.TablePlan:
        for t in self.tables:
            if any(c is table for c in t.children):
                return t
        raise _Refused(table.name)  # pragma: no cover - every child has a parent

    def record(
        self,
        select: _Select,
        top: _Node,
        bad: list[str],
        texts: dict[int, str],
        arrays: dict[str, str],
    ) -> str:
        """The record's keys read from json_transform's `ok` (level 0): its structure."""
        _distinct(top)
        record = "struct_extract(ok, 'record')"
        given = []
        for key, node in top.keys.items():
            t = select.name("t")
            select.add(0, f"struct_extract({record}, {_lit(key)})::VARCHAR AS {t}")
            given.append(t)
            present = f"coalesce(list_contains(json_keys(d, '$.record'), {_lit(key)}), false)"
            self.node(select, t, node, 1, present, bad, texts, arrays, key)
        bad.append("ok IS NULL OR _nk0 IS NULL")
        bad.append(f"NOT ({raw.VERSION})")
        bad.append(
            "CASE WHEN _nk0 = 0 THEN coalesce(json_type(d, '$.record') <> 'OBJECT', true) "
            "ELSE false END"
        )
        bad.append(_twice("_nk0", given, "json_keys(d, '$.record')"))
        return dumps({"record": {k: "JSON" for k in top.keys}, "version": "JSON"}).decode()

    def object(
        self,
        select: _Select,
        text: str,
        node: _Node,
        level: int,
        bad: list[str],
        texts: dict[int, str],
        arrays: dict[str, str],
    ) -> None:
        """The keys of the object whose JSON text is column `text` (known at `level`)."""
        _distinct(node)
        structure = dumps({k: "JSON" for k in node.keys}).decode()
        x, nk = select.name("x"), select.name("nk")
        select.add(level, f"json_transform({text}, {_lit(structure)}) AS {x}")
        select.add(level, f"len(json_keys({text})) AS {nk}")
        given = []
        for key, sub in node.keys.items():
            t = select.name("t")
            select.add(level + 1, f"struct_extract({x}, {_lit(key)})::VARCHAR AS {t}")
            given.append(t)
            present = f"coalesce(list_contains(json_keys({text}), {_lit(key)}), false)"
            self.node(select, t, sub, level + 2, present, bad, texts, arrays, key)
        bad.append(_twice(nk, given, f"json_keys({text})"))

    def node(
        self,
        select: _Select,
        t: str,
        node: _Node,
        level: int,
        present: str,
        bad: list[str],
        texts: dict[int, str],
        arrays: dict[str, str],
        key: str,
    ) -> None:
        """The value at text column `t` (known before `level`) of `key`: a leaf, an object or an
        array."""
        if node.leaf is not None:
            texts[node.leaf] = t
            self.present[node.leaf] = present
            self.keys[node.leaf] = key
        elif node.child is not None:
            self.check_kind(select, t, node.schema, present, bad, "array")
            self.arrays[self.index[id(node.child)]] = t
            arrays[node.child.name] = t
        else:
            self.check_kind(select, t, node.schema, present, bad, "object")
            self.object(select, t, node, level, bad, texts, arrays)

    @staticmethod
    def check_kind(
        select: _Select, t: str, schema: dict[str, Any], present: str, bad: list[str], kind: str
    ) -> None:
        kinds = property_types(schema)
        nullable = "true" if not kinds or "null" in kinds else f"NOT {present}"
        first = "{" if kind == "object" else "["
        bad.append(
            f"(CASE WHEN {t} IS NULL THEN {nullable} ELSE left({t}, 1) = '{first}' END) IS NOT TRUE"
        )

    def finish(
        self,
        table: nested.TablePlan,
        i: int,
        spec: Any,
        staged: list[StagedColumn],
        select: _Select,
        bad: list[str],
        texts: dict[int, str],
        arrays: dict[str, str],
        carried: list[str],
    ) -> Table:
        """Each staged column's value (checked leaves, source keys, positions) and the row's
        refusal, as the temporary table's statement."""
        root = self.tables[0]
        keys = [f"k{n}" for n in range(len(root.source_keys))]
        by_source = {root.source_columns[k]: keys[n] for n, k in enumerate(root.source_keys)}
        levels = {nested.level_column(n): f"_l{n}" for n in range(table.depth)}
        base = len(select.levels)
        values: dict[int, str] = {}
        key_props = set(root.key_properties) if table.depth == 0 else set()
        for j, col in enumerate(staged):
            if col.column in ("_n", "_bad") or col.unchanged:
                raise _Refused(col.column)
            if j in texts:
                schema = table.items if table.scalar else self.source(table, col.prop)
                key = col.prop in key_props
                made = raw.column(col, schema, key)
                if made is None or (key and col.sqltype == "JSON"):  # a key must be a value
                    raise _Refused(col.prop)
                select.add(base, f"{texts[j]} AS r{j}")
                select.add(base + 1, f"{raw._named(made.text, j)} AS s{j}")
                select.add(base + 2, f"{raw._named(made.value, j)} AS v{j}")
                if col.sqltype == "JSON":
                    bad.append(self.respelled(j))
                good = raw._named(made.good, j)
                if not key and "null" not in property_types(schema):
                    # a null where the schema allows none is refused only when its key is there
                    good = f"CASE WHEN r{j} IS NULL THEN NOT {self.present.get(j, 'true')} ELSE {good} END"
                bad.append(f"({good}) IS NOT TRUE")
                values[j] = f"v{j}"
            elif table.depth and col.prop in by_source:
                values[j] = f"CAST({by_source[col.prop]} AS {col.sqltype})"
            elif col.prop in levels:
                values[j] = f"CAST({levels[col.prop]} AS {col.sqltype})"
            elif table.depth and col.prop == nested.DELETED_AT:
                values[j] = f"CAST(_del AS {col.sqltype})"
            elif table.depth == 0 and col.prop == nested.LOAD_ID and not root.key_properties:
                values[j] = "_load"
            elif table.depth == 0 and col.prop == nested.ROW_INDEX and not root.key_properties:
                values[j] = "_n"
            else:
                raise _Refused(col.prop)
        out = ["_n", *(f"{values[j]} AS c{j}" for j in range(len(staged)))]
        columns = [(f"c{j}", col.column) for j, col in enumerate(staged)]
        if table.depth == 0:
            named = {c.prop: j for j, c in enumerate(staged)}
            sources = [values[named[k]] for k in root.source_keys]
            out += [f"{v} AS {k}" for v, k in zip(sources, keys, strict=True)]
            deleted = named.get(nested.DELETED_AT)
            out.append(f"{values[deleted] if deleted is not None else 'NULL'} AS _del")
        else:
            out += [c for c in carried if c != "_n"]
            out.append(f"_l{table.depth - 1}")
        out += list(arrays.values())
        out.append(f"({' OR '.join(bad) or 'false'}) AS _bad")
        create = f"CREATE OR REPLACE TEMP TABLE {TEMP}{i} AS SELECT {', '.join(out)} FROM "
        signed = ""
        if table.depth == 0:
            unsigned, select.base = select.base, self.signed
            signed = f"{create}({select.sql()})"
            select.base = unsigned
        create = f"{create}({select.sql()})"
        params = int(table.depth == 0)
        return Table(spec.name, f"{TEMP}{i}", create, columns, arrays, params, signed)

    def respelled(self, j: int) -> str:
        """SQL: whether DuckDB's text of document r{j} is not its line's (a number such as 1.50
        or 1E5 spelled otherwise, a control character written \\u001F: raw.as_written), so
        the batch is split in Python, which keeps the line's spelling (children.row_encoder)."""
        key = self.keys.get(j)
        if key is None:  # an array's element itself: no key to find it by in the line
            raise _Refused(str(j))
        return f"(r{j} IS NOT NULL AND ({raw._named(raw.as_written('d', key), j)}) IS NULL)"

    def source(self, table: nested.TablePlan, column: str) -> dict[str, Any]:
        path = self.path(table, column)
        found = table.sources.get(path)
        if found is None:
            raise _Refused(column)
        return found

    @staticmethod
    def path(table: nested.TablePlan, column: str) -> tuple[str, ...]:
        for c in table.columns:
            if c.name == column:
                return c.path
        return ()


def _distinct(node: _Node) -> None:
    """Keys json_transform reads apart: none empty, none differing from another only in case
    (a struct's field names ignore case)."""
    folded = {k.lower() for k in node.keys}
    if "" in node.keys or len(folded) < len(node.keys):
        raise _Refused("keys")


def _twice(nk: str, given: list[str], keys: str) -> str:
    """A key written twice in an object: json_transform reads the first, Python the last. Only
    an object with more keys than values SQL found has its keys compared."""
    found = " + ".join(f"({t} IS NOT NULL)::INTEGER" for t in given) or "0"
    return f"CASE WHEN {nk} > {found} THEN len(list_distinct({keys})) < {nk} ELSE false END"


def statements(p: Plan, load_id: str, signed: bool = False) -> list[tuple[str, list[str]]]:
    """The statements (with their parameters) that fill every table's temporary table; the
    root's reading SIGNED's lines too when `signed` (nested_zero.signed_lines)."""
    return [
        ((t.signed if signed and t.params else t.create), [load_id] * t.params) for t in p.tables
    ]


def rows(p: Plan, t: Table, version: int | None, dedupe: bool) -> tuple[str, list[str]]:
    """(the SELECT of the table's rows to merge, its columns): the last record of each key, and
    the children of those only, when a key came twice in the batch (`dedupe`)."""
    cols = [
        (c, name) for c, name in t.columns if not (version is not None and name == VERSION_COLUMN)
    ]
    select = [f"{c} AS {quote_ident(name)}" for c, name in cols]
    names = [name for _, name in cols]
    if version is not None:
        select.append(f"CAST({int(version)} AS BIGINT) AS {VERSION_COLUMN}")
        names.append(VERSION_COLUMN)
    where = ""
    if dedupe:  # sorted only then: most batches hold each key once
        keys = ", ".join(p.keys)
        kept = f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _n DESC) = 1"
        root = p.tables[0].temp
        where = f" {kept}" if t is p.tables[0] else f" WHERE _n IN (SELECT _n FROM {root} {kept})"
    return f"(SELECT {', '.join(select)} FROM {t.temp}{where})", names


def refused(p: Plan) -> str:
    """A query of (whether SQL refused a row of any table, whether a key came twice)."""
    bad = " OR ".join(f"EXISTS (SELECT 1 FROM {t.temp} WHERE _bad)" for t in p.tables)
    root = p.tables[0].temp
    keys = ", ".join(p.keys)
    twice = f"(SELECT count(DISTINCT ({keys})) < count(*) FROM {root})" if p.keyed else "false"
    return f"SELECT {bad}, {twice}"


def drop(p: Plan) -> list[str]:
    return [f"DROP TABLE IF EXISTS {t.temp}" for t in p.tables]
