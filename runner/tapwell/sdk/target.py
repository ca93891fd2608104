"""The loop every tapwell target shares, under the name targets import it from.

A target is a `Loader` (create/evolve tables, load a batch and commit it atomically, apply
ACTIVATE_VERSION) plus `TargetLoop`, which prints a STATE line only when every record before it
has been committed. The code lives in tapwell.sdk.target_loop (the loop) and tapwell.sdk.target_types
(the types); this module re-exports them. `target_command` moved to tapwell.sdk.target_cli: the old
`from tapwell.sdk.target import target_command` still works, with a DeprecationWarning, until 0.3.
"""

from __future__ import annotations

import warnings
from typing import Any

from tapwell.sdk.target_loop import METADATA_COLUMNS, TargetLoop
from tapwell.sdk.target_types import (
    Batch,
    Block,
    Limits,
    Loader,
    RowEncoder,
    StreamSpec,
    ValueRefused,
)

__all__ = [
    "METADATA_COLUMNS",
    "Batch",
    "Block",
    "Limits",
    "Loader",
    "RowEncoder",
    "StreamSpec",
    "TargetLoop",
    "ValueRefused",
]


def __getattr__(name: str) -> Any:
    """`tapwell.sdk.target.target_command`, where targets written before tapwell.sdk.target_cli (and
    repos made by an older `tapwell new target`) import it from: deprecated, removed in 0.3."""
    if name == "target_command":
        warnings.warn(
            "tapwell.sdk.target.target_command is deprecated and will be removed in tapwell 0.3; "
            "import it from tapwell.sdk.target_cli instead",
            DeprecationWarning,
            stacklevel=2,
        )
        from tapwell.sdk.target_cli import target_command

        return target_command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
