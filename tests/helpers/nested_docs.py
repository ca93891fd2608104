"""Order documents for the `nested: tables` tests of target-postgres and target-duckdb, and their
reassembly from the tables: the parent table, its flattened `a__b` columns and the child tables
keyed by `_sdc_source_key_<key>` and `_sdc_level_N_id` are put back into documents, compared
with the source documents in the one form both can take (see `canonical`)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

NUM = {"type": ["number", "null"], "multipleOf": 0.01, "maximum": 10**9}
ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "note": {"type": ["string", "null"]},
        "placed_at": {"type": ["string", "null"], "format": "date-time"},
        "address": {
            "type": ["object", "null"],
            "properties": {
                "city": {"type": ["string", "null"]},
                "geo": {
                    "type": ["object", "null"],
                    "properties": {
                        "lat": {"type": ["number", "null"]},
                        "lon": {"type": ["number", "null"]},
                    },
                },
            },
        },
        "items": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": ["string", "null"]},
                    "qty": {"type": ["integer", "null"], "maximum": 18446744073709551615},
                    "price": NUM,
                    "discounts": {
                        "type": ["array", "null"],
                        "items": {
                            "type": "object",
                            "properties": {"code": {"type": ["string", "null"]}, "amount": NUM},
                        },
                    },
                },
            },
        },
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "meta": {"type": ["object", "null"]},
    },
}
TABLES = ["orders", "orders__items", "orders__items__discounts", "orders__tags"]


def order(n: int, grow: int = 0) -> dict[str, Any]:
    """Order `n`: 0-4 items (more with `grow`), some with discounts, tags, an address."""
    items = []
    for i in range((n % 5) + grow):
        item: dict[str, Any] = {
            "sku": f"S{n}-{i}",
            "qty": 18446744073709551615 if i == 2 else i + 1,
        }
        if i != 1:  # an element with a missing property
            item["price"] = Decimal(f"{n}.{i:02d}")
        if i == 0:
            item["discounts"] = [
                {"code": "", "amount": Decimal("0.10")},
                {"code": "😀", "amount": None},
            ]
        items.append(item)
    doc: dict[str, Any] = {
        "id": n,
        "note": "" if n % 3 == 0 else f"order {n} 😀",
        "placed_at": f"2026-01-0{1 + n % 9}T10:00:00.{n:06d}+02:00",
        "items": items if n % 7 else None,
        "tags": [f"t{j}" for j in range(n % 3)],
        "meta": {"n": n, "deep": [1, {"x": None}]},
    }
    if n % 4:
        doc["address"] = {"city": "Lyon", "geo": {"lat": Decimal("45.75"), "lon": Decimal("4.5")}}
    return doc


def _kind(schema: dict[str, Any]) -> str:
    types = schema.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    if "object" in types and schema.get("properties"):
        return "object"
    if "array" in types and isinstance(schema.get("items"), dict):
        return "array"
    return "json" if types & {"object", "array"} or not types else "leaf"


def canonical(doc: Any, schema: dict[str, Any] = ORDER_SCHEMA) -> Any:
    """The document as the tables can give it back: a missing or null object is its properties
    all null, a missing or null array is [], a timestamp is its instant, a missing property null."""
    kind = _kind(schema)
    if kind == "object":
        src = doc if isinstance(doc, dict) else {}
        return {p: canonical(src.get(p), s) for p, s in schema["properties"].items()}
    if kind == "array":
        return [canonical(e, schema["items"]) for e in (doc or [])]
    if doc is not None and schema.get("format") == "date-time":
        return datetime.fromisoformat(doc)
    return doc


def reassemble(
    tables: dict[str, list[dict[str, Any]]], key: str = "id", schema: dict[str, Any] = ORDER_SCHEMA
) -> dict[Any, Any]:
    """key -> document, read back from the rows of each table (column -> value)."""
    children: dict[str, dict[tuple[Any, ...], list[dict[str, Any]]]] = {}
    for name, rows in tables.items():
        grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        if not name.count("__"):
            continue  # the root table
        for row in rows:
            levels = sorted(c for c in row if c.startswith("_sdc_level_"))
            grouped[(row[f"_sdc_source_key_{key}"], *[row[c] for c in levels[:-1]])].append(row)
        for group in grouped.values():
            group.sort(key=lambda r: r[max(c for c in r if c.startswith("_sdc_level_"))])
        children[name] = grouped
    root = next(iter(tables))
    return {row[key]: _object(row, (), schema, root, (row[key],), children) for row in tables[root]}


def _object(
    row: dict[str, Any],
    prefix: tuple[str, ...],
    schema: dict[str, Any],
    table: str,
    at: tuple[Any, ...],
    children: dict[str, Any],
) -> dict[str, Any]:
    out = {}
    for prop, sub in schema["properties"].items():
        path = prefix + (prop,)
        kind = _kind(sub)
        if kind == "object":
            out[prop] = _object(row, path, sub, table, at, children)
        elif kind == "array":
            name = table + "__" + "__".join(path)
            elements = []
            for position, child in enumerate(children.get(name, {}).get(at, [])):
                assert child[f"_sdc_level_{len(at) - 1}_id"] == position
                if _kind(sub["items"]) == "object":
                    elements.append(
                        _object(child, (), sub["items"], name, at + (position,), children)
                    )
                else:
                    elements.append(_value(child["value"], "leaf"))
            out[prop] = elements
        else:
            out[prop] = _value(row.get("__".join(path)), kind)
    return out


def _value(value: Any, kind: str) -> Any:
    if kind == "json" and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value
