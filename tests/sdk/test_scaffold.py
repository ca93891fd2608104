"""`tapwell new`: the scaffolded repos pass their own tests the moment they are made.

The slow test does what a user does: scaffold, install tapwell (from this checkout, as a built
wheel, so the templates must ship as package data) and the new tap into a fresh venv, run the tap's
own pytest, then run it under `tapwell run` into target-jsonl, twice (the second run resumes from
the saved bookmark)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tapwell.sdk.scaffold import scaffold
from tapwell.singer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MAKE_ENV = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")  # set when `make test` runs us


def test_scaffold_files_and_names(tmp_path: Path) -> None:
    dest = scaffold("tap", "tap-example", tmp_path)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "Makefile",
        "README.md",
        "config.json",
        "pyproject.toml",
        "tap_example/__init__.py",
        "tap_example/config.schema.json",
        "tap_example/streams.py",
        "tap_example/tap.py",
        "tests/test_conformance.py",
    ]
    text = "".join(p.read_text() for p in dest.rglob("*") if p.is_file())
    assert "{{" not in text and "__package__" not in text
    assert 'tap-example = "tap_example.tap:main"' in (dest / "pyproject.toml").read_text()
    assert (
        "\t$(BIN)/pytest -q" in (dest / "Makefile").read_text()
    )  # make needs tabs, and $$ survives
    json.loads((dest / "tap_example" / "config.schema.json").read_text())


def test_scaffold_refuses_bad_names_and_non_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Singer taps are named tap-SOMETHING; try tap-example"):
        scaffold("tap", "example", tmp_path)
    with pytest.raises(ConfigError, match="is not a usable name"):
        scaffold("target", "target_Bad", tmp_path)
    (tmp_path / "target-x").mkdir()
    (tmp_path / "target-x" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="already exists and is not empty"):
        scaffold("target", "target-x", tmp_path)


def test_cli_new_target_in_this_venv(bin_path: Path, tmp_path: Path) -> None:
    """The target scaffold's own tests pass, run in place against this checkout's tapwell."""
    proc = subprocess.run(
        [str(bin_path / "tapwell"), "new", "target", "target-example", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(
        f"tapwell: made target target-example in {tmp_path / 'target-example'}"
    )
    repo = tmp_path / "target-example"
    env = {
        **os.environ,
        "PYTHONPATH": str(repo),
        "PATH": f"{repo / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    # A console script without installing: a tiny launcher on PATH for the test to find.
    (repo / "bin").mkdir()
    launcher = repo / "bin" / "target-example"
    launcher.write_text(f"#!{sys.executable}\nfrom target_example.target import main\nmain()\n")
    launcher.chmod(0o755)
    test_file = repo / "tests" / "test_conformance.py"
    test_file.write_text(
        test_file.read_text().replace(
            'shutil.which("target-example", path=str(Path(sys.executable).parent))', f'"{launcher}"'
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(repo / "tests")],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "VIRTUAL_ENV": ""},
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def _jsonl_config(tmp_path: Path) -> Path:
    path = tmp_path / "suite-jsonl.json"
    path.write_text(json.dumps({"destination_path": str(tmp_path / "suite-out")}))
    return path


@pytest.mark.slow
def test_new_tap_in_a_fresh_venv_passes_its_tests_and_runs_under_tapwell(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    # tapwell as a built wheel, not editable: the templates and the .singer suite must ship in it
    _run([*pip, str(ROOT)], tmp_path, timeout=600)
    tapwell = str(venv / "bin" / "tapwell")
    _run([tapwell, "new", "tap", "tap-example", "--dir", str(tmp_path)], tmp_path)
    repo = tmp_path / "tap-example"
    # tapwell came from a local folder (not editable): the repo depends on that folder
    assert f'dependencies = ["tapwell @ {ROOT.as_uri()}"]' in (repo / "pyproject.toml").read_text()
    _run([*pip, "-e", f"{repo}[dev]"], tmp_path, timeout=600)
    suite = _run(
        [
            tapwell,
            "check",
            "target",
            "--case",
            "types",
            "--case",
            "bad_json",
            "--",
            str(venv / "bin" / "target-jsonl"),
            "--config",
            str(_jsonl_config(tmp_path)),
        ],
        tmp_path,
    )
    assert suite.stdout.endswith("target: conforms\n")

    tests = _run([str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"], repo)
    assert "2 passed" in tests.stdout

    out = tmp_path / "output"
    project = tmp_path / "project"
    project.mkdir()
    (project / "tapwell.yml").write_text(
        json.dumps(
            {
                "integrations": {
                    "example": {
                        "tap": {
                            "name": "tap-example",
                            "command": [str(venv / "bin" / "tap-example")],
                            "config": {"item_count": 12},
                        },
                        "target": {
                            "name": "target-jsonl",
                            "config": {"destination_path": str(out)},
                        },
                    }
                }
            }
        )
    )
    _run([tapwell, "--project", str(project), "run", "example"], project)
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(1, 13))
    assert rows[0] == {
        "id": 1,
        "name": "item 1",
        "price": 9.99,
        "updated_at": "2024-01-01T00:00:00+00:00",
    }
    _run(
        [tapwell, "--project", str(project), "run", "example"], project
    )  # resumes from the bookmark
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [*range(1, 13), 12]  # >= the bookmark: the last item again


def test_scaffolded_code_is_lint_clean(bin_path: Path, tmp_path: Path) -> None:
    for kind in ("tap", "target"):
        scaffold(kind, f"{kind}-lint", tmp_path)
    proc = subprocess.run(
        [
            str(bin_path / "ruff"),
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "E,F,W,I,B,UP,SIM",
            "--line-length",
            "120",
            "--target-version",
            "py311",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout


def _readme_commands(repo: Path) -> str:
    """The first ```sh block of a scaffolded README: the commands it tells a user to type."""
    text = (repo / "README.md").read_text()
    return text.split("```sh\n", 1)[1].split("```", 1)[0]


def _follow_readme(repo: Path) -> subprocess.CompletedProcess[str]:
    """Type the README's commands in the repo, as a user does, in one shell (so `. activate`
    holds for the lines after it); the user's own tapwell venv is not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", *MAKE_ENV)}
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    script = "set -euo pipefail\n" + _readme_commands(repo)
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, f"{script}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_scaffolded_repos_install_and_follow_their_readme_twice(
    bin_path: Path, tmp_path: Path
) -> None:
    """A user with tapwell from a clone (this checkout's venv) runs `tapwell new tap|target`,
    then types its README's commands (`make install` into the repo's own fresh .venv, `make
    test`, `make check`, a first sync with no state, a resumed sync), and again: the repo
    depends on this very tapwell, so its install needs no index that has tapwell."""
    for kind in ("tap", "target"):
        made = subprocess.run(
            [str(bin_path / "tapwell"), "new", kind, f"{kind}-readme", "--dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
    tap, target = tmp_path / "tap-readme", tmp_path / "target-readme"
    requirement = f"tapwell @ {ROOT.as_uri()}"
    for repo in (tap, target):
        assert f'dependencies = ["{requirement}"]' in (repo / "pyproject.toml").read_text()
        assert requirement in (repo / "README.md").read_text()

    for run in (1, 2):
        done = _follow_readme(tap)
        assert "2 passed" in done.stdout and "tap: conforms" in done.stdout
        rows = [json.loads(x) for x in (tap / "output" / "items.jsonl").read_text().splitlines()]
        # each pass: the first sync sends all 10 items, the resumed one the bookmark's item again
        assert [r["id"] for r in rows] == [*range(1, 11), 10] * run
        state = json.loads((tap / "state.json").read_text())
        assert state["bookmarks"]["items"]["replication_key_value"] == "2024-01-01T09:00:00+00:00"

        done = _follow_readme(target)
        assert "2 passed" in done.stdout and "target: conforms" in done.stdout
        assert json.loads(done.stdout.splitlines()[-1]) == {"bookmarks": {"items": {"id": 2}}}
        con = sqlite3.connect(target / "output.sqlite")
        try:
            rows = con.execute('SELECT id, name, price FROM "items" ORDER BY id').fetchall()
        finally:
            con.close()
        assert rows == [(1, "first", "12345678901234.567890123"), (2, "", None)]


@pytest.mark.slow
def test_tapwell_from_an_index_makes_repos_that_pin_its_version(tmp_path: Path) -> None:
    """tapwell installed from an index (here a folder index: pip --find-links, recorded like
    PyPI, without a direct URL): the scaffold pins `tapwell==VERSION`, and the repo's `make
    install` finds it on that index."""
    from tapwell import __version__

    wheels = tmp_path / "index"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        tmp_path,
    )
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    _run(
        [*pip, "--find-links", str(wheels), "-c", str(ROOT / "constraints.txt"), "tapwell"],
        tmp_path,
    )
    _run(
        [str(venv / "bin" / "tapwell"), "new", "tap", "tap-indexed", "--dir", str(tmp_path)],
        tmp_path,
    )
    repo = tmp_path / "tap-indexed"
    assert f'dependencies = ["tapwell=={__version__}"]' in (repo / "pyproject.toml").read_text()
    assert f"tapwell {__version__} from your package index" in (repo / "README.md").read_text()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", *MAKE_ENV)}
    env["PIP_FIND_LINKS"] = f"{os.environ.get('PIP_FIND_LINKS', '')} {wheels}".strip()
    done = subprocess.run(
        ["make", "install"], cwd=repo, capture_output=True, text=True, timeout=900, env=env
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (repo / ".venv" / "bin" / "tapwell").exists()
