"""A tap killed mid-write leaves its last line cut short in the pipe. That is the writer's
failure, not bad data: the target commits up to the last STATE, says so in one line and exits 75
(temporary), so the runner retries and resumes, where exit 65 would stop the run for good."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tapwell.singer.errors import ProtocolError, TruncatedInput
from tapwell.singer.wire import parse_line

BIN = Path(sys.executable).parent
HEAD = (
    b'{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"}}},'
    b'"key_properties":["id"]}\n{"type":"RECORD","stream":"s","record":{"id":1}}\n'
    b'{"type":"STATE","value":{"at":1}}\n'
)


def test_a_line_cut_short_at_the_end_is_truncated_input_and_retriable() -> None:
    with pytest.raises(TruncatedInput) as cut:
        parse_line(b'{"type":"RECORD","stream":"s","rec', 4, "stdin")
    assert cut.value.exit_code == 75 and cut.value.retriable
    assert str(cut.value).startswith("stdin line 4: the input ended in the middle of this line")


def test_a_malformed_whole_line_is_still_bad_data() -> None:
    with pytest.raises(ProtocolError) as bad:
        parse_line(b'{"type":"RECORD","stream":"s","rec\n', 2, "stdin")
    assert not isinstance(bad.value, TruncatedInput) and bad.value.exit_code == 65


@pytest.mark.parametrize("tail", [b'{"type":"RECORD","stream":"s","rec', b'{"type":"REC'])
def test_target_commits_to_the_last_state_and_exits_75(tmp_path: Path, tail: bytes) -> None:
    config = tmp_path / "c.json"
    config.write_text(f'{{"destination_path": "{tmp_path / "out"}"}}')
    done = subprocess.run(
        [str(BIN / "target-jsonl"), "--config", str(config)],
        input=HEAD + tail,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 75, done.stderr
    assert done.stdout.decode().splitlines() == ['{"at":1}']
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "input ended in the middle of this line" in lines[0], lines
