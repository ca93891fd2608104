"""A good saved state is never replaced by a null or empty one, and a broken state file is one
line naming the file and the fix (`tapwell state set NAME FILE --force`), which then works."""

from __future__ import annotations

import json
import sys

import pytest
from helpers.runner_project import fake_integration

GOOD = {"bookmarks": {"items": {"last_id": 30}}}

# a target that reads everything, then prints what a broken target prints as its state
BAD_TARGET = (
    "import sys\n"
    "for _ in sys.stdin.buffer: pass\n"
    "print(sys.argv[sys.argv.index('--line') + 1], flush=True)\n"
)


@pytest.mark.parametrize(
    "line",
    [
        '{"type": "STATE", "value": null}',
        '{"type": "STATE", "value": {"bookmarks": []}}',
        "{}",
    ],
)
def test_null_or_empty_target_state_never_replaces_a_good_one(proj, line):
    raw = fake_integration(proj, rows=30)
    proj.write({"integrations": {"s": raw}})
    assert proj.cli("run", "s").returncode == 0
    assert json.loads(proj.cli("state", "show", "s").stdout) == GOOD

    raw["target"] = {
        "name": "broken-target",
        "command": [sys.executable, "-c", BAD_TARGET, "--line", line],
    }
    proj.write({"integrations": {"s": raw}})
    for _ in range(2):
        out = proj.cli("run", "s")
        assert out.returncode == 0, out.stderr
        assert json.loads(proj.cli("state", "show", "s").stdout) == GOOD
        assert "ignored a target state line" in out.stderr
    assert proj.starts() == [0, 30, 30]


BROKEN = {
    "empty": b"",
    "blank": b"  \n",
    "truncated": b'{"bookmarks": {"items": {"last_',
    "nul bytes": b"\x00\x00\x00\x00",
    "nul inside": b'{"bookmarks": {"items": {"last_id": 3\x000}}}',
    "array": b"[1, 2]",
    "string": b'"state"',
    "number": b"42",
    "null": b"null",
    "bookmarks a list": b'{"bookmarks": []}',
    "bookmark a string": b'{"bookmarks": {"items": "x"}}',
    "whole message": b'{"type": "STATE", "value": {"bookmarks": {}}}',
    "not utf-8": b'{"bookmarks": {"\xff\xfe": {}}}',
    "deep": b"[" * 100_000,
}


@pytest.mark.parametrize("shape", sorted(BROKEN))
def test_broken_state_file_is_named_and_replaced_only_by_force(proj, shape):
    proj.write({"integrations": {"s": fake_integration(proj, rows=30)}})
    path = proj.root / "state" / "s.json"
    path.parent.mkdir()
    path.write_bytes(BROKEN[shape])

    for args in (["state", "show", "s"], ["run", "s"], ["state", "set", "s", "-"]):
        out = proj.cli(*args, stdin=json.dumps(GOOD).encode())
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr
        assert lines[-1].startswith(f"tapwell: error: state file {path} is broken: "), lines
        assert "tapwell state set s FILE --force" in lines[-1]
        assert path.read_bytes() == BROKEN[shape]  # never silently replaced
    assert not proj.counter.exists()  # the run was refused before the tap started
    runs = proj.cli("runs", "s").stdout.splitlines()
    assert "failed" in runs[1] and "running" not in "\n".join(runs)

    fixed = proj.cli("state", "set", "s", "-", "--force", stdin=json.dumps(GOOD).encode())
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(proj.cli("state", "show", "s").stdout) == GOOD
    assert proj.cli("run", "s").returncode == 0
    assert proj.starts() == [30]


def test_full_refresh_says_it_replaces_a_broken_state(proj):
    proj.write({"integrations": {"s": fake_integration(proj, rows=30)}})
    path = proj.root / "state" / "s.json"
    path.parent.mkdir()
    path.write_bytes(b"[]")
    out = proj.cli("run", "s", "--full-refresh")
    assert out.returncode == 0, out.stderr
    assert f"state file {path} is broken" in out.stderr
    assert "this full refresh replaces it" in out.stderr
    assert json.loads(proj.cli("state", "show", "s").stdout) == GOOD
