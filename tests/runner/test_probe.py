"""tapwell.runner.probe: a connector is asked once per version; what could not be asked is not
kept, and a kept answer the caller does not accept is asked again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
from tapwell.runner import probe
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


def test_an_editable_connector_is_asked_again_when_its_source_changes(
    tmp_path: Path, monkeypatch
) -> None:
    """A console script of an editable install never changes while its package's source does:
    the key follows the package's module files (the script kept its key, and the stale answer
    stayed until .tapwell/ was cleared)."""
    src = tmp_path / "src"
    (src / "tapfoo").mkdir(parents=True)
    (src / "tapfoo" / "__init__.py").write_text("")
    cli = src / "tapfoo" / "cli.py"
    cli.write_text("def main():\n    print('about v1')\n")
    monkeypatch.syspath_prepend(str(src))  # found by this interpreter, as an editable install is
    monkeypatch.setattr(probe, "_RECENT_SECONDS", 0.0)  # a run's start reuses a walk for 2 s
    script = tmp_path / "tap-foo"  # what pip writes for a console script
    script.write_text(
        f"#!{Path(sys.executable).parent / 'python'}\nimport sys\nsys.path.insert(0, {str(src)!r})\n"
        "from tapfoo.cli import main\nif __name__ == '__main__':\n    sys.exit(main())\n"
    )
    script.chmod(0o755)

    def ask() -> object:
        return cached_probe(tmp_path, "p.json", [str(script)], "--about", _count, bool)

    assert ask() == "about v1"
    cli.write_text("def main():\n    print('about v2, a new capability')\n")
    st = cli.stat()
    os.utime(cli, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert ask() == "about v2, a new capability"
    assert ask() == "about v2, a new capability"
    assert len(orjson.loads((tmp_path / ".tapwell" / "p.json").read_bytes())) == 2
