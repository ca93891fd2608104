"""tapwell.runner.probe: a connector is asked once per version; what could not be asked is not
kept, and a kept answer the caller does not accept is asked again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
from tapwell.runner.probe import cached_probe


def _count(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stdout.decode().strip()


def test_asked_once_per_version_and_never_kept_when_it_cannot_run(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    script = tmp_path / "conn.py"
    script.write_text(
        f"import sys\nopen({str(calls)!r}, 'a').write('x')\nprint('seen ' + sys.argv[1])\n"
    )
    argv = [sys.executable, str(script)]

    def ask() -> object:
        return cached_probe(tmp_path, "p.json", argv, "--about", _count, lambda v: v != "bad")

    assert ask() == "seen --about"
    assert ask() == "seen --about"
    assert calls.read_text() == "x"  # the second answer came from .tapwell/p.json
    kept = orjson.loads((tmp_path / ".tapwell" / "p.json").read_bytes())
    assert list(kept.values()) == ["seen --about"]

    (tmp_path / ".tapwell" / "p.json").write_bytes(orjson.dumps(dict.fromkeys(kept, "bad")))
    assert ask() == "seen --about" and calls.read_text() == "xx"  # not accepted: asked again

    st = script.stat()
    os.utime(script, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new version
    assert ask() == "seen --about" and calls.read_text() == "xxx"

    missing = [str(tmp_path / "no-such-connector")]
    assert cached_probe(tmp_path, "q.json", missing, "--help", _count, bool) is None
    assert not (tmp_path / ".tapwell" / "q.json").exists()
