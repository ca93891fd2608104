"""The secrets of a run: everything tapwell.config finds in its configs, plus the pieces of a
URL/DSN password that libpq quotes when it cannot parse the URL.

libpq splits an unencoded password at `/`, `@`, `:`, `?` or `#` and names what it choked on,
`%` included (`invalid percent-encoded token: "Sup%er"`, `invalid integer value "Sup" for
connection option "port"`), so the password's runs between those characters and its prefixes
up to each of them are secrets too (3 characters or more, the shortest redact() masks).
"""

from __future__ import annotations

import os
import re
from typing import Any

from tapwell.config import secret_values, url_password

_SPLIT = re.compile(r"[/@:?#]")


def libpq_pieces(password: str) -> list[str]:
    """Runs of the password between `/ @ : ? #` and its prefixes up to each of them."""
    pieces = [p for p in _SPLIT.split(password) if len(p) >= 3]
    pieces += [password[: m.start()] for m in _SPLIT.finditer(password) if m.start() >= 3]
    return pieces


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def secrets_of(*configs: Any) -> list[str]:
    """Values never to print from these configs, longest first."""
    found: list[str] = []
    for config in configs:
        if not isinstance(config, dict):
            continue
        found += secret_values(config)
        for text in _strings(config):
            password = url_password(text)
            if password:
                found += libpq_pieces(password)
    return sorted(set(found), key=len, reverse=True)


def state_store_secrets(state_config: dict[str, Any]) -> list[str]:
    """The state backend's DSN secrets (tapwell.yml's `state:` and TAPWELL_STATE_DSN)."""
    return secrets_of(state_config, {"dsn": os.environ.get("TAPWELL_STATE_DSN") or ""})
