"""Singer messages for tests that feed a target: the dicts, and the input a target reads (`lines`
as bytes, `text_lines` as str; a str or bytes message goes in as it is, for broken lines)."""

from __future__ import annotations

import json
from typing import Any


def schema(stream: str, props: dict[str, Any], keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": props},
        "key_properties": keys or [],
    }


def record(stream: str, rec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": rec, **extra}


def state(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def activate(stream: str, version: int, **extra: Any) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version, **extra}


def lines(*messages: Any) -> bytes:
    """Messages as input bytes: dicts as JSON, str and bytes as they are."""
    out = []
    for m in messages:
        raw = m if isinstance(m, bytes) else m.encode() if isinstance(m, str) else json.dumps(m)
        out.append(raw.encode() if isinstance(raw, str) else raw)
    return b"".join(line + b"\n" for line in out)


def text_lines(*messages: Any) -> str:
    """Messages as input text: dicts as JSON, str as it is."""
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
