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
