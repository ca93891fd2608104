"""Packaging as a user meets it: the wheel's metadata (an SPDX license, no singer-sdk in the
core, one retry library, py.typed, the templates), `--version` on every executable, a venv that
holds what constraints.txt pins, and a fresh clone whose `make demo` installs only the demo's
packages and whose README install line works as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def installed(name: str) -> metadata.Distribution | None:
    """The installed distribution (a build's `tapwell.egg-info` in the working folder aside)."""
    found = list(metadata.distributions(name=name))
    return next((d for d in found if d.read_text("INSTALLER")), found[0] if found else None)


def closure(name: str, extras: set[str]) -> set[str]:
    """The canonical names of `name` and everything it requires with those extras, installed."""
    seen: set[str] = set()
    done: set[tuple[str, frozenset[str]]] = set()
    todo = [(name, frozenset(extras))]
    while todo:
        dist_name, wanted = todo.pop()
        key = canonicalize_name(dist_name)
        if (key, wanted) in done:
            continue
        done.add((key, wanted))
        dist = installed(dist_name)
        if dist is None:
            continue  # a requirement whose marker excludes this platform
        requires = dist.requires or []
        seen.add(key)
        envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
        for line in requires:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return seen


TAPWELL_EXTRAS = set(PYPROJECT["project"]["optional-dependencies"])


def test_no_two_installed_requirements_write_the_same_package_folder() -> None:
    """`backoff` and `python-backoff` both install backoff/: the second overwrites the first, and
    uninstalling either breaks the other. Nothing tapwell requires may share a folder."""
    owners: dict[str, set[str]] = {}
    wanted = closure("tapwell", TAPWELL_EXTRAS) - {"tapwell"}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name not in wanted:
            continue
        for file in dist.files or []:
            top = file.parts[0]
            if top.endswith((".dist-info", ".data")) or top in ("..", "__pycache__"):
                continue
            if len(file.parts) > 1 or top.endswith(".py"):
                owners.setdefault(top.removesuffix(".py"), set()).add(name)
    shared = {folder: sorted(names) for folder, names in owners.items() if len(names) > 1}
    assert shared == {}


def test_core_dependencies_leave_singer_sdk_to_the_tests() -> None:
    core = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    assert "singer-sdk" not in core and not core & {"sqlalchemy", "requests"}
    assert len(core & {"backoff", "python-backoff"}) == 1
    dev = [Requirement(r).name for r in PYPROJECT["project"]["optional-dependencies"]["dev"]]
    assert "singer-sdk" in dev  # the oracle of tests/singer/test_catalog_singerlib_oracle.py
    core_closure = closure("tapwell", set())
    assert "singer-sdk" not in core_closure, "something in the core pulls singer-sdk in again"


def test_wheel_has_an_spdx_license_py_typed_and_the_templates(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert "deprecat" not in (build.stdout + build.stderr).lower()  # the license-table warning
    [wheel] = tmp_path.glob("tapwell-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in meta.splitlines()
    requires = [
        line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Requires-Dist: ")
    ]
    sdk = [r for r in requires if Requirement(r).name == "singer-sdk"]
    assert sdk and all('extra == "dev"' in r for r in sdk)
    assert "tapwell/py.typed" in names
    assert "tapwell/sdk/scaffold/templates/target/sample.singer.tmpl" in names
    assert any(n.startswith("tapwell/sdk/check/suite/") and n.endswith(".singer") for n in names)
    # Every package of the source tree is in the wheel, where pyproject's package-dir puts it
    # (a new connector left out of `packages = [...]` fails here), and nothing lands beside
    # tapwell/ (tap_mysql/, target_postgres/ ... are other Singer packages' import names).
    for folder, package in {"runner/tapwell": "tapwell", "taps": "tapwell/taps",
                            "targets": "tapwell/targets"}.items():  # fmt: skip
        for init in (ROOT / folder).rglob("__init__.py"):
            module = f"{package}/{init.relative_to(ROOT / folder).as_posix()}"
            if "/templates/" not in module:
                assert module in names, f"{module} is missing: add it to pyproject's packages"
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"tapwell"}, tops


@pytest.mark.parametrize("script", sorted(PYPROJECT["project"]["scripts"]))
def test_every_executable_prints_its_version(script: str) -> None:
    done = subprocess.run(
        [str(BIN / script), "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"{script} {PYPROJECT['project']['version']}\n",
        "",
    )


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not NAME==VERSION"
            out[canonicalize_name(name)] = version
    return out


def test_this_venv_holds_what_constraints_txt_pins() -> None:
    """`make install` installs with --constraint constraints.txt: what tapwell needs here is what
    CI tested. A new dependency without `make lock` fails here, naming it."""
    pinned = pins()
    wanted = closure("tapwell", TAPWELL_EXTRAS) - {"tapwell"}
    unpinned = sorted(wanted - set(pinned))
    assert unpinned == [], f"not in constraints.txt (run `make lock`): {unpinned}"
    versions = {n: installed(n).version for n in wanted}  # type: ignore[union-attr]
    differ = {n: (v, pinned[n]) for n, v in versions.items() if v != pinned[n]}
    assert differ == {}, "installed != pinned (run `make install`, or `make lock`)"


def _run(cmd: list[str], cwd: Path, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
    env = {k: v for k, v in os.environ.items() if k not in drop}  # as typed, also under make
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if Path(p) != BIN)
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{cmd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _readme_pip_line() -> str:
    readme = (ROOT / "README.md").read_text()
    [line] = re.findall(r"^pip install [^\n#]+", readme, flags=re.M)
    return line.strip()


@pytest.mark.slow
def test_fresh_clone_make_demo_twice_installs_only_the_demo(tmp_path: Path) -> None:
    """`git clone ... && make demo`, twice, as the README says (of the committed tree)."""
    clone = tmp_path / "tapwell"
    _run(["git", "clone", "-q", str(ROOT), str(clone)], tmp_path)
    first = _run(["make", "demo"], clone)
    assert "demo: tap-csv -> target-duckdb finished" in first.stdout + first.stderr
    second = _run(["make", "demo"], clone)
    assert "pip install" not in second.stdout  # installed once
    out = _run(
        [str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"], clone
    )
    installed = {canonicalize_name(line.split("==")[0]) for line in out.stdout.splitlines()}
    assert {"duckdb", "orjson", "tapwell"} <= installed
    extra = installed & {
        "mysqlclient",
        "psycopg2-binary",
        "psycopg",
        "psycopg-binary",
        "pytest",
        "ruff",
        "mypy",
        "singer-sdk",
        "kubernetes",
    }
    assert extra == set(), f"make demo installed what the demo does not need: {sorted(extra)}"
    # the README's own install line, in a venv of the user's
    venv = tmp_path / "user-venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    line = _readme_pip_line()
    _run(["bash", "-c", f". {venv}/bin/activate && {line}"], clone)
    for script in ("tap-mysql", "target-postgres", "tapwell"):
        done = _run([str(venv / "bin" / script), "--version"], clone)
        assert done.stdout.startswith(f"{script} ")
