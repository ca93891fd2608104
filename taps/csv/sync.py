"""Rows of a stream's files, converted to typed values; a malformed row is one clear error."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from tapwell.sdk.tap import SyncContext
from tapwell.singer.errors import SyncError

from .discovery import CsvDecodeError, StreamConfig, open_csv
from .types import converter_for


def read_rows(
    sc: StreamConfig, schema: dict[str, Any], ctx: SyncContext
) -> Iterator[dict[str, Any]]:
    props = schema.get("properties") or {}
    nulls = frozenset(sc.null_values)
    for path in sc.paths:
        f, reader = open_csv(path, sc)
        with f:
            try:
                header = next(reader, None)
                if header is None:
                    continue
                width = len(header)
                plan = []
                for i, h in enumerate(header):
                    if h in ctx.selected:
                        convert, is_string = converter_for(props.get(h, {}))
                        plan.append((i, h, convert, is_string))
                for row in reader:
                    if len(row) != width:
                        if not row:
                            continue
                        raise SyncError(
                            f"{path} line {reader.line_num}: expected {width} fields as in the header, found {len(row)}"
                        )
                    record: dict[str, Any] = {}
                    for i, h, convert, is_string in plan:
                        text = row[i]
                        if text in nulls or (text == "" and not is_string):
                            record[h] = None
                        elif convert is None:
                            record[h] = text
                        else:
                            try:
                                record[h] = convert(text)
                            except ValueError as exc:
                                raise SyncError(
                                    f"{path} line {reader.line_num}, stream {sc.name!r}, column {h!r}: {exc}"
                                ) from None
                    yield record
            except csv.Error as exc:
                raise SyncError(f"{path} line {reader.line_num}: malformed CSV ({exc})") from None
            except CsvDecodeError as exc:
                raise SyncError(str(exc)) from None
            except UnicodeDecodeError as exc:
                raise SyncError(
                    f"{path} near line {reader.line_num + 1}: not valid {sc.encoding} ({exc.reason})"
                ) from None
