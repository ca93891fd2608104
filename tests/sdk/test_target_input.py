"""The target loop's input (tapwell.sdk.target_input.pieces): every input line comes once, in
order, whether as a line or inside a block a raw lane takes whole. A block a raw lane may take
part of is halved until the halves come line by line; a split that dropped the second half lost
the records after it and the STATE that followed them (nothing on stdout, exit 0)."""

from __future__ import annotations

import io

import pytest
from tapwell.sdk import target_input
from tapwell.sdk.target_lanes import RAW_HEAD, RAW_MID


def _lines(n: int) -> bytes:
    """`n` RECORD lines of stream `s` as our writers write them, then a STATE line."""
    records = b"".join(RAW_HEAD + b"s" + RAW_MID + b'"id":%d}}\n' % i for i in range(n))
    return records + b'{"type":"STATE","value":{"n":%d}}\n' % n


def _read(data: bytes, raw_streams: set[bytes]) -> bytes:
    stream = io.BufferedReader(io.BytesIO(data))  # has read1, as stdin does
    out = []
    for piece in target_input.pieces(stream, {}, raw_streams):
        out.append(piece if type(piece) is bytes else piece[1])
    return b"".join(out)


@pytest.mark.parametrize("rows", [0, 1, 255, 256, 257, 1000, 5000])
@pytest.mark.parametrize("raw_streams", [set(), {b"s"}])
def test_every_line_comes_once_in_order(rows: int, raw_streams: set[bytes]) -> None:
    data = _lines(rows)
    assert _read(data, raw_streams) == data


def test_small_reads_and_a_cut_off_last_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(target_input, "BLOCK", 700)
    monkeypatch.setattr(target_input, "SMALL", 2)
    data = _lines(300) + b'{"type":"STATE","value":{"cut":'
    assert _read(data, {b"s"}) == data
