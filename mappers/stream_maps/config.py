"""mapper-stream-maps' settings, declared once: what the mapper reads, what `--about` prints and
the README's table lists (tapwell.sdk.settings). singer-sdk's own names, so a Meltano mapper
config works unchanged; the maps themselves are checked by maps.read_config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tapwell.sdk.settings import Settings, setting

__all__ = ["SETTINGS", "MapperSettings"]


@dataclass(frozen=True, kw_only=True)
class MapperSettings:
    stream_maps: dict[str, Any] = setting(
        {},
        type="object",
        help="singer-sdk stream maps: stream name (or glob) -> {property: expression or null, "
        "__alias__, __filter__, __source__, __else__, __key_properties__}, or null to drop it; "
        "__else__: null at the top drops every unmapped stream",
    )
    stream_map_config: dict[str, Any] = setting(
        {},
        type="object",
        help="Values expressions read as config['...']; its hash_key is the secret key of "
        "hmac_sha256() (masked in every log line and error)",
        schema={
            "properties": {
                "hash_key": {"type": "string", "secret": True, "writeOnly": True},
            }
        },
    )


SETTINGS = Settings(MapperSettings)
