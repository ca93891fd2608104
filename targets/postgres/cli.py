"""target-postgres's command line."""

from __future__ import annotations

import logging
from typing import Any

from tapwell.sdk.target_cli import target_command

from .config import SETTINGS, PostgresConfig


def _loader(config: PostgresConfig) -> Any:
    from .loader import PostgresLoader  # the driver is imported only when used

    class Loader(PostgresLoader):
        def close(self) -> None:
            """Closed at the end of the input: then say the per-stream entries of the config
            that matched no stream (config.unmatched)."""
            super().close()
            for line in config.unmatched():
                logging.getLogger("target-postgres").warning(line)

    return Loader(config)


def _read_state(config: PostgresConfig) -> str | None:
    from .read_state import read_state  # the driver is imported only when used

    return read_state(config)


main = target_command(
    "target-postgres",
    _loader,
    description=(
        "Load Singer streams into PostgreSQL: typed tables, COPY into staging then merge on key properties, "
        "exact decimals, state committed with the rows (table tapwell_state). Reads PipelineWise's and "
        "MeltanoLabs' target-postgres configs."
    ),
    settings=SETTINGS,
    read_state=_read_state,
    batch_formats=("csv", "jsonl"),  # csv: the fast lane, straight from the file (files.py)
)
