"""The fast lane reads any connector's --about: as JSON (`--about --format json`, else `--about`
alone), and an answer of another shape than singer-sdk's (capabilities or batch_formats that are
no list) means no lane, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from tapwell.runner.fast_lane import abouts, common_format

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


def test_a_connector_that_knows_no_format_option_is_asked_about_alone(tmp_path: Path) -> None:
    """--about --format json first (singer-sdk's JSON), then --about alone of a connector that
    refuses --format; both answers are kept, so the next run asks nothing."""
    calls = tmp_path / "calls"
    script = tmp_path / "tap-old.py"
    script.write_text(
        "import sys\n"
        f"open({str(calls)!r}, 'a').write(' '.join(sys.argv[1:]) + ';')\n"
        "if '--format' in sys.argv:\n    sys.exit('unknown option --format')\n"
        'print(\'{"capabilities": ["batch"], "batch_formats": ["csv"]}\')\n'
    )
    argv = [sys.executable, str(script)]
    want = {"capabilities": ["batch"], "batch_formats": ["csv"]}
    assert abouts(tmp_path, [argv]) == [want]
    assert abouts(tmp_path, [argv]) == [want]
    assert calls.read_text() == "--about --format json;--about;"
