"""tapwell.yml's keys for `tapwell serve`: per integration `timezone:` (of its cron schedule),
`after: [other, ...]` (run when each of them has succeeded since this one's last run) and
`catchup:` (run once at start when a scheduled time passed while serve was down); at the top,
`serve: {max_parallel_runs, shutdown_grace_seconds}`. Checked when the project is loaded, so
`tapwell run` and `tapwell serve` refuse the same mistakes with the same line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from tapwell.singer.errors import ConfigError


@dataclass(frozen=True)
class ServeSettings:
    max_parallel_runs: int
    shutdown_grace_seconds: float


def serve_settings(raw: dict[str, Any]) -> ServeSettings:
    """The `serve:` block with its defaults: as many parallel runs as cores, 60 s grace."""
    given = raw.get("serve") or {}
    return ServeSettings(
        int(given.get("max_parallel_runs") or os.cpu_count() or 1),
        float(given.get("shutdown_grace_seconds", 60)),
    )


def after_of(raw: dict[str, Any]) -> dict[str, list[str]]:
    """Each integration's `after:` list (empty for none)."""
    return {
        name: [str(x) for x in (body or {}).get("after") or []]
        for name, body in (raw.get("integrations") or {}).items()
    }


def check_triggers(raw: dict[str, Any], source: str = "tapwell.yml") -> None:
    """Raise ConfigError for an `after:` naming an unknown integration, a cycle of `after:`
    (named: a -> b -> a), or a `timezone:` the time zone database does not know."""
    integrations = raw.get("integrations") or {}
    for name, body in integrations.items():
        tz = (body or {}).get("timezone")
        if tz is not None:
            import zoneinfo  # only a project with a time zone pays its import

            try:
                zoneinfo.ZoneInfo(str(tz))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"{source}: integrations.{name}.timezone {tz!r} is not a time zone: use an "
                    "IANA name such as UTC, Europe/Paris or America/New_York"
                ) from None
    graph = after_of(raw)
    for name, needs in graph.items():
        for other in needs:
            if other not in integrations:
                known = ", ".join(sorted(integrations))
                raise ConfigError(
                    f"{source}: integrations.{name}.after names {other!r}, which is not an "
                    f"integration (known: {known})"
                )
    cycle = find_cycle(graph)
    if cycle:
        raise ConfigError(
            f"{source}: after: forms a cycle {' -> '.join(cycle)}: none of them would ever run; "
            "remove one of these after: entries"
        )


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle of the graph as [a, b, ..., a], or None (depth-first search, in name order)."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, [])):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None
