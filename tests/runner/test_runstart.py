"""`tapwell run`'s start-up before the tap starts (issue 21, task runstart): modules only other
commands or a failed attempt use are not imported, tapwell.yml is parsed by libyaml when PyYAML
has it (its errors still PyYAML's own words), and a connector's kept `--about` is read from the
project's cache without reading the user's (every project's answers, 165 KB seen)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tapwell.runner import probe
from tapwell.runner import project as project_module
from tapwell.runner.probe import cached_probe

REPO = Path(__file__).resolve().parents[2]

# what `import tapwell.runner.cli` (every `tapwell` command) imported and `tapwell run` never
# used before its tap starts: the connectors' settings kit, the failure's description (read
# when an attempt failed), `secrets` (its hmac) for a run id's 3 random bytes
NOT_AT_START = ["tapwell.sdk.settings", "tapwell.runner.failure", "secrets", "hmac"]


def test_importing_the_cli_leaves_out_what_a_run_does_not_use_to_start() -> None:
    code = (
        "import sys\nimport tapwell.runner.cli\n"
        f"print([m for m in {NOT_AT_START!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")
def test_the_project_file_is_parsed_by_libyaml_with_pyyamls_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaders: list[object] = []
    real = yaml.load
    monkeypatch.setattr(
        yaml, "load", lambda text, Loader: loaders.append(Loader) or real(text, Loader)
    )
    project = project_module.load_project(REPO / "tapwell.yml")
    assert loaders == [yaml.CSafeLoader]
    assert project.raw == real((REPO / "tapwell.yml").read_text(), Loader=yaml.SafeLoader)
    assert project_module.PARSER.endswith(
        " libyaml"
    )  # a pass kept by the other parser is not this one's


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")
def test_a_file_libyaml_refuses_is_said_in_pyyamls_words() -> None:
    text = "integrations:\n  a:\n\ttap: tap-csv\n"
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as ours:
        project_module.safe_load(text)
    assert str(ours.value) == str(pure.value)
    assert "found character '\\t' that cannot start any token" in str(ours.value)


def test_the_users_cache_is_read_only_for_what_the_projects_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "conn.py"
    script.write_text("print('about')\n")
    one, two = [sys.executable, str(script)], [sys.executable, str(script), "x"]
    read: list[Path] = []
    real = probe.read_cache
    monkeypatch.setattr(probe, "read_cache", lambda path: read.append(path) or real(path))

    def ask(argv: list[str]) -> object:
        return cached_probe(tmp_path, "p.json", argv, "--about", lambda d: d.stdout.decode(), bool)

    ask(one)  # asked: kept in both files
    project_file, user_file = probe.cache_paths(tmp_path, "p.json")
    read.clear()
    assert ask(one) == "about\n"
    assert read == [project_file]  # the project's file had it
    read.clear()
    (tmp_path / "other").mkdir()
    assert cached_probe(
        tmp_path / "other", "p.json", one, "--about", lambda d: d.stdout.decode(), bool
    )
    assert read[-1] == user_file  # a new project: the user's file answers
    read.clear()
    assert ask(two) == "about\n"  # asked: neither file had it
    assert read[:2] == [project_file, user_file]
