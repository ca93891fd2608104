"""Rows of a stream's files, converted to typed values; a malformed row is one clear error.

Each stream's row conversion is compiled once (types.compile_row): a plain string column costs
nothing, a typed one a single converter call. The file is decoded by Python's own text layer,
in C; a byte the encoding cannot take is then found and named by its line (`first_bad_line`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from tapwell.sdk.tap import SyncContext
from tapwell.singer.errors import SyncError

from .discovery import CsvDecodeError, StreamConfig, first_bad_line, open_rows
from .types import compile_row, converter_for


def read_rows(
    sc: StreamConfig, schema: dict[str, Any], ctx: SyncContext
) -> Iterator[dict[str, Any]]:
    props = schema.get("properties") or {}
    nulls = frozenset(sc.null_values)
    native = {ctx.replication_key} if ctx.replication_key else set()
    for path in sc.paths:
        f, reader = open_rows(path, sc)
        with f:
            try:
                header = next(reader, None)
                if header is None:
                    continue
                width = len(header)
                columns = [
                    (i, h, props.get(h, {})) for i, h in enumerate(header) if h in ctx.selected
                ]
                convert = compile_row(columns, nulls, native)
                for row in reader:
                    if len(row) != width:
                        if not row:
                            continue
                        raise SyncError(
                            f"{path} line {reader.line_num}: expected {width} fields as in the header, found {len(row)}"
                        )
                    try:
                        record = convert(row)
                    except ValueError:
                        name_bad_value(sc, path, reader.line_num, row, columns, nulls)
                        raise
                    yield record
            except csv.Error as exc:
                raise SyncError(f"{path} line {reader.line_num}: malformed CSV ({exc})") from None
            except CsvDecodeError as exc:
                raise SyncError(str(exc)) from None
            except UnicodeDecodeError as exc:
                raise SyncError(
                    first_bad_line(path, sc)
                    or f"{path} near line {reader.line_num + 1}: not valid {sc.encoding} ({exc.reason})"
                ) from None


def name_bad_value(
    sc: StreamConfig,
    path: str,
    line: int,
    row: list[str],
    columns: list[tuple[int, str, dict[str, Any]]],
    nulls: frozenset[str],
) -> None:
    """Raise the SyncError naming the first column of `row` whose text does not convert."""
    for i, h, prop in columns:
        convert, is_string = converter_for(prop)
        text = row[i]
        if convert is None or text in nulls or (text == "" and not is_string):
            continue
        try:
            convert(text)
        except ValueError as exc:
            raise SyncError(
                f"{path} line {line}, stream {sc.name!r}, column {h!r}: {exc}"
            ) from None
