"""A `nested: tables` batch loaded one table at a time, each table's rows COPYed while they are
made: PostgreSQL parses and inserts one chunk while the next is split, instead of waiting for
the whole batch to be split first (children.load's ordinary way: split everything, then COPY
each table while Python waits).

One connection holds one COPY at a time, and the parent, its children and the state row must
commit in one transaction; so the batch is walked once per table (the parent first), by a
splitter that makes that table's rows alone (nested_split's `only`), and each value is checked
in the walk of the table that holds it. The whole attempt runs inside a savepoint and is only a
head start: a value the checks or the server refuse, a key already in the table on a first
load, anything unusual, and it is rolled back and the batch is loaded the ordinary way, which
reports any error exactly as it always has (line, stream, field).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
import psycopg.errors
from psycopg import sql
from tapwell.sdk import nested
from tapwell.sdk.nested_split import Splitter, compile_splitter, last_of_each
from tapwell.sdk.target import Batch, RowEncoder, ValueRefused

from . import children, ddl
from .encode import copy_block
from .merge import STAGE, copy_layout, merge_staged

if TYPE_CHECKING:
    from .loader import PostgresLoader, Table

RECORDS_PER_CHUNK = 1000  # records split, then written to the open COPY, at a time
SAVEPOINT = "tapwell_nested"


def load(loader: PostgresLoader, cur: Any, batch: Batch, tables: nested.NestedStream) -> bool:
    """Load `batch` (dicts) into the stream's tables, each COPYed as its rows are made. False
    when it did not: nothing of it is left (rolled back), for the ordinary way to load it."""
    records = batch.records
    plan = tables.plan
    try:
        order = last_of_each(records, plan.key_properties)
    except TypeError:  # a key that is an object or array: the ordinary way names it
        return False
    parent = loader.tables[tables.spec.name]
    names = [t.name for t in plan.walk()]
    specs = children._specs(tables)
    targets = [loader.tables[specs[name].name] for name in names]
    if parent.unchanged or any(t.unchanged for t in targets):
        return False
    cleared = _before(loader, cur, batch, targets)
    lines = list(batch.lines) + [batch.first_line] * (len(records) - len(batch.lines))
    counts = [t.nul.count for t in targets]  # a second try must not count a NUL twice
    cur.execute(f"SAVEPOINT {SAVEPOINT}")
    try:
        ok = _load(loader, cur, batch, tables, order, lines, targets)
    except (ValueRefused, UnicodeEncodeError, psycopg.Error) as exc:
        ok = False
        if isinstance(exc, psycopg.errors.UniqueViolation) and _straight(parent):
            loader.stage_from_now(parent)  # a key already there: staged from now on
    if ok:
        cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
        return True
    cur.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
    cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
    for table, count in zip(targets, counts, strict=True):
        table.nul.count = count
    # the ordinary way clears them again: when it names a bad value the transaction rolls
    # back, and the load of the records before it must not believe them cleared already
    loader.overwritten.difference_update(cleared)
    return False


def _before(loader: PostgresLoader, cur: Any, batch: Batch, targets: list[Table]) -> set[str]:
    """What the ordinary way does first, done once before the savepoint (a rollback to it must
    not leave the loader believing a column or a cleared table is there when it is not).
    Returns the streams whose tables it cleared (overwrite's first delete)."""
    cleared = set()
    for table in targets:
        if batch.version is not None:
            loader._ensure_column(cur, table, "_sdc_table_version", "bigint")
        if table.how.load_method == "overwrite" and table.stream not in loader.overwritten:
            cur.execute(sql.SQL("DELETE FROM {}").format(table.target))
            loader.overwritten.add(table.stream)
            cleared.add(table.stream)
    return cleared


def _load(
    loader: PostgresLoader,
    cur: Any,
    batch: Batch,
    tables: nested.NestedStream,
    order: Any,
    lines: list[int],
    targets: list[Table],
) -> bool:
    records = batch.records
    plan = tables.plan
    load_id = uuid.uuid4().hex
    passes = _passes(loader, tables)
    if len(order) < len(records):  # a record another of its key replaces: checked too
        kept = set(order)
        gone = [i for i in range(len(records)) if i not in kept]
        children.splitter(loader, tables)(records, gone, lines, load_id, [_drop] * len(passes) * 2)
    parent = targets[0]
    job = _Job(records, order, lines, load_id, len(passes))
    keys = _parent_keys(records, order, plan.key_properties)
    if not (_straight(parent) or _plain(parent)):  # staged and merged: merge.load_batch
        part = Batch(tables.spec, first_line=batch.first_line, version=batch.version)
        part.encoder = RowEncoder(_made, layout=children._layout(loader, tables.spec))
        part.keys = keys
        for chunk in job.rows(passes[0], 0, part.lines):
            part.records.extend(chunk)
        loader._load_batch(cur, part)
        new_keys = False
    elif _straight(parent):
        _copy(cur, parent, batch, parent.target, job.rows(passes[0], 0))
        new_keys = parent.direct and not tables.json_columns  # see children._old_json_columns
    else:
        _copy(cur, parent, batch, parent.target, job.rows(passes[0], 0))
        new_keys = False
    replaced = parent.how.upsert and bool(parent.key_props) and bool(order) and not new_keys
    if replaced and tables.json_columns:  # a row loaded from now on holds NULL there
        children._clear(cur, parent, keys, tables.json_columns)
    for n, table in enumerate(targets[1:], start=1):
        if replaced:
            children._delete_children(cur, table, parent, keys, plan.source_columns)
        if _plain(table):
            _copy(cur, table, batch, table.target, job.rows(passes[n], n))
            continue
        # hard_delete with `_sdc_deleted_at`: staged, the rows of deleted parents left out
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(STAGE))
        cur.execute(
            sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(STAGE, table.target)
        )
        columns = _copy(cur, table, batch, STAGE, job.rows(passes[n], n))
        merge_staged(cur, table, columns, False, True)
    return True


class _Job:
    """The batch's records, walked once per table by that table's pass, a chunk at a time."""

    def __init__(self, records: list[Any], order: Any, lines: list[int], load_id: str, n: int):
        self.records, self.order, self.lines, self.load_id = records, order, lines, load_id
        self.sinks: list[Callable[[Any], Any]] = [_drop] * (2 * n)

    def rows(self, split: Splitter, n: int, kept_lines: list[int] | None = None) -> Any:
        """Table n's rows (COPY lines), a list per chunk of records; `kept_lines` gets the input
        line of each row."""
        rows: list[str] = []
        sinks = list(self.sinks)
        sinks[2 * n] = rows.append
        if kept_lines is not None:
            sinks[2 * n + 1] = kept_lines.append
        order = self.order
        for start in range(0, len(order), RECORDS_PER_CHUNK):
            split(
                self.records,
                order[start : start + RECORDS_PER_CHUNK],
                self.lines,
                self.load_id,
                sinks,
            )
            if rows:
                yield rows
                rows.clear()


def _copy(cur: Any, table: Table, batch: Batch, into: sql.Identifier, chunks: Any) -> list[str]:
    """COPY the rows of `chunks` into `into`, each chunk written as soon as it is made. Returns
    the COPY's columns."""
    part = Batch(batch.spec, first_line=batch.first_line, version=batch.version)
    columns, suffix = copy_layout(table, part)
    names = [c for _, c, _ in columns]
    sep = (suffix + "\n").encode("utf-8")
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(into, ddl.idents(names))
    with cur.copy(stmt) as copy:
        for rows in chunks:
            copy.write(copy_block(rows, sep))
    return names


def _straight(table: Table) -> bool:
    """A keyed upsert whose batch goes straight into the table while every key is new."""
    return children._copied_straight(table)


def _plain(table: Table) -> bool:
    """A table whose batch is one plain COPY into it: appended (a child table's rows, which
    replace the deleted old ones; a stream without keys), no row to leave out."""
    deletes = "_sdc_deleted_at" in table.props and table.how.hard_delete
    keyed = table.how.upsert and bool(table.key_props)
    return not keyed and not deletes and not table.unchanged


def _passes(loader: PostgresLoader, tables: nested.NestedStream) -> list[Splitter]:
    """One splitter per table (plan.walk() order), each making that table's rows alone; made
    once per SCHEMA, kept with the stream's full splitter."""
    cached = loader.passes.get(tables.spec.name)
    if cached is not None and cached[0] is tables:
        return cached[1]
    children.splitter(loader, tables)  # the makers' formatters, as the ordinary way has them
    specs = children._specs(tables)
    made = [
        compile_splitter(
            tables.plan,
            children._maker(loader, specs),
            bounded=children._bounded(loader, specs),
            record_check=True,
            stream=tables.spec.name,
            only=table,
        )
        for table in tables.plan.walk()
    ]
    loader.passes[tables.spec.name] = (tables, made)
    return made


def _parent_keys(records: list[dict[str, Any]], order: Any, keys: list[str]) -> list[Any]:
    """The key of each parent loaded (a value, or a tuple with several key properties)."""
    if not keys:
        return []
    if len(keys) == 1:
        one = keys[0]
        return [records[i].get(one) for i in order]
    return [tuple(records[i].get(k) for k in keys) for i in order]


def _drop(row: Any) -> None:
    """The sink of what a pass does not keep (each row's input line: the ordinary way reports
    errors)."""


def _made(record: dict[str, Any], line: int | None = None) -> Any:
    raise AssertionError("a nested table's rows are made by its pass")  # pragma: no cover
