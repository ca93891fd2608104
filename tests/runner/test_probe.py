"""tapwell.runner.probe: a connector is asked once per version; what could not be asked is not
kept, and a kept answer the caller does not accept is asked again."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
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


def _script(path: Path, says: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\nimport sys\nprint({says!r})\n")
    path.chmod(0o755)
    return path


def _ask(root: Path, argv: list[str]) -> object:
    return cached_probe(root, "p.json", argv, "--about", _count, bool)


def test_a_new_project_asks_nothing_a_project_of_this_user_asked(tmp_path: Path) -> None:
    """The answers are kept in the user's cache folder too: a fresh project (bench.embedded's,
    a new checkout) does not start the connector again (each project asked on its own before)."""
    calls = tmp_path / "calls"
    script = tmp_path / "conn.py"
    script.write_text(f"open({str(calls)!r}, 'a').write('x')\nprint('about')\n")
    argv = [sys.executable, str(script)]
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    assert _ask(tmp_path / "one", argv) == "about"
    assert _ask(tmp_path / "two", argv) == "about"
    assert calls.read_text() == "x"
    assert (probe.user_cache_dir() / "p.json").exists()


def test_a_connector_found_on_path_is_asked_again_when_it_is_replaced(
    tmp_path: Path, monkeypatch
) -> None:
    """A command named without a folder is stamped as PATH finds it (its key was the name alone,
    and a reinstalled connector's old answer stayed)."""
    bin_dir = tmp_path / "bin"
    exe = _script(bin_dir / "tap-pathy", "about v1")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert _ask(tmp_path, ["tap-pathy"]) == "about v1"
    _script(exe, "about v2, reinstalled")
    assert _ask(tmp_path, ["tap-pathy"]) == "about v2, reinstalled"


def test_a_connector_of_another_size_is_asked_again_even_with_the_same_time(
    tmp_path: Path,
) -> None:
    """Size is in the key beside the modification time (a copy that keeps times, `cp -p`)."""
    exe = _script(tmp_path / "tap-sized", "about v1")
    st = exe.stat()
    assert _ask(tmp_path, [str(exe)]) == "about v1"
    _script(exe, "about v2, longer")
    os.utime(exe, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _ask(tmp_path, [str(exe)]) == "about v2, longer"


def test_relative_commands_of_two_projects_are_two_connectors(tmp_path: Path) -> None:
    """`bin/tap` of two projects, alike in size and time, share no answer: the key holds the
    real path of what the probe runs, from the project's folder."""
    one = _script(tmp_path / "one" / "bin" / "tap", "about one")
    two = _script(tmp_path / "two" / "bin" / "tap", "about two")
    st = one.stat()
    os.utime(two, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _ask(tmp_path / "one", ["bin/tap"]) == "about one"
    assert _ask(tmp_path / "two", ["bin/tap"]) == "about two"


def _own_venv(tmp_path: Path, style: str) -> tuple[Path, Path]:
    """A connector's own virtualenv (its python a link to this one, as `python -m venv` makes)
    with package tapfoo installed editable from src/: by a .pth file naming the source folder
    (hatchling, flit, pdm, poetry) or by setuptools' finder and its MAPPING."""
    src = tmp_path / "src"
    (src / "tapfoo").mkdir(parents=True)
    (src / "tapfoo" / "__init__.py").write_text("")
    cli = src / "tapfoo" / "cli.py"
    cli.write_text("def main():\n    print('about v1')\n")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    home = os.path.dirname(os.path.realpath(sys.executable))
    (venv / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\n")
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    site.mkdir(parents=True)
    if style == "pth":
        (site / "_tapfoo.pth").write_text(f"{src}\n")
    else:
        (site / "__editable__.tapfoo-0.1.pth").write_text(
            "import __editable___tapfoo_0_1_finder; __editable___tapfoo_0_1_finder.install()\n"
        )
        finder = f"import sys\nMAPPING: dict[str, str] = {{'tapfoo': {str(src / 'tapfoo')!r}}}\n"
        finder += f"def install():\n    sys.path.insert(0, {str(src)!r})\n"
        (site / "__editable___tapfoo_0_1_finder.py").write_text(finder)
    return venv, cli


@pytest.mark.parametrize("style", ["pth", "finder"])
def test_an_editable_connector_in_its_own_venv_is_asked_again_when_its_source_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, style: str
) -> None:
    """A scaffolded tap installed as its README says (`make install`: its own .venv, editable)
    and named by its script: the script never changes while tap_foo/ does, and the answer was
    kept (the user's cache outlived even clearing .tapwell/)."""
    monkeypatch.setattr(probe, "_RECENT_SECONDS", 0.0)  # a run's start reuses a walk for 2 s
    venv, cli = _own_venv(tmp_path, style)
    script = venv / "bin" / "tap-foo"  # what pip writes for a console script
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom tapfoo.cli import main\n"
        "if __name__ == '__main__':\n    sys.exit(main())\n"
    )
    script.chmod(0o755)
    as_module = [str(venv / "bin" / "python"), "-m", "tapfoo.cli"]
    (tmp_path / "src" / "tapfoo" / "__main__.py").write_text("")
    cli.write_text(cli.read_text() + "if __name__ == '__main__':\n    main()\n")

    assert _ask(tmp_path, [str(script)]) == "about v1"
    assert _ask(tmp_path, as_module) == "about v1"
    cli.write_text(cli.read_text().replace("about v1", "about v2, a new capability"))
    st = cli.stat()
    os.utime(cli, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _ask(tmp_path, [str(script)]) == "about v2, a new capability"
    assert _ask(tmp_path, as_module) == "about v2, a new capability"


def test_two_runs_asking_at_the_same_time_keep_both_answers(tmp_path: Path) -> None:
    """Each run rewrote the cache files from what it read before asking: the slower one dropped
    the answer the faster one had kept meanwhile (two integrations started together, found
    walking the audit: 2 of 4 answers in the user's file, every time)."""
    slow = _script(tmp_path / "tap-slow", "about slow")
    slow.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(0.6)\nprint('about slow')\n")
    fast = _script(tmp_path / "tap-fast", "about fast")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = threading.Thread(target=_ask, args=(tmp_path / "one", [str(slow)]))
    first.start()
    time.sleep(0.2)  # the slow run has read the (empty) files and is asking
    assert _ask(tmp_path / "two", [str(fast)]) == "about fast"
    first.join()
    kept = orjson.loads((probe.user_cache_dir() / "p.json").read_bytes())
    assert sorted(kept.values()) == ["about fast", "about slow"]
