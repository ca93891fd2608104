"""The settings every tapwell target has because tapwell.sdk.target_loop reads them: how big a
batch grows before it is committed, and whether records get the _sdc_* columns.

A target's config dataclass includes them by inheriting `LoopSettings` (plain fields, one level)
and may redeclare one to change its default or wording; `target_command` hands them to the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from tapwell.sdk.settings import number, setting, whole_number
from tapwell.sdk.target_types import Limits

__all__ = ["LoopSettings"]


@dataclass(frozen=True, kw_only=True)
class LoopSettings:
    """Batch limits and the metadata columns, as `Limits.from_config` reads them from a dict."""

    batch_size_rows: int = setting(
        Limits.rows,
        type=("integer", "string"),
        aliases=("batch_rows",),
        parse=whole_number(1),
        help="Rows per committed batch",
    )
    batch_size_bytes: int = setting(
        Limits.bytes,
        type=("integer", "string"),
        parse=whole_number(1),
        help="Input bytes per committed batch, so wide rows end a batch early too",
    )
    batch_wait_limit_seconds: float = setting(
        Limits.seconds,
        type=("number", "string"),
        aliases=("batch_seconds",),
        parse=number(0),
        help="Commit at least this often (seconds)",
    )
    add_metadata_columns: bool = setting(
        False,
        help="Add _sdc_extracted_at, _sdc_received_at, _sdc_batched_at, _sdc_deleted_at, "
        "_sdc_table_version and _sdc_sequence to every table",
    )
