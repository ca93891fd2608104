"""The functions a map expression may call: singer-sdk's set (simpleeval's defaults, md5, sha256,
bool, the datetime and json modules) and the keyed `hmac_sha256`."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import simpleeval


def md5(string: str) -> str:
    """singer-sdk's md5: the hex digest of the string's UTF-8 bytes."""
    return hashlib.md5(string.encode("utf-8")).hexdigest()  # noqa: S324 (a fingerprint, not security)


def sha256(string: str) -> str:
    """singer-sdk's sha256: the hex digest of the string's UTF-8 bytes."""
    return hashlib.sha256(string.encode("utf-8")).hexdigest()


def keyed_hmac(key: bytes | None) -> Callable[[Any], str | None]:
    """`hmac_sha256(value)`: HMAC-SHA256 (RFC 2104) of the value's UTF-8 text under
    `stream_map_config.hash_key`, lowercase hex. An unsalted hash of an e-mail address is undone
    by hashing a list of addresses; without the key that list is useless. A null stays null
    (there is nothing to hide, and a target's nullable column keeps its meaning)."""

    def hmac_sha256(value: Any) -> str | None:
        if key is None:
            raise ValueError("hmac_sha256 needs stream_map_config.hash_key")
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        return hmac.digest(key, text.encode("utf-8"), "sha256").hex()

    return hmac_sha256


HASHES = ("md5", "sha256", "hmac_sha256")


def functions(hash_key: str | None) -> dict[str, Any]:
    """The names an expression may call, as singer-sdk gives them, plus hmac_sha256."""
    funcs: dict[str, Any] = dict(simpleeval.DEFAULT_FUNCTIONS)
    funcs["md5"] = md5
    funcs["sha256"] = sha256
    funcs["hmac_sha256"] = keyed_hmac(hash_key.encode("utf-8") if hash_key is not None else None)
    funcs["datetime"] = simpleeval.ModuleWrapper(datetime)
    funcs["bool"] = bool
    funcs["json"] = simpleeval.ModuleWrapper(json)
    return funcs
