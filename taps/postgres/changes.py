"""pgoutput changes -> records of a LOG_BASED stream: each Relation message gives the columns
(and their converters) of the rows that follow, so a new or altered column reaches the target as
a new SCHEMA before the first record that has it.

Unchanged TOASTed values (pgoutput does not resend them) are taken from the old row when
REPLICA IDENTITY FULL sends one; otherwise they are left out of the record and named in its
`_sdc_unchanged` list, so a target that knows it keeps the stored value (README)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tapwell.singer.errors import SyncError

from .nulled import Tally
from .pgoutput import UNCHANGED, Relation, Tuple
from .sync_common import DELETED_AT, StreamPlan
from .types import Column, PgType, catalog_typed, json_schema, text_converter

UNCHANGED_LIST = "_sdc_unchanged"
UNCHANGED_SCHEMA = {"type": ["null", "array"], "items": {"type": "string"}}

# How a column's JSON type may change mid-stream: to the same type, to a wider one, or to text.
_WIDER = {
    "integer": {"integer", "number", "string"},
    "number": {"number", "string"},
    "boolean": {"boolean", "string"},
    "string": {"string"},
    "array": {"array", "string"},
    "object": {"object", "string"},
}


@dataclass
class RelationPlan:
    """The columns of one relation as its latest Relation message gives them."""

    sp: StreamPlan
    names: list[str] = field(default_factory=list)
    keep: list[bool] = field(default_factory=list)  # emitted (selected, or new since discovery)
    convert: list[Callable[[str], Any]] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # selected but not sent (generated columns)

    def record(
        self, values: Tuple, old: Tuple | None = None, old_is_key: bool = False
    ) -> dict[str, Any]:
        """A new row's record. An unchanged TOASTed value is taken from `old` (the whole old row,
        or with `old_is_key` only its key: the old key is sent when a key value is TOASTed)."""
        out: dict[str, Any] = {}
        unchanged = []
        keys = self.sp.key_properties if old_is_key else None
        for i, raw in enumerate(values):
            if not self.keep[i]:
                continue
            name = self.names[i]
            if raw is UNCHANGED:
                prior = UNCHANGED
                if old is not None and i < len(old) and (keys is None or name in keys):
                    prior = old[i]
                if prior is UNCHANGED:
                    unchanged.append(name)
                    continue
                raw = prior
            out[name] = None if raw is None else self.convert[i](raw)  # type: ignore[arg-type]
        if unchanged:
            out[UNCHANGED_LIST] = unchanged
        return out

    def key_record(self, old: Tuple, only_keys: bool) -> dict[str, Any]:
        """A deleted row's record: its key (or whole old row) from the old tuple."""
        out: dict[str, Any] = {}
        keys = set(self.sp.key_properties)
        for i, raw in enumerate(old):
            name = self.names[i]
            if not self.keep[i] or (only_keys and name not in keys) or raw is UNCHANGED:
                continue
            out[name] = None if raw is None else self.convert[i](raw)  # type: ignore[arg-type]
        return out


def apply_relation(
    sp: StreamPlan,
    msg: Relation,
    resolve: Callable[[int, int], PgType],
    selected: set[str],
    tally: Tally | None = None,
) -> tuple[RelationPlan, bool]:
    """The plan for the rows after `msg`, and whether the stream's SCHEMA changed (the caller
    then writes it). A narrowing change (text to integer, ...) stops the sync. `tally` counts
    the values sent as null (NaN, infinity, ...)."""
    plan = RelationPlan(sp)
    declared = sp.entry.schema.get("properties") or {}
    known = set(declared)  # columns the catalog knows
    props = dict(sp.schema["properties"])
    changed = False
    dims = {c.name: c.type for c in sp.table.columns if c.type.element is not None}
    for col in msg.columns:
        pgtype = with_dims(resolve(col.type_oid, col.typmod), dims.get(col.name))
        keep = col.name in selected or col.name in sp.key_properties or col.name not in known
        plan.names.append(col.name)
        plan.keep.append(keep)
        table = f"{sp.table.schema}.{sp.table.name}"
        nulled = tally.counter(table, Column(col.name, pgtype)) if tally else None
        plan.convert.append(text_converter(pgtype, nulled))
        if not keep:
            continue
        new = _sent_schema(Column(col.name, pgtype), declared.get(col.name))
        old = props.get(col.name)
        if old is None:
            props[col.name] = new
            changed = True
        elif old != new:  # a new type, or new bounds (numeric(10,3) to numeric(20,5), ...)
            check_narrowing(sp.tap_stream_id, col.name, pgtype.sql or pgtype.name, old, new)
            props[col.name] = new
            changed = True
    sent = {c.name for c in msg.columns}
    plan.absent = [
        n for n in selected if n not in sent and any(c.name == n for c in sp.table.columns)
    ]
    if changed:
        sp.schema = {**sp.schema, "properties": props}
    return plan, changed


def _sent_schema(column: Column, declared: dict[str, Any] | None) -> dict[str, Any]:
    """A column's property after a Relation message: the catalog's type while the values still
    fit it (as at the start, sync.column_schema), else the column's own (check_narrowing then
    decides whether the destination can hold the change)."""
    live = json_schema(column)
    return (catalog_typed(live, declared) if declared else None) or live


def with_dims(pgtype: PgType, known: PgType | None) -> PgType:
    """A Relation message names an array's type, not its declared dimensions: those of the
    column discovery saw, while its element type is the same."""
    if pgtype.element is None or known is None or known.element is None:
        return pgtype
    if known.element.name != pgtype.element.name or known.dims == pgtype.dims:
        return pgtype
    return replace(pgtype, dims=known.dims)


def check_narrowing(
    sid: str, column: str, sqltype: str, old: dict[str, Any], new: dict[str, Any]
) -> None:
    """A column whose values its destination column (typed from `old`) cannot hold any more
    stops the sync: loading on would fail later, or lose values."""
    if _types(old) != _types(new) and not _widens(old, new):
        raise SyncError(
            f"stream {sid!r}: column {column!r} changed type to {sqltype}, which its destination "
            f"column cannot hold ({'/'.join(_types(old))} to {'/'.join(_types(new))}); resync the "
            f"stream: remove bookmarks.{sid} from the state (its table is copied again)"
        )


def _types(prop: dict[str, Any]) -> list[str]:
    kinds = prop.get("type") or []
    return sorted(k for k in ([kinds] if isinstance(kinds, str) else kinds) if k != "null")


def _widens(old: dict[str, Any], new: dict[str, Any]) -> bool:
    before, after = _types(old), _types(new)
    if len(before) != 1 or len(after) != 1:
        return len(after) > len(before)
    return after[0] in _WIDER.get(before[0], set())


def ensure_unchanged_property(sp: StreamPlan) -> bool:
    """Add `_sdc_unchanged` to the stream's schema (once); True when it was added."""
    if UNCHANGED_LIST in sp.schema["properties"]:
        return False
    sp.schema = {
        **sp.schema,
        "properties": {**sp.schema["properties"], UNCHANGED_LIST: UNCHANGED_SCHEMA},
    }
    return True


__all__ = ["DELETED_AT", "RelationPlan", "apply_relation", "ensure_unchanged_property"]
