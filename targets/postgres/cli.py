"""target-postgres's command line."""

from __future__ import annotations

from typing import Any

from tapwell.sdk.target_cli import target_command

from .config import SETTINGS, PostgresConfig


def _loader(config: PostgresConfig) -> Any:
    from .loader import PostgresLoader  # the driver is imported only when used

    return PostgresLoader(config)


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
    end_warnings=PostgresConfig.unmatched,  # stream_settings / schema_mapping entries no stream matched
    batch_formats=("csv", "jsonl"),  # csv: the fast lane, straight from the file (files.py)
)
