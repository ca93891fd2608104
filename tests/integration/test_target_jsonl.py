"""target-jsonl: one file per stream, exact values, STATE only after the file is flushed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tapwell.wire import loads


def test_files_per_stream_exact_values_and_state(bin_path: Path, tmp_path: Path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"destination_path": str(tmp_path / "out")}))
    data = (
        b'{"type":"SCHEMA","stream":"a/../b","schema":{"properties":{"id":{"type":"integer"},"d":{"type":"number"}}},"key_properties":["id"]}\n'
        b'{"type":"RECORD","stream":"a/../b","record":{"id":1,"d":12345678901234567890.123456789012345678901234567890,"s":"tab\\there"}}\n'
        b'{"type":"STATE","value":{"x":1}}\n'
    )
    result = subprocess.run(
        [str(bin_path / "target-jsonl"), "--config", str(cfg)], input=data, capture_output=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b'{"x":1}\n'
    files = list((tmp_path / "out").iterdir())
    assert [f.name for f in files] == ["a_.._b.jsonl"]  # no path traversal from a stream name
    line = files[0].read_bytes()
    assert b"12345678901234567890.123456789012345678901234567890" in line
    assert loads(line)["s"] == "tab\there"


def test_bad_input_exits_non_zero_without_state(bin_path: Path, tmp_path: Path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"destination_path": str(tmp_path / "out")}))
    data = b'{"type":"RECORD","stream":"x","record":{}}\n{"type":"STATE","value":{"x":1}}\n'
    result = subprocess.run(
        [str(bin_path / "target-jsonl"), "--config", str(cfg)], input=data, capture_output=True
    )
    assert result.returncode == 65
    assert (
        result.stderr.decode().strip()
        == "target-jsonl: error: stdin line 1, stream 'x': RECORD before its SCHEMA"
    )
    assert result.stdout == b""
