"""Per-stream load settings of tapwell.yml (`streams: {NAME: {load_method, hard_delete}}`), as
our targets take them, and the warning for a stream whose table will grow without bound.

A FULL_TABLE stream sends every row on every run. Without key properties (or with
`load_method: append-only`) the target appends them, and at the end of the run ACTIVATE_VERSION
only *marks* the previous run's rows deleted (`_sdc_deleted_at`): the table grows by the whole
source table each run. `load_method: overwrite` (replace the rows in the run's first batch) or
`hard_delete: true` (delete the old version's rows) keep it at the source's size.

The settings go to target-postgres and target-duckdb as their config key
`stream_settings: {"<stream>": {"load_method": ..., "hard_delete": ...}}`, under both the
tap_stream_id and the stream name of every catalog stream a `streams:` key matches (taps send
either in their messages), so a glob key (`audit_*`) works as it does for the other settings.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from tapwell.singer.catalog import Catalog
from tapwell.singer.errors import ConfigError

LOAD_KEYS = ("load_method", "hard_delete")
_GLOB = set("*?[")


def _names(entry: dict[str, Any]) -> list[str]:
    first = str(entry.get("tap_stream_id") or entry.get("stream"))
    second = str(entry.get("stream") or entry.get("tap_stream_id"))
    return [first] if first == second else [first, second]


def wanted(overrides: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The `streams:` keys that set a load setting, with only those settings."""
    out = {}
    for key, override in overrides.items():
        settings = {k: (override or {})[k] for k in LOAD_KEYS if k in (override or {})}
        if settings:
            out[key] = settings
    return out


def stream_settings(
    catalog: dict[str, Any] | None, overrides: dict[str, dict[str, Any]], integration: str
) -> dict[str, dict[str, Any]]:
    """The target config's `stream_settings` for tapwell.yml's `streams:` (later keys win).
    Without a catalog only literal stream names can be passed on; a glob needs one."""
    out: dict[str, dict[str, Any]] = {}
    for key, settings in wanted(overrides).items():
        if catalog is None:
            if _GLOB & set(key):
                raise ConfigError(
                    f"integrations.{integration}.streams.{key}: a pattern needs the catalog to "
                    f"name its streams: run `tapwell discover {integration}` first"
                )
            out.setdefault(key, {}).update(settings)
            continue
        for entry in catalog.get("streams") or []:
            names = _names(entry)
            if any(fnmatch.fnmatchcase(n, key) for n in names):
                for n in names:
                    out.setdefault(n, {}).update(settings)
    return out


def growth_warnings(
    catalog: dict[str, Any],
    overrides: dict[str, dict[str, Any]],
    defaults: dict[str, Any],
    integration: str,
) -> list[str]:
    """One line per selected FULL_TABLE stream whose table grows by the whole source table each
    run, naming the tapwell.yml setting that stops it. `defaults` are the target's own
    `load_method` / `hard_delete` (they apply where no `streams:` key says otherwise)."""
    per_stream = stream_settings(catalog, overrides, integration)
    lines = []
    for entry in Catalog(catalog).selected():
        if entry.replication_method != "FULL_TABLE":
            continue
        settings = {**defaults, **per_stream.get(entry.tap_stream_id, {})}
        method = settings.get("load_method") or "upsert"
        if method == "overwrite" or settings.get("hard_delete") is True:
            continue
        if entry.key_properties and method != "append-only":
            continue
        why = (
            "without key properties" if not entry.key_properties else "with load_method append-only"
        )
        name = entry.tap_stream_id
        lines.append(
            f"warning: stream {name!r} is FULL_TABLE {why}: every run appends all its rows again "
            f"and only marks the previous ones deleted, so its table grows without bound; set "
            f"`streams: {{{name}: {{load_method: overwrite}}}}` (or `hard_delete: true`) under "
            f"integrations.{integration} in tapwell.yml"
        )
    return lines
