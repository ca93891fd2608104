"""The secrets of a run: every value tapwell.singer.config finds in its configs (values under secret
keys, URL and DSN passwords and the pieces of them a driver quotes) and the values of the
secret-named `${VAR}`s its connectors' configs use, for every config at once."""

from __future__ import annotations

import os
from typing import Any, Protocol

from tapwell.singer.config import secret_values


class Configured(Protocol):
    """A connector of tapwell.runner.project (not imported: it imports the state store, which
    masks with this module): its config, resolved, and its secret-named `${VAR}`s' values."""

    config: dict[str, Any]
    env_secrets: list[str]


def secrets_of(*configs: Configured | dict[str, Any] | Any) -> list[str]:
    """Values never to print from these connectors (their config and `${VAR}` secrets) and
    configs, longest first."""
    found: list[str] = []
    for config in configs:
        if isinstance(config, dict):
            found += secret_values(config)
        elif isinstance(getattr(config, "config", None), dict):
            found += secret_values(config.config, getattr(config, "env_secrets", ()))
    return sorted(set(found), key=len, reverse=True)


def state_store_secrets(state_config: dict[str, Any]) -> list[str]:
    """The state backend's DSN secrets (tapwell.yml's `state:` and TAPWELL_STATE_DSN)."""
    return secrets_of(state_config, {"dsn": os.environ.get("TAPWELL_STATE_DSN") or ""})


def integration_secrets(project: Any, integration: Any) -> list[str]:
    """Every value one run of `integration` (of tapwell.runner.project's `project`) never prints,
    longest first: its connectors' (tap, mappers, targets), its state backend's, and what
    tapwell.yml places in its `notify:` and `state:` from the environment (Project.place_secrets)."""
    found = secrets_of(
        integration.tap, *(t.connector for t in integration.targets), *integration.mappers
    )
    found += state_store_secrets(project.state_config_for(integration.name))
    found += secret_values({}, project.place_secrets(integration.name))
    return sorted(set(found), key=len, reverse=True)
