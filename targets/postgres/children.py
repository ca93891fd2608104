"""`nested: tables` in target-postgres (tapwell.sdk.nested): a stream's root table with its
objects flattened, and a child table per array, created and evolved as a stream's own tables are,
each with a primary key on its natural key (`_sdc_source_key_<key>`, `_sdc_level_N_id`).

A batch loads its parent rows first, then, in the same transaction, deletes every child row of
the batch's parents at every level and copies the new ones in, so a child never outlives or lags
its parent; the state row commits with them (PostgresLoader.load).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

from psycopg import sql
from tapwell.sdk import nested
from tapwell.sdk.nested_split import (
    Bounded,
    RowMaker,
    as_read,
    compile_splitter,
    is_position,
    split_batch,
)
from tapwell.sdk.target import Batch, RowEncoder, StreamSpec
from tapwell.singer.errors import ProtocolError
from tapwell.singer.schema import number_union

from . import ddl
from .encode import formatter_for
from .merge import column_type
from .spelled import whole_respeller
from .types import family

if TYPE_CHECKING:
    from .loader import PostgresLoader

LOG = logging.getLogger("target-postgres")


def prepare(loader: PostgresLoader, cur: Any, spec: StreamSpec) -> nested.NestedStream:
    """Create or evolve the stream's root table and every child table for its new SCHEMA."""
    schema, name = ddl.target_of(spec.name, loader.config)
    try:
        tables = nested.stream(spec, name, loader.config.nested_max_depth)
    except nested.NestedSchemaError as exc:
        raise ProtocolError(str(exc), stream=spec.name) from None
    tables.json_columns = _old_json_columns(loader, cur, spec, schema, name, tables.plan)
    loader.tables[spec.name] = loader._prepare(cur, tables.spec)
    how = loader.settings.of(spec.name)
    for table, child in tables.children.items():
        made = loader.tables[child.name] = loader._prepare(
            cur, child, where=(schema, table), how=how
        )
        made.key_props = []  # its rows replace the parent's old ones: COPY, no merge
    return tables


def row_encoder(loader: PostgresLoader, tables: nested.NestedStream) -> RowEncoder:
    """The stream's records kept as read (nested_split.as_read), each with its numbers as its
    line spells them when a root or child table has an unconstrained numeric, a JSON column or
    a union's text column holding numbers (tapwell.singer.schema.number_union) (spelled.whole_respeller: `1.50` stays 1.50 there, as without nesting)."""
    kept = as_read()
    specs = _specs(tables).values()
    types = [t for spec in specs for t in loader.tables[spec.name].columns.values()]
    unions = [p for spec in specs for p in (spec.schema.get("properties") or {}).values()]
    if not any(t == "numeric" or family(t) in ("json", "jsonb") for t in types) and not any(
        map(number_union, unions)
    ):
        return kept
    return RowEncoder(kept.encode, respell=whole_respeller())


def _drop_columns(loader: PostgresLoader, schema: str, table: str, columns: list[str]) -> str:
    return (
        sql.SQL("ALTER TABLE {} ").format(ddl.qualified(schema, table))
        + sql.SQL(", ").join(sql.SQL("DROP COLUMN {}").format(ddl.ident(c)) for c in columns)
    ).as_string(loader.conn)


def _old_json_columns(
    loader: PostgresLoader,
    cur: Any,
    spec: StreamSpec,
    schema: str,
    name: str,
    root: nested.TablePlan,
) -> list[str]:
    """The root table's JSON columns from `nested: json` that `nested: tables` no longer fills,
    said once a run with the SQL that drops them."""
    existing = ddl.existing_columns(cur, schema, name)
    names = ddl.column_names(spec.schema.get("properties") or {}, spec.name)
    old = [names[p] for p in nested.json_columns(spec.schema, root) if names[p] in existing]
    if old and spec.name not in loader.said:
        loader.said.add(spec.name)
        drop = _drop_columns(loader, schema, name, old)
        LOG.warning(nested.switched_to_tables(spec.name, f"{schema}.{name}", old, drop))
    return old


def leftovers(loader: PostgresLoader, cur: Any, spec: StreamSpec) -> list[str]:
    """A stream loaded with `nested: json` whose child tables or flattened columns a load with
    `nested: tables` left: kept, no longer filled, said once a run with the SQL that drops them.
    Returns the flattened columns left on its table: an upserted row holds NULL there (merge.py),
    as a row `nested: tables` loads holds NULL in the JSON columns `json` left (`_clear`)."""
    schema, name = ddl.target_of(spec.name, loader.config)
    try:
        root = nested.plan(name, spec.schema, spec.key_properties, loader.config.nested_max_depth)
    except nested.NestedSchemaError:
        return []
    flat = nested.flattened_columns(root)
    if not root.children and not flat:
        return []
    existing = ddl.existing_columns(cur, schema, name)
    old_columns = [c for c in flat if c in existing]
    if spec.name in loader.said:
        return old_columns
    old_tables = [
        t.name for t in list(root.walk())[1:] if ddl.existing_columns(cur, schema, t.name)
    ]
    if not old_columns and not old_tables:
        return old_columns
    loader.said.add(spec.name)
    drop = []
    if old_tables:
        drop.append(
            (
                sql.SQL("DROP TABLE ")
                + sql.SQL(", ").join(ddl.qualified(schema, t) for t in old_tables)
            ).as_string(loader.conn)
        )
    if old_columns:
        drop.append(_drop_columns(loader, schema, name, old_columns))
    tables = [f"{schema}.{t}" for t in old_tables]
    LOG.warning(
        nested.switched_to_json(spec.name, f"{schema}.{name}", tables, old_columns, "; ".join(drop))
    )
    return old_columns


_V = re.compile(r"\bv\b")


def _specs(tables: nested.NestedStream) -> dict[str, StreamSpec]:
    """Each table's spec by its plan name."""
    return {tables.plan.name: tables.spec, **tables.children}


def _layout(loader: PostgresLoader, spec: StreamSpec) -> list[tuple[str, str, str]]:
    """The columns (property, column, type) a row is encoded for: the COPY's property columns
    (PostgresLoader.copy_layout)."""
    table = loader.tables[spec.name]
    return [(prop, col, column_type(table, col)) for prop, col in table.props.items()]


def _maker(loader: PostgresLoader, specs: dict[str, StreamSpec]) -> RowMaker:
    """Rows as the COPY lines `encode.compile_row_encoder` writes (the same formatters, the
    common case inline): a batch of them goes to `_load_batch` as rows its encoder made."""

    def make(
        plan: nested.TablePlan, n: int, values: dict[str, str]
    ) -> tuple[list[str], str, dict[str, Any]]:
        table = loader.tables[specs[plan.name].name]
        env: dict[str, Any] = {f"_t{n}_NULL": "\\N"}
        statements, fields = [], []
        for j, (prop, column, sqltype) in enumerate(_layout(loader, specs[plan.name])):
            v = values.get(prop, "None")
            if v == "None":
                fields.append(f"{{_t{n}_NULL}}")
                continue
            if is_position(v) and sqltype == "bigint":
                fields.append(f"{{{v}}}")
                continue
            fmt, generic = formatter_for(column, sqltype, table.nul)
            env[f"_t{n}_f{j}"] = fmt
            expr = _V.sub(v, generic.replace("f(v)", f"_t{n}_f{j}(v)"))
            statements.append(f"_t{n}_c{j} = _t{n}_NULL if {v} is None else {expr}")
            fields.append(f"{{_t{n}_c{j}}}")
        return statements, 'f"' + "\\t".join(fields) + '"', env

    return make


def _bounded(loader: PostgresLoader, specs: dict[str, StreamSpec]) -> Bounded:
    """Whether a table's column is a 64-bit integer (bigint; integer and smallint are narrower,
    and the server names a value past them)."""

    def bounded(plan: nested.TablePlan, column: str) -> bool:
        layout = _layout(loader, specs[plan.name])
        return any(prop == column and sqltype == "bigint" for prop, _, sqltype in layout)

    return bounded


def splitter(loader: PostgresLoader, tables: nested.NestedStream) -> Any:
    """The stream's compiled splitter for its tables as they are now (once per SCHEMA): the
    record checked, every value inside it against its schema too, as its rows are made (the
    records were kept unchecked as they were read: nested_split.as_read)."""
    if tables.splitter is None:
        specs = _specs(tables)
        tables.splitter = compile_splitter(
            tables.plan,
            _maker(loader, specs),
            bounded=_bounded(loader, specs),
            record_check=True,
            stream=tables.spec.name,
        )
    return tables.splitter


def load(loader: PostgresLoader, cur: Any, batch: Batch, tables: nested.NestedStream) -> None:
    """The batch's parent rows, then its child rows replacing the parents' old ones."""
    specs = _specs(tables)
    layouts = {name: _layout(loader, spec) for name, spec in specs.items()}
    parts = split_batch(
        tables.plan, splitter(loader, tables), batch, specs, layouts, uuid.uuid4().hex
    )
    parent = loader.tables[tables.spec.name]
    direct = _copied_straight(parent)
    loader._load_batch(cur, parts[0])
    # Children live and die with their parent in one transaction: when the parent rows went
    # straight into their table (no key already there: a first load, new keys), no child row
    # can have these keys.
    new_keys = direct and parent.direct and not tables.json_columns  # see _old_json_columns
    replaced = parent.how.upsert and bool(parent.key_props) and bool(parts[0].records)
    replaced = replaced and not new_keys
    if replaced and tables.json_columns:  # a row loaded from now on holds NULL there
        _clear(cur, parent, parts[0].keys, tables.json_columns)
    for part in parts[1:]:
        table = loader.tables[part.spec.name]
        if parent.how.load_method == "overwrite" and table.stream not in loader.overwritten:
            cur.execute(sql.SQL("DELETE FROM {}").format(table.target))
            loader.overwritten.add(table.stream)
        if replaced:
            _delete_children(cur, table, parent, parts[0].keys, tables.plan.source_columns)
        if part.records:
            loader._load_batch(cur, part)


def _clear(cur: Any, parent: Any, keys: list[Any], columns: list[str]) -> None:
    """Set the old JSON `columns` of the parent rows with `keys` to NULL (nested: tables no
    longer fills them; PostgreSQL's merge updates only the columns it loads)."""
    cols = list(parent.keys)
    if len(cols) == 1:
        arrays = [[_text(v) for v in keys]]
    else:
        arrays = [[_text(v[j]) for v in keys] for j in range(len(cols))]
    names = [sql.Identifier(f"k{i}") for i in range(len(cols))]
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = s.{}::{}").format(ddl.ident(col), n, sql.SQL(parent.columns[col]))
        for col, n in zip(cols, names, strict=True)
    )
    unnest = sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in cols)
    sets = sql.SQL(", ").join(sql.SQL("{} = NULL").format(ddl.ident(c)) for c in columns)
    cur.execute(
        sql.SQL("UPDATE {} AS p SET {} FROM unnest({}) AS s({}) WHERE {}").format(
            parent.target, sets, unnest, sql.SQL(", ").join(names), match
        ),
        arrays,
    )


def _copied_straight(parent: Any) -> bool:
    """Whether merge.load_batch will first try its batch of `parent` as one COPY straight into
    the table (which fails, and clears `direct`, on a key already there)."""
    deletes = "_sdc_deleted_at" in parent.props and parent.how.hard_delete
    keyed = parent.how.upsert and bool(parent.key_props)
    straight = not deletes and not parent.unchanged and parent.direct
    return bool(keyed and straight and sorted(parent.keys) == parent.pk)


def _delete_children(
    cur: Any, table: Any, parent: Any, parents: list[Any], source: dict[str, str]
) -> None:
    """Delete the rows of child `table` whose source keys are `parents` (the batch's parent
    keys: a value each, a tuple with several key properties); one statement, the keys sent as
    text arrays and cast to the columns' own types. One key column: `= ANY(array)`, which the
    planner sizes by the array (a join with `unnest` was guessed at millions of rows on a
    freshly loaded table, a merge join and JIT compiling: ~40% slower on 20,000 parents)."""
    cols = [source[k] for k in parent.key_props]
    if len(cols) == 1:
        col = cols[0]
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s::text[]::{}[])").format(
                table.target, ddl.ident(col), sql.SQL(table.columns[col])
            ),
            [[_text(v) for v in parents]],
        )
        return
    arrays = [[_text(v[j]) for v in parents] for j in range(len(cols))]
    names = [sql.Identifier(f"k{i}") for i in range(len(cols))]
    match = sql.SQL(" AND ").join(
        sql.SQL("c.{} = s.{}::{}").format(ddl.ident(col), n, sql.SQL(table.columns[col]))
        for col, n in zip(cols, names, strict=True)
    )
    unnest = sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in cols)
    cur.execute(
        sql.SQL("DELETE FROM {} AS c USING unnest({}) AS s({}) WHERE {}").format(
            table.target, unnest, sql.SQL(", ").join(names), match
        ),
        arrays,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def retire(loader: PostgresLoader, cur: Any, tables: nested.NestedStream, version: int) -> None:
    """After ACTIVATE_VERSION retired parent rows: their child rows go too (hard_delete) or get
    the parent's `_sdc_deleted_at`. A keyless stream's child rows carry the version themselves."""
    parent = loader.tables[tables.spec.name]
    if not parent.key_props:
        for child in tables.children.values():
            loader._activate(cur, child, version)
        return
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(ddl.ident(col), ddl.ident(tables.plan.source_columns[key]))
        for key, col in zip(parent.key_props, parent.keys, strict=True)
    )
    for child in tables.children.values():
        table = loader.tables[child.name]
        if parent.how.hard_delete:
            cur.execute(
                sql.SQL(
                    "DELETE FROM {} AS c WHERE NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})"
                ).format(table.target, parent.target, match)
            )
        elif "_sdc_deleted_at" in parent.columns:
            loader._ensure_column(cur, table, "_sdc_deleted_at", "timestamp with time zone")
            cur.execute(
                sql.SQL(
                    "UPDATE {} AS c SET _sdc_deleted_at = p._sdc_deleted_at FROM {} AS p "
                    "WHERE {} AND p._sdc_deleted_at IS NOT NULL AND c._sdc_deleted_at IS NULL"
                ).format(table.target, parent.target, match)
            )
