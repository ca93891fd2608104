"""Each stream's schema, declared in the config (then discovery makes no request) or inferred from
its first `infer_records` records, and the catalog built from them. The catalog says which:
root metadata `tapwell-schema-source` is `declared` or `inferred`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from tapwell.sdk.tap_schema import draft7_schema
from tapwell.singer.catalog import catalog_entry, standard_metadata
from tapwell.singer.errors import DiscoveryError

from .client import Client
from .config import RestConfig, StreamConfig
from .sync_pages import context_values, pages
from .types import infer_object, start_value

SCHEMA_SOURCE = "tapwell-schema-source"


def parent_field_names(sc: StreamConfig) -> dict[str, str]:
    """{child property: parent field} for the parent fields copied into a child's records."""
    return {f"{sc.parent}_{f}": f for f in sc.parent_fields}


def sample_records(
    cfg: RestConfig, client: Client, sc: StreamConfig, limit: int, log: logging.Logger
) -> Iterator[dict[str, Any]]:
    """Up to `limit` records of the stream, as a sync from its start_value would read them first
    (for a child, read under the parent's first records)."""
    taken = 0
    start = start_value(sc.start_value)
    for parent in _parents(cfg, client, sc, limit, log):
        for page in pages(client, sc, context_values(sc, parent, start), log, quiet=True):
            for record in page.records:
                if parent is not None:
                    record = {
                        **record,
                        **{k: parent.get(f) for k, f in parent_field_names(sc).items()},
                    }
                yield record
                taken += 1
                if taken >= limit:
                    return


def _parents(
    cfg: RestConfig, client: Client, sc: StreamConfig, limit: int, log: logging.Logger
) -> Iterator[dict[str, Any] | None]:
    if sc.parent is None:
        yield None
        return
    yield from sample_records(cfg, client, cfg.stream(sc.parent), limit, log)


def stream_schema(
    cfg: RestConfig, client: Client, sc: StreamConfig, log: logging.Logger
) -> tuple[dict[str, Any], str]:
    """(schema, 'declared' or 'inferred')."""
    if sc.schema is not None:
        schema = dict(sc.schema)
        props = dict(schema.get("properties") or {})
        for name in parent_field_names(sc):
            props.setdefault(name, {})
        schema["properties"] = props
        return schema, "declared"
    sample = list(sample_records(cfg, client, sc, sc.infer_records, log))
    schema = infer_object(sample)
    schema["type"] = "object"
    props = schema["properties"]
    for key in (*sc.primary_key, *([sc.replication_key] if sc.replication_key else [])):
        if key not in props:
            raise DiscoveryError(
                f"stream {sc.name!r}: {key!r} (a key in the config) is in none of the first "
                f"{len(sample)} record(s); check primary_key / replication_key, or declare the "
                "stream's schema"
            )
    log.info(
        "stream %s: schema inferred from %d record(s) (declare `schema` to fix it yourself)",
        sc.name,
        len(sample),
    )
    return schema, "inferred"


def discover(cfg: RestConfig, client: Client, log: logging.Logger) -> dict[str, Any]:
    entries = []
    for sc in cfg.streams:
        schema, source = stream_schema(cfg, client, sc, log)
        schema = draft7_schema(schema)
        root: dict[str, Any] = {SCHEMA_SOURCE: source}
        if sc.parent:
            root["parent-tap-stream-id"] = sc.parent
        # the config decides the replication, so the catalog says it as singer-sdk taps do
        method = "INCREMENTAL" if sc.replication_key else "FULL_TABLE"
        if sc.replication_key:
            root["replication-key"] = sc.replication_key
        md = standard_metadata(
            schema,
            key_properties=sc.primary_key,
            valid_replication_keys=[sc.replication_key] if sc.replication_key else (),
            forced_replication_method=method,
            root_extra=root,
        )
        entries.append(
            catalog_entry(
                sc.name,
                schema,
                md,
                key_properties=sc.primary_key,
                replication_method=method,
                replication_key=sc.replication_key,
            )
        )
    return {"streams": entries}
