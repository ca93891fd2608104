"""The secrets of a run: every value tapwell.singer.config finds in its configs (values under secret
keys, URL and DSN passwords and the pieces of them a driver quotes), for every config at once."""

from __future__ import annotations

import os
from typing import Any

from tapwell.singer.config import secret_values


def secrets_of(*configs: Any) -> list[str]:
    """Values never to print from these configs, longest first."""
    found: list[str] = []
    for config in configs:
        if isinstance(config, dict):
            found += secret_values(config)
    return sorted(set(found), key=len, reverse=True)


def state_store_secrets(state_config: dict[str, Any]) -> list[str]:
    """The state backend's DSN secrets (tapwell.yml's `state:` and TAPWELL_STATE_DSN)."""
    return secrets_of(state_config, {"dsn": os.environ.get("TAPWELL_STATE_DSN") or ""})
