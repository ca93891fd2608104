"""The records of a singer-sdk BATCH message: JSON-lines files (optionally gzip) it names.

A file that is missing, unreadable, truncated or not the gzip it claims to be, and a line in it
that is not a JSON object, are malformed input like any bad line: one ProtocolError naming the
BATCH message's line, its stream and the file (with the line inside it), never a traceback.
A record of a file carries a FileRow as its input line, so a value refused later (by its
schema, its column, the database) is said with the file and its row too.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from tapwell.singer.errors import ProtocolError
from tapwell.singer.messages import BatchMessage
from tapwell.singer.wire import json_problem, loads


class FileRow(int):
    """The input line of a BATCH message (an int, for every rule that compares lines: commit
    before it, the batch's first and last line) that also names the file and the row in it of
    one of its records: ProtocolError.describe says both (`BATCH file F row N: ...`)."""

    batch_file: str
    batch_row: int

    def __new__(cls, line_no: int, path: str, row: int) -> FileRow:
        at = super().__new__(cls, line_no)
        at.batch_file, at.batch_row = path, row
        return at


def batch_format(msg: BatchMessage) -> str:
    """The BATCH's encoding format, lower case (jsonl when not said)."""
    return str(msg.encoding.get("format") or "jsonl").lower()


def batch_files(
    msg: BatchMessage, line_no: int, source: str, root: str | None = None
) -> list[tuple[str, bool]]:
    """(local path, gzip?) of every file of `msg`, each checked: a local file URL, inside `root`
    when one is given (the run's spool folder: a path escaping it is refused), and present."""
    out = []
    for url in msg.manifest:
        if not isinstance(url, str) or ("://" in url and not url.startswith("file://")):
            raise bad_batch(msg, line_no, source, f"BATCH manifest entry {url!r} is not a file URL")
        path = url[len("file://") :] if url.startswith("file://") else url
        if root is not None:
            real, top = os.path.realpath(path), os.path.realpath(root)
            if os.path.commonpath([real, top]) != top:
                raise bad_batch(
                    msg,
                    line_no,
                    source,
                    f"BATCH file {path} is outside the spool folder {root} (refused)",
                )
        if not os.path.isfile(path):
            raise bad_batch(msg, line_no, source, f"BATCH file {path} does not exist")
        gz = msg.encoding.get("compression") == "gzip" or path.endswith(".gz")
        out.append((path, gz))
    return out


def batch_rows(
    msg: BatchMessage,
    line_no: int,
    source: str,
    root: str | None = None,
    reads: Sequence[str] = (),
) -> Iterator[tuple[bytes, Any, FileRow]]:
    """(raw line, decoded record, where) for every non-blank line of every file of `msg`, in
    order; the raw line is given so the caller can count its bytes (blank lines come with None),
    `where` is the input line to give the record (the BATCH's, naming the file and row).
    `reads`: the formats the target's loader reads itself, named with jsonl when another is
    refused."""
    fmt = batch_format(msg)
    if fmt != "jsonl":
        named = ", ".join(dict.fromkeys([*reads, "jsonl"]))
        raise bad_batch(
            msg, line_no, source, f"BATCH encoding {fmt!r} is not supported here ({named})"
        )
    for path, gz in batch_files(msg, line_no, source, root):
        yield from _file_rows(msg, line_no, source, path, gz)


def _file_rows(
    msg: BatchMessage, line_no: int, source: str, path: str, gz: bool
) -> Iterator[tuple[bytes, Any, FileRow]]:
    for row_no, row in enumerate(file_lines(msg, line_no, source, path, gz), 1):
        where = FileRow(line_no, path, row_no)
        if not row.strip():
            yield row, None, where
            continue
        yield row, file_record(msg, line_no, source, path, row_no, row), where


def file_record(
    msg: BatchMessage, line_no: int, source: str, path: str, row_no: int, row: bytes
) -> dict[str, Any]:
    """Line `row_no` of a jsonl BATCH file as its record; a line that is not one is refused."""
    try:
        record = loads(row)
    except ValueError as exc:
        raise bad_batch(
            msg, line_no, source, f"BATCH file {path} line {row_no}: {json_problem(exc)}"
        ) from None
    if not isinstance(record, dict):
        problem = f"is {type(record).__name__}, not a record (a JSON object)"
        raise bad_batch(msg, line_no, source, f"BATCH file {path} line {row_no} {problem}")
    return record


def file_lines(
    msg: BatchMessage, line_no: int, source: str, path: str, gz: bool
) -> Iterator[bytes]:
    """Every line of one BATCH file, as it is; a file that cannot be read is refused."""
    try:
        f: Any = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115
        with f:
            yield from f
    except FileNotFoundError:
        raise bad_batch(msg, line_no, source, f"BATCH file {path} does not exist") from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        what = "gzip file" if gz else "file"
        reason = str(exc) or type(exc).__name__
        raise bad_batch(
            msg, line_no, source, f"BATCH {what} {path} cannot be read ({reason})"
        ) from None


def bad_batch(msg: BatchMessage, line_no: int, source: str, problem: str) -> ProtocolError:
    return ProtocolError(problem, line=line_no, stream=msg.stream, source=source)
