"""target-jsonl: one file per stream, exact values, STATE only after the file is flushed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tapwell.singer.wire import loads


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
    files = list((tmp_path / "out").glob("*.jsonl"))
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


def _run(bin_path: Path, cfg: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(bin_path / "target-jsonl"), "--config", str(cfg)], input=data, capture_output=True
    )


def _stream(name: str, ids: list[int]) -> bytes:
    msgs: list[dict[str, object]] = [
        {
            "type": "SCHEMA",
            "stream": name,
            "schema": {"properties": {"id": {"type": "integer"}}},
            "key_properties": ["id"],
        }
    ]
    msgs += [{"type": "RECORD", "stream": name, "record": {"id": i}} for i in ids]
    msgs.append({"type": "STATE", "value": {name: ids[-1]}})
    return b"".join(json.dumps(m).encode() + b"\n" for m in msgs)


def test_streams_that_map_to_one_file_are_refused_in_a_run_and_across_runs(
    bin_path: Path, tmp_path: Path
) -> None:
    """Issue 20.3: `a/b`, `a_b` and `a:b` all wrote a_b.jsonl, silently merged."""
    out = tmp_path / "out"
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"destination_path": str(out)}))
    result = _run(bin_path, cfg, _stream("a/b", [1, 2]) + _stream("a_b", [3]))
    assert result.returncode == 65
    assert result.stderr.decode().splitlines() == [
        "target-jsonl: error: stdin line 5, stream 'a_b': stream 'a_b' would write a_b.jsonl, "
        "which stream 'a/b' already writes (characters other than letters, digits, '.', '-' "
        "and '_' become '_' in a file name): rename one of the streams (e.g. with a stream map) "
        "or give it its own destination_path"
    ]
    assert result.stdout == b'{"a/b":2}\n'  # the good part before the refused SCHEMA
    assert [loads(x)["id"] for x in (out / "a_b.jsonl").read_bytes().splitlines()] == [1, 2]
    for _ in range(2):  # another run, as a runner would retry it: still refused
        again = _run(bin_path, cfg, _stream("a:b", [4]))
        assert again.returncode == 65
        assert "stream 'a:b' would write a_b.jsonl, which stream 'a/b'" in again.stderr.decode()
    assert [loads(x)["id"] for x in (out / "a_b.jsonl").read_bytes().splitlines()] == [1, 2]
    owner = _run(bin_path, cfg, _stream("a/b", [5]))  # the owner itself goes on appending
    assert owner.returncode == 0, owner.stderr
    assert [loads(x)["id"] for x in (out / "a_b.jsonl").read_bytes().splitlines()] == [1, 2, 5]


def test_a_stream_name_too_long_for_a_file_name_gets_its_own_file(
    bin_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"destination_path": str(out)}))
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    result = _run(bin_path, cfg, _stream(long_a, [1]) + _stream(long_b, [2]))
    assert result.returncode == 0, result.stderr
    assert len([p for p in out.iterdir() if p.suffix == ".jsonl"]) == 2
