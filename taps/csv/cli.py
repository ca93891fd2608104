"""tap-csv's command line: the Singer tap CLI, from tapwell's light tap API."""

from __future__ import annotations

import functools
import gc
from typing import Any

# The cyclic garbage collector off while the kit and the tap are imported: they leave some 8,000
# objects it tracks, none of them garbage, and it ran 25 times while they were made (4-5 ms of
# CPU; taps/csv/README.md). Then as it was.
_collecting = gc.isenabled()
gc.disable()
try:
    from tapwell.sdk.tap import Stream, SyncContext, Tap

    from .batch import csv_lines, source_bytes
    from .config import SETTINGS, CsvConfig
    from .discovery import (
        catalog_typed,
        check_selection,
        file_headers,
        infer_schema,
        stream_configs,
    )
    from .sync import read_lines, read_rows
finally:
    if _collecting:
        gc.enable()


def streams(config: CsvConfig | dict[str, Any]) -> list[Stream]:
    parsed = SETTINGS.of(config)
    out = []
    for sc in stream_configs(parsed):
        headers = file_headers(sc)
        schema = infer_schema(sc, parsed.sample_rows, headers)
        out.append(
            Stream(
                name=sc.name,
                schema=schema,
                records=functools.partial(_by_catalog, read_rows, sc, schema),
                lines=functools.partial(_by_catalog, read_lines, sc, schema),
                csv_lines=functools.partial(_by_catalog, csv_lines, sc, schema),
                lines_bytes=functools.partial(source_bytes, sc),
                key_properties=sc.key_properties,
                replication_key=sc.replication_key,
                filter_start=True,
                check=functools.partial(check_selection, sc, headers),
            )
        )
    return out


def _by_catalog(read: Any, sc: Any, schema: dict[str, Any], ctx: SyncContext, *args: Any) -> Any:
    """`read` (the records, lines or csv lines) of the stream by the catalog's types, which its
    SCHEMA message announced (discovery.catalog_typed), not by the stream's own."""
    sc, schema = catalog_typed(sc, schema, ctx.properties)
    return read(sc, schema, ctx, *args)


tap = Tap(
    "tap-csv",
    streams,
    description="CSV files as Singer streams: typed, exact, incremental.",
    settings=SETTINGS,
    # csv: lines in tapwell's dialect (batch.py), the lane `fast_lane: auto` takes; jsonl: its
    # RECORD lines' objects (tap.py), which auto never takes from a tap that writes csv (the
    # runner's fast_lane.common_format): into target-duckdb it measured slower than RECORD
    # lines (taps/csv/README.md); `fast_lane: on` or a user's batch_config asks for it
    batch_formats=("csv", "jsonl"),
    batch_auto=True,
)


def main() -> None:
    tap.main()
