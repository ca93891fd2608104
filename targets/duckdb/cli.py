"""target-duckdb's command line."""

from __future__ import annotations

from typing import Any

from tapwell.sdk.target_cli import target_command

from .config import SETTINGS, DuckDBConfig


def _loader(config: DuckDBConfig) -> Any:
    from .loader import DuckDBLoader  # the driver is imported only when used

    return DuckDBLoader(config)


def _read_state(config: DuckDBConfig) -> str | None:
    from .read_state import read_state  # the driver is imported only when used

    return read_state(config)


main = target_command(
    "target-duckdb",
    _loader,
    description="Load Singer streams into DuckDB: typed tables, upserts on key properties, exact decimals.",
    settings=SETTINGS,
    read_state=_read_state,
    end_warnings=DuckDBConfig.unmatched,  # stream_settings / schema_mapping entries no stream matched
    state_file_setting="path",  # no file, no state (read_state.py): the runner need not ask
    batch_formats=("csv", "jsonl"),  # csv: the fast lane, straight from the file (files.py)
)
