"""Stream selection in a catalog that a tap's --discover printed: the benchmark table selected
FULL_TABLE with every column, every other stream deselected. Works on the plain Singer catalog
shape, so the same code serves PipelineWise, the Meltano SDK and tapwell."""

from __future__ import annotations

from typing import Any


class SelectionError(Exception):
    """The discovered catalog does not contain the benchmark table exactly once."""


def _root_metadata(stream: dict[str, Any]) -> dict[str, Any]:
    for entry in stream.setdefault("metadata", []):
        if list(entry.get("breadcrumb") or []) == []:
            return entry.setdefault("metadata", {})
    entry = {"breadcrumb": [], "metadata": {}}
    stream["metadata"].append(entry)
    return entry["metadata"]


def _is_table(stream: dict[str, Any], database: str, table: str) -> bool:
    meta = _root_metadata(stream)
    names = {stream.get("table_name"), stream.get("stream")}
    tap_id = str(stream.get("tap_stream_id") or "")
    db = meta.get("database-name") or meta.get("schema-name") or stream.get("database_name")
    if db is None and "-" in tap_id:
        db = tap_id.split("-", 1)[0]
    return (table in names or tap_id.endswith(f"-{table}")) and db == database


def select_full_table(catalog: dict[str, Any], database: str, table: str) -> dict[str, Any]:
    """Return `catalog` with only `database`.`table` selected, FULL_TABLE, all columns."""
    streams = catalog.get("streams") or []
    matches = [s for s in streams if _is_table(s, database, table)]
    if len(matches) != 1:
        found = ", ".join(str(s.get("tap_stream_id")) for s in streams) or "no streams"
        raise SelectionError(
            f"expected one stream for {database}.{table} in the discovered catalog, found: {found}"
        )
    for stream in streams:
        chosen = stream is matches[0]
        meta = _root_metadata(stream)
        meta["selected"] = chosen
        if not chosen:
            continue
        meta["replication-method"] = "FULL_TABLE"
        stream["replication_method"] = "FULL_TABLE"
        for entry in stream["metadata"]:
            if list(entry.get("breadcrumb") or []) != []:
                entry.setdefault("metadata", {})["selected"] = True
    return catalog
