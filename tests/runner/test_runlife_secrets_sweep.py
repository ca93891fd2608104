"""Secrets sweep: after each failure scenario, every output and every file a user can read
(stderr, stdout, the run log, run records and state history, `tapwell runs` / `tapwell logs`,
temporary folders) is searched for the secrets and the pieces of them a driver may quote."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from helpers.runner_project import BIN, KILLER_TARGET, duckdb_target, fake_integration
from helpers.tiers import services_param

# unencoded '%', '/' and '#' inside URL/DSN passwords, as users paste them
DB_PW = "Zq%9xK/Wv7kPm#Yt"
TAP_PW = "s3cret-Tap-pw"
NEEDLES = [DB_PW, unquote(DB_PW), "Zq%9xK", "9xK/", "Wv7kPm", "kPm#Yt", TAP_PW, "Tap-pw"]


def _sweep(proj, texts: list[str]) -> None:
    """No needle in any text, or in any file under the project and the temporary folder."""
    found = []
    for text in texts:
        found += [n for n in NEEDLES if n in text]
    for path in [*proj.root.rglob("*")]:
        if path.is_file() and path.name != "tapwell.yml":
            data = path.read_bytes()
            found += [f"{path}: {n}" for n in NEEDLES if n.encode() in data]
    assert not found, found


def _all_outputs(proj, env, *results) -> list[str]:
    texts = [r.stdout + r.stderr for r in results]
    runs = proj.cli("runs", env=env)
    texts.append(runs.stdout + runs.stderr)
    for line in runs.stdout.splitlines()[1:]:
        logs = proj.cli("logs", line.split()[0], env=env)
        texts.append(logs.stdout + logs.stderr)
    return texts


@pytest.fixture
def env(proj):
    tmp = proj.root / "tmp"
    tmp.mkdir()
    return {"TMPDIR": str(tmp), "TAP_PW": TAP_PW, "DB_PW": DB_PW}


def _write(proj, target=None, **tap):
    raw = fake_integration(proj, rows=60, password="${TAP_PW}", **tap)
    if target is not None:
        raw["target"] = target
    raw["retry"] = {"attempts": 2, "backoff_seconds": 0}
    proj.write({"integrations": {"s": raw}})


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://postgres:{pw}@127.0.0.1:5432/postgres",  # unparseable URL
        "host=127.0.0.1 port=1 user=postgres password={pw} dbname=postgres",  # unreachable
        # refused by the shared server
        services_param("host=127.0.0.1 port=5432 user=no_such_role password={pw} dbname=postgres"),
    ],
)
def test_state_dsn_password_never_printed(proj, env, dsn):
    _write(proj)
    env = {**env, "TAPWELL_STATE_BACKEND": "postgres", "TAPWELL_STATE_DSN": dsn.format(pw=DB_PW)}
    results = [
        proj.cli(*args, env=env) for args in (["run", "s"], ["run", "s"], ["state", "show", "s"])
    ]
    for r in results:
        assert r.returncode in (2, 75), r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stderr.startswith("tapwell: error: state backend: ")
    _sweep(proj, _all_outputs(proj, env, *results))


def test_target_url_password_never_printed(proj, env, pg_db):
    url = f"postgresql://nobody:{DB_PW}@127.0.0.1:5432/{pg_db['dbname']}"
    target = {"name": "target-postgres", "config": {"sqlalchemy_url": url}}
    _write(proj, target=target)
    results = [proj.cli("run", "s", env=env) for _ in range(2)]
    for r in results:
        assert r.returncode != 0 and "Traceback" not in r.stderr
    _sweep(proj, _all_outputs(proj, env, *results))


def test_connector_errors_and_kills_never_print_the_password(proj, env, expected_rows):
    _write(proj, mode="config")
    results = [proj.cli("run", "s", env=env)]
    assert results[-1].returncode == 2

    killer = {
        "name": "killer-target",
        "command": KILLER_TARGET,
        "config": {
            "real": str(BIN / "target-duckdb"),
            "real_config": duckdb_target(proj)["config"],
            "counter": str(proj.root / "target-attempts.txt"),
            "kill_after": 30,
            "password": "${TAP_PW}",
        },
    }
    _write(proj, target=killer)
    results.append(proj.cli("run", "s", env=env))
    assert results[-1].returncode == 0, results[-1].stderr
    _sweep(proj, _all_outputs(proj, env, *results))


def test_killed_runner_leaves_no_config_files_behind(proj, env, expected_rows):
    _write(proj, mode="wait", release=str(proj.root / "go"))
    tmp = Path(env["TMPDIR"])
    first = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(proj.root), "run", "s"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(tmp.glob("tapwell-run-*/tap.json")):
        assert time.monotonic() < deadline, "the run never wrote its config files"
        time.sleep(0.05)
    first.kill()
    first.wait()
    assert list(tmp.glob("tapwell-run-*/tap.json"))  # what a killed runner leaves
    (proj.root / "go").touch()
    again = proj.cli("run", "s", env=env)
    assert again.returncode == 0, again.stderr
    assert proj.duckdb_rows() == expected_rows(60)
    assert not list(tmp.iterdir()), list(tmp.iterdir())
    _sweep(proj, _all_outputs(proj, env, again))
