"""target-duckdb's command line."""

from __future__ import annotations

from typing import Any

from tapwell.sdk.target_cli import target_command

from .config import BATCH_ROWS, SETTINGS


def _loader(config: dict[str, Any]) -> Any:
    """The loader; also sets target-duckdb's own default batch size in `config`, which the loop
    reads its limits from once the loader is made (tapwell.sdk.target_cli)."""
    from .loader import DuckDBLoader  # the driver is imported only when used

    if not (config.get("batch_size_rows") or config.get("batch_rows")):
        config["batch_size_rows"] = BATCH_ROWS
    return DuckDBLoader(config)


def _read_state(config: dict[str, Any]) -> str | None:
    from .read_state import read_state  # the driver is imported only when used

    return read_state(config)


main = target_command(
    "target-duckdb",
    _loader,
    description="Load Singer streams into DuckDB: typed tables, upserts on key properties, exact decimals.",
    settings=SETTINGS,
    read_state=_read_state,
)
