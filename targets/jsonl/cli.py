"""target-jsonl's command line."""

from __future__ import annotations

from tapwell.sdk.target_cli import target_command

from .config import SETTINGS
from .loader import JsonlLoader

main = target_command(
    "target-jsonl",
    JsonlLoader,
    description="Write Singer streams to one JSON-lines file per stream, fsynced before STATE is printed.",
    settings=SETTINGS,
)
