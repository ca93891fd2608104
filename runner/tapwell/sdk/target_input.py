"""A target's input as the loop reads it (tapwell.sdk.target_loop): its lines in order, except
that a block of whole lines that a raw lane takes as they are comes as one piece, so the loop
makes no Python object per line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from tapwell.sdk import target_lanes as lanes
from tapwell.sdk.target_lanes import RAW_HEAD, RAW_MID

BLOCK = 1 << 20  # bytes asked of the input at a time (read1: what is there, never waiting for more)


def pieces(
    stream: IO[bytes], raw_lanes: dict[bytes, lanes.RawLane], raw_streams: set[bytes]
) -> Iterator[Any]:
    """The input's lines in order, except that a block of whole lines that are all RECORD lines a
    raw lane takes as they are (RawLane.takes_block) comes as one (lane, block) pair: the loop
    then makes no Python object per line. A block is read only when the lines before it were
    handled, so the lanes it is matched against are the current ones. An input without read1
    comes line by line; the last line, when it has no newline, comes alone (a cut-off line)."""
    read1 = getattr(stream, "read1", None)
    if read1 is None:
        yield from stream
        return
    rest = b""
    while True:
        data = read1(BLOCK)
        if not data:
            if rest:
                yield rest
            return
        if rest:
            data, rest = rest + data, b""
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            data, rest = data[:cut], data[cut:]
        if data:
            yield from _blocks(data, raw_lanes, raw_streams)


SMALL = 256  # lines: a block this short that a raw lane does not take whole comes line by line


def _blocks(
    data: bytes, raw_lanes: dict[bytes, lanes.RawLane], raw_streams: set[bytes]
) -> Iterator[Any]:
    """`data` (whole lines) as `pieces` gives it: one (lane, block) pair when a raw lane takes
    every line, else, when a raw lane may take some (a stream had one), its halves in turn, so
    one other line (a STATE, the RECORD that begins a batch after a flush) sends only the few
    lines around it the line-by-line way. Each half is matched when the one before it was
    handled, against the lanes of that moment. A pair also holds the block's line count."""
    if not raw_streams or RAW_HEAD not in data:  # no line a raw lane could take
        yield from io.BytesIO(data)
        return
    lines = data.count(b"\n")
    if data.startswith(RAW_HEAD):
        at = len(RAW_HEAD)
        taker = raw_lanes.get(data[at : data.find(RAW_MID, at)])
        if taker is not None and taker.takes_block(data, lines):
            yield taker, data, lines
            return
    if lines < SMALL:
        yield from io.BytesIO(data)
        return
    cut = data.find(b"\n", len(data) // 2) + 1
    if cut in (0, len(data)):  # one long line in the second half
        cut = data.rfind(b"\n", 0, len(data) // 2) + 1
    yield from _blocks(data[:cut], raw_lanes, raw_streams)
    yield from _blocks(data[cut:], raw_lanes, raw_streams)
