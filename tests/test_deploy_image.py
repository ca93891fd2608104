"""The Dockerfile the CronJobs' image comes from: offline, its COPY sources exist and are not
ignored, its working folder, PATH and entrypoint are what `tapwell schedule kubernetes` writes,
it runs as a non-root user from a slim base, and the entrypoint works when run by hand; where a
Docker engine answers, the image is built and runs the demo."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def ignored(path: str) -> bool:
    patterns = [
        p.strip()
        for p in (ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pat) or fnmatch.fnmatch(prefix, pat.removeprefix("**/"))
        for pat in patterns
        for prefix in prefixes
    )


def test_copy_sources_exist_and_are_not_ignored() -> None:
    copies = [shlex.split(args) for word, args in instructions() if word == "COPY"]
    assert copies
    for args in copies:
        if any(a.startswith("--from") for a in args):
            continue
        sources = [a for a in args if not a.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repo"
            assert not ignored(source), f"Dockerfile copies {source}, which .dockerignore drops"
    for needed in ("tapwell.yml", "catalogs", "constraints.txt"):
        assert any(needed in args for args in copies), f"the image lacks {needed}"


def test_image_runs_what_the_cronjobs_say_as_a_non_root_user(tmp_path: Path) -> None:
    from tapwell.runner.project import load_project
    from tapwell.runner.schedule import PROJECT_DIR, write_kubernetes

    steps = instructions()
    final = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    last_stage = steps[final:]
    assert steps[0][0] == "ARG" and "-slim" in steps[0][1]  # FROM ${PYTHON_IMAGE}
    workdir = [args for word, args in last_stage if word == "WORKDIR"][-1]
    user = [args for word, args in last_stage if word == "USER"][-1]
    env = " ".join(args for word, args in last_stage if word == "ENV")
    entrypoint = json.loads([args for word, args in last_stage if word == "ENTRYPOINT"][-1])
    assert user.split(":")[0] not in ("0", "root")
    assert "PATH=/opt/tapwell/bin:" in env  # where the build stage's venv puts `tapwell`
    assert any(
        "python -m venv /opt/tapwell" in args and "'.[all]'" in args
        for word, args in steps
        if word == "RUN"
    )
    assert any("tapwell install" in args for word, args in steps if word == "RUN")
    assert entrypoint == ["tapwell-entrypoint"]
    assert "COPY deploy/entrypoint.sh /usr/local/bin/tapwell-entrypoint" in [
        f"{w} {a}" for w, a in last_stage
    ]
    # the CronJobs of the example project run `tapwell run NAME` in that folder
    for path in write_kubernetes(load_project(ROOT), tmp_path, log=lambda line: None):
        import yaml

        doc = yaml.safe_load(path.read_text())
        container = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["workingDir"] == workdir == PROJECT_DIR
        assert container["command"] == ["tapwell"] and container["args"][0] == "run"


@pytest.mark.parametrize(
    "image_line", [None, "  image: registry.example/t:2", '  image: "q.example/t:3"  # quoted']
)
def test_make_image_tags_what_the_cronjobs_run(tmp_path: Path, image_line: str | None) -> None:
    """`make image` (dry run) tags the image with the name the manifests carry."""
    from tapwell.runner.project import load_project
    from tapwell.runner.schedule import image

    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lines = (ROOT / "tapwell.yml").read_text().splitlines()
    lines = [line for line in lines if not line.startswith("  image:")]
    if image_line:
        lines.insert(lines.index("kubernetes:") + 1, image_line)
    (tmp_path / "tapwell.yml").write_text("\n".join(lines) + "\n")
    env = {  # as typed at a shell, also when the suite itself runs under `make test`
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "IMAGE")
    }
    done = subprocess.run(
        ["make", "-n", "image"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"docker build -t {image(load_project(tmp_path))} ."


def _entrypoint(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("TAPWELL_INTEGRATION",)}
    clean["PATH"] = f"{BIN}{os.pathsep}{clean['PATH']}"
    return subprocess.run(
        [str(ROOT / "deploy" / "entrypoint.sh"), *args],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, "TAPWELL_PROJECT": str(project), **env},
    )


def test_entrypoint_by_hand_runs_the_demo_twice(tmp_path: Path) -> None:
    """The entrypoint outside docker, on a copy of what the Dockerfile puts in /project."""
    project = tmp_path / "project"
    for part in ("tapwell.yml", "catalogs", "sample/data"):
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, project / part)
        else:
            project.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, project / part)
    (project / "state").mkdir()
    for _ in range(2):
        done = _entrypoint(project, "run", "demo")
        assert done.returncode == 0, done.stderr
    assert (project / "warehouse" / "demo.duckdb").exists()
    assert (project / "state" / "demo.json").exists()

    done = _entrypoint(project)
    assert done.returncode == 2
    assert done.stderr == (
        "tapwell: error: nothing to run: pass a tapwell command (run NAME) or set "
        "TAPWELL_INTEGRATION\n"
    )
    done = _entrypoint(project, TAPWELL_INTEGRATION="demo")
    assert done.returncode == 0, done.stderr


def test_tapwell_install_as_the_dockerfile_runs_it_needs_no_secrets(tmp_path: Path) -> None:
    """The Dockerfile's `RUN mkdir -p state && tapwell install` in /project, with no secrets in
    the environment (a build has none), over the example project, twice (nothing to redo)."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "catalogs", project / "catalogs")
    shutil.copy(ROOT / "tapwell.yml", project / "tapwell.yml")
    (project / "state").mkdir()
    secrets = ("MYSQL_PASSWORD", "PG_PASSWORD", "TAPWELL_STATE_DSN")
    for _ in range(2):
        env = {k: v for k, v in os.environ.items() if k not in secrets}
        done = subprocess.run(
            [str(BIN / "tapwell"), "install"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert "connector(s) installed" in done.stderr


def _engine() -> str | None:
    """Why no image can be built here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        return (
            "no Docker engine answers `docker info`: "
            + (info.stderr.strip().splitlines() or ["?"])[-1]
        )
    return None


@pytest.mark.slow
def test_image_builds_and_runs_the_demo_as_non_root() -> None:
    why = _engine()
    if why:
        pytest.skip(f"cannot build the image: {why}")
    tag = "tapwell-test-image:latest"
    build = subprocess.run(
        ["make", "image", f"IMAGE={tag}"], cwd=ROOT, capture_output=True, text=True, timeout=3000
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    try:
        uid = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert uid.stdout.strip() not in ("", "0"), uid.stderr
        for _ in range(2):
            run = subprocess.run(
                ["docker", "run", "--rm", tag, "run", "demo"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert run.returncode == 0, run.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)
