"""`--verify` for destinations that load nested documents as tables (`nested: tables` in
target-postgres and target-duckdb, or any target naming them the same way): a property missing
from the stream's table is looked for as flattened columns `prop__sub` and as a child table
`<table>__<prop>` keyed by `_sdc_source_key_<key>` and ordered by `_sdc_level_N_id`, and the
document is put back together to compare with what was sent.

Its own copy of the naming rules, on purpose (as the checker's name rules are): it is an oracle
for tapwell.sdk.nested, not a user of it. Once reassembled, a document is compared in the one
form both sides can take (`canonical`): a null or missing object is its properties all null, a
null or missing array is [], each leaf as `tapwell.sdk.check.verify.normal` makes it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from tapwell.singer.schema import property_types
from tapwell.singer.wire import loads

Normal = Callable[[dict[str, Any], Any], Any]
SEP = "__"


def _kind(prop: dict[str, Any]) -> str:
    kinds = set(property_types(prop)) - {"null"}
    if kinds == {"object"} and prop.get("properties"):
        return "object"
    items = prop.get("items")
    structured = isinstance(items, dict) and set(property_types(items)) & {"object", "array"}
    if kinds == {"array"} and isinstance(items, dict) and items.get("type"):
        return "array" if not structured or _kind(items) == "object" else "leaf"
    return "leaf"


def canonical(prop: dict[str, Any], value: Any, normal: Normal) -> Any:
    """`value` as the tables can give it back (see the module docstring)."""
    kind = _kind(prop)
    if kind != "leaf" and isinstance(value, str | bytes):
        value = loads(value)  # kept as JSON past the target's depth
    if kind == "object":
        src = value if isinstance(value, dict) else {}
        return {p: canonical(sub, src.get(p), normal) for p, sub in prop["properties"].items()}
    if kind == "array":
        return [canonical(prop["items"], e, normal) for e in (value or [])]
    return normal(prop, value)


class Reassembler:
    """Reads a stream's child tables (once each) and rebuilds a row's nested properties."""

    def __init__(self, dest: Any, stream: str, keys: list[str], normal: Normal) -> None:
        self.dest, self.stream, self.keys, self.normal = dest, stream, keys, normal
        self.children: dict[str, dict[tuple[Any, ...], list[dict[str, Any]]] | None] = {}

    def nested(self, prop: dict[str, Any], name: str, columns: list[str]) -> bool:
        """Whether the destination holds property `name` as columns or a child table."""
        kind = _kind(prop)
        if kind == "object":
            return any(c.startswith(name + SEP) for c in columns)
        return kind == "array" and self._child(self.stream + SEP + name) is not None

    def value(self, row: dict[str, Any], name: str, prop: dict[str, Any]) -> Any:
        """Property `name` of a parent row, reassembled and in canonical form."""
        key = tuple(self.normal({}, row.get(self.dest.column(k))) for k in self.keys)
        return self._value(row, (name,), prop, self.stream, key)

    def _value(
        self,
        row: dict[str, Any],
        path: tuple[str, ...],
        prop: dict[str, Any],
        table: str,
        at: tuple[Any, ...],
    ) -> Any:
        column = self.dest.column(SEP.join(path))
        if column in row:  # a leaf, or JSON kept past the target's depth
            return canonical(prop, row[column], self.normal)
        kind = _kind(prop)
        if kind == "object":
            return {
                p: self._value(row, path + (p,), sub, table, at)
                for p, sub in prop["properties"].items()
            }
        if kind != "array":
            return canonical(prop, None, self.normal)
        child = table + SEP + SEP.join(path)
        out = []
        for position, element in enumerate((self._child(child) or {}).get(at, [])):
            if _kind(prop["items"]) == "object":
                out.append(
                    {
                        p: self._value(element, (p,), sub, child, at + (position,))
                        for p, sub in prop["items"]["properties"].items()
                    }
                )
            else:
                out.append(canonical(prop["items"], element.get("value"), self.normal))
        return out

    def _child(self, table: str) -> dict[tuple[Any, ...], list[dict[str, Any]]] | None:
        """A child table's rows grouped by parent (source keys, then the parent's levels), each
        group in element order; None when there is no such table."""
        if table not in self.children:
            got = self.dest.rows(table)
            if got is None:
                self.children[table] = None
            else:
                grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
                sources = [self.dest.column("_sdc_source_key_" + k) for k in self.keys]
                for row in got[1]:
                    levels = sorted(c for c in row if c.startswith("_sdc_level_"))
                    parent = tuple(self.normal({}, row.get(s)) for s in sources)
                    grouped[parent + tuple(row[c] for c in levels[:-1])].append(row)
                for group in grouped.values():
                    group.sort(key=lambda r: r[max(c for c in r if c.startswith("_sdc_level_"))])
                self.children[table] = grouped
        return self.children[table]
