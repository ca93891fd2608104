"""target-jsonl's settings, declared once: what the loader reads, what `--about` prints and the
README's table lists (tapwell.sdk.settings)."""

from __future__ import annotations

from dataclasses import dataclass

from tapwell.sdk.settings import Settings, setting
from tapwell.sdk.target_settings import LoopSettings

__all__ = ["SETTINGS", "JsonlConfig"]


@dataclass(frozen=True, kw_only=True)
class JsonlConfig(LoopSettings):
    destination_path: str = setting(
        "output", aliases=("path",), help="Folder for the <stream>.jsonl files"
    )


SETTINGS = Settings(JsonlConfig)
