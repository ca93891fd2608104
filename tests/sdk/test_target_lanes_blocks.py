"""RawLane.takes_block (tapwell.sdk.target_lanes) takes a block of lines whole exactly when its
`take` would take every line one by one: checked against that line-by-line oracle on blocks with
lines of other streams, other versions, cut ends, carriage returns and numbers only the exact
parser reads, for stream names holding braces and quotes."""

from __future__ import annotations

import random

import pytest
from tapwell.sdk.target_lanes import RawLane
from tapwell.sdk.target_types import Batch, StreamSpec
from tapwell.singer.wire import dumps


def lane(stream: str, version: int | None) -> RawLane:
    spec = StreamSpec(stream, {"type": "object", "properties": {}}, [], lambda r, n: None)
    return RawLane(Batch(spec, version=version), stream)


def line(stream: str, n: int, version: int | None) -> bytes:
    msg: dict[str, object] = {"type": "RECORD", "stream": stream, "record": {"id": n, "s": "}}"}}
    if version is not None:
        msg["version"] = version
    return dumps(msg) + b"\n"


SPOILERS = [
    lambda b: b.replace(b'"id":', b'"id":12345678901234567,"x":', 1),  # a 17-digit run
    lambda b: b.replace(b'"id":', b'"id":1e-400,"x":', 1),  # a three-digit exponent
    lambda b: b[:-3] + b"}\n",  # the record not closed as ours
    lambda b: b[:-1] + b"\r\n",  # a carriage return
    lambda b: b.replace(b'"RECORD"', b'"STATE"', 1),
    lambda b: b.replace(b'"record":{', b'"record": {', 1),
]


@pytest.mark.parametrize("stream", ["orders", 'a}}"b', "x{", "}"])
@pytest.mark.parametrize("version", [None, 7])
def test_a_block_is_taken_whole_exactly_when_each_line_would_be(stream, version):
    rng = random.Random(f"{stream}{version}")
    take = lane(stream, version)
    for _ in range(300):
        block = [line(stream, i, version) for i in range(rng.randint(1, 6))]
        if rng.random() < 0.5:
            i = rng.randrange(len(block))
            block[i] = rng.choice(SPOILERS)(block[i])
        if rng.random() < 0.2:
            block.insert(rng.randrange(len(block) + 1), line("other", 1, version))
        if rng.random() < 0.2:
            block.insert(rng.randrange(len(block) + 1), line(stream, 1, 8))
        data = b"".join(block)
        one_by_one = (
            all(
                piece.startswith(take.prefix) and lane(stream, version).take(piece, 1)
                for piece in data.split(b"\n")[:-1]
                for piece in [piece + b"\n"]
            )
            and b"\r" not in data
        )
        assert take.takes_block(data, data.count(b"\n")) == one_by_one, data
