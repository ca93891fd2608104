"""The fast lane reads any connector's --about: an answer of another shape than singer-sdk's
(capabilities or batch_formats that are no list) means no lane, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from tapwell.runner.fast_lane import common_format

OURS = {"capabilities": ["batch"], "batch_formats": ["csv", "jsonl"]}


@pytest.mark.parametrize(
    "about",
    [
        {"capabilities": ["batch"], "batch_formats": 5},
        {"capabilities": ["batch"], "batch_formats": None},
        {"capabilities": "batch", "batch_formats": ["csv"]},  # "batch" in "batch" was True
        {"capabilities": {"batch": True}, "batch_formats": ["csv"]},
        {"capabilities": 7},
    ],
)
def test_an_about_of_another_shape_means_no_lane(about: dict[str, Any]) -> None:
    assert common_format(OURS, about, {}) is None
    assert common_format(about, OURS, {}) is None


def test_batch_formats_that_are_no_list_read_as_none_listed() -> None:
    """As a singer-sdk connector listing `batch` alone: jsonl with fast_lane: on."""
    odd = {"capabilities": ["batch"], "batch_formats": 5}
    assert common_format(OURS, odd, {}, guess=True) == "jsonl"
