"""The fan-out copy's pure parts: STATE lines found in any chunking of the tap's output, and the
integration's state as the oldest any target committed."""

from __future__ import annotations

import json
import os

import pytest
from tapwell.runner.fanout_copy import Copier, Output, StateOrder

LINES = [
    {"type": "SCHEMA", "stream": "s", "schema": {}, "key_properties": []},
    {"type": "RECORD", "stream": "s", "record": {"id": 1, "note": "STATE"}},
    {"type": "STATE", "value": {"n": 1}},
    {"type": "RECORD", "stream": "s", "record": {"id": 2, "note": '{"type": "STATE"}'}},
    {"type": "STATE", "value": {"n": 2}},
    {"type": "STATE", "value": {"n": 3}},
]
DATA = b"".join(json.dumps(m).encode() + b"\n" for m in LINES)


@pytest.mark.parametrize("size", [1, 2, 7, 13, 64, len(DATA)])
def test_every_state_is_found_whatever_the_chunks(size):
    order = StateOrder(None, ["a"])
    copier = Copier(0, [], order, lambda _: None)
    for i in range(0, len(DATA), size):
        copier.scan(DATA[i : i + size])
    assert order.values == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_the_copy_writes_every_byte_to_every_target():
    src_r, src_w = os.pipe()
    outs = [os.pipe() for _ in range(2)]
    os.write(src_w, DATA)
    os.close(src_w)
    order = StateOrder(None, ["a", "b"])
    copier = Copier(src_r, [Output(n, w, True) for n, (_, w) in zip("ab", outs)], order, print)
    copier.run()
    for r, _ in outs:
        assert os.read(r, len(DATA) + 10) == DATA
    assert copier.copied == len(DATA) and len(order.values) == 3


def test_the_integration_resumes_from_the_oldest_committed_state():
    start = {"n": 0}
    order = StateOrder(start, ["a", "b"])
    for n in (1, 2, 3):
        order.tap_state({"n": n})
    assert order.oldest() == start  # b has committed nothing yet
    assert order.commit("a", {"n": 3}) and order.commit("b", {"n": 1})
    assert order.oldest() == {"n": 1}
    assert order.lag("b")["states"] == 2 and order.lag("a")["states"] == 0
    assert not order.commit("b", {"other": True})  # never written by the tap: not placed
    assert order.oldest() == {"n": 1}
    order.commit("b", {"n": 2})
    assert order.oldest() == {"n": 2}
