"""target-duckdb's command line."""

from __future__ import annotations

import logging
from typing import Any

from tapwell.sdk.target_cli import target_command

from .config import SETTINGS, DuckDBConfig


def _loader(config: DuckDBConfig) -> Any:
    from .loader import DuckDBLoader  # the driver is imported only when used

    class Loader(DuckDBLoader):
        def close(self) -> None:
            """Closed at the end of the input: then say the per-stream entries of the config
            that matched no stream (config.unmatched)."""
            super().close()
            for line in config.unmatched():
                logging.getLogger("target-duckdb").warning(line)

    return Loader(config)


def _read_state(config: DuckDBConfig) -> str | None:
    from .read_state import read_state  # the driver is imported only when used

    return read_state(config)


main = target_command(
    "target-duckdb",
    _loader,
    description="Load Singer streams into DuckDB: typed tables, upserts on key properties, exact decimals.",
    settings=SETTINGS,
    read_state=_read_state,
    state_file_setting="path",  # no file, no state (read_state.py): the runner need not ask
    batch_formats=("csv", "jsonl"),  # csv: the fast lane, straight from the file (files.py)
)
