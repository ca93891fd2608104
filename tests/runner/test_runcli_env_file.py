"""`env_file:` in tapwell.yml (11.21): cron starts `tapwell run` with none of the `${VAR}`
secrets; a dotenv file beside tapwell.yml provides them, and the environment wins over it."""

from __future__ import annotations

import duckdb
import pytest


def project(proj, env_text="CSV_DIR=data\nDUCK_PATH='with space.duckdb'\n", env_file="secrets.env"):
    data = proj.root / "data"
    data.mkdir(exist_ok=True)
    (data / "t.csv").write_text("id,name\n1,a\n2,b\n")
    (proj.root / "secrets.env").write_text(env_text)
    proj.write(
        {
            "env_file": env_file,
            "integrations": {
                "csv": {
                    "tap": {
                        "name": "tap-csv",
                        "config": {
                            "base_dir": "${CSV_DIR}",
                            "streams": [{"name": "t", "path": "t.csv", "key_properties": ["id"]}],
                        },
                    },
                    "target": {"name": "target-duckdb", "config": {"path": "${DUCK_PATH}"}},
                }
            },
        }
    )


def rows(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT id, name FROM main.t ORDER BY id").fetchall()
    finally:
        con.close()


@pytest.fixture(autouse=True)
def cron_environment(monkeypatch):
    for name in ("CSV_DIR", "DUCK_PATH"):
        monkeypatch.delenv(name, raising=False)


def test_cron_run_reads_the_env_file_and_the_environment_wins(proj, tmp_path):
    project(proj)
    for _ in range(2):  # cron runs it again and again
        done = proj.cli("run", "csv")
        assert done.returncode == 0, done.stderr
    assert rows(proj.root / "with space.duckdb") == [(1, "a"), (2, "b")]

    other = tmp_path / "from-env.duckdb"
    done = proj.cli("run", "csv", env={"DUCK_PATH": str(other)})
    assert done.returncode == 0, done.stderr
    assert rows(other) == [(1, "a"), (2, "b")]


def test_env_file_problems_are_one_line(proj):
    project(proj, env_file="missing.env")
    done = proj.cli("run", "csv")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            f"tapwell: error: env_file: {proj.root / 'missing.env'} does not exist (create it, "
            "or remove env_file from tapwell.yml)"
        ],
    )
    project(proj, env_text="CSV_DIR=data\nthis is not a line\n")
    done = proj.cli("discover", "csv")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            f"tapwell: error: env_file: {proj.root / 'secrets.env'} line 2: not a NAME=value "
            "line (quote a value with spaces or #, e.g. NAME='a b')"
        ],
    )
    project(proj, env_text="CSV_DIR=data\n")
    done = proj.cli("run", "csv")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "tapwell: error: integrations.csv.target.config.path: environment variable DUCK_PATH is "
        "not set (export it or add it to the env_file, or write ${DUCK_PATH:-default})"
    )


def test_dollar_in_a_value_is_kept(proj):
    project(proj, env_text="CSV_DIR=data\nDUCK_PATH=p$HOME.duckdb\n")
    assert proj.cli("run", "csv").returncode == 0
    assert rows(proj.root / "p$HOME.duckdb") == [(1, "a"), (2, "b")]


def test_an_env_file_or_project_file_that_is_a_folder_is_one_line(proj):
    """A folder where a file should be was an IsADirectoryError traceback."""
    project(proj, env_file="secrets.d")
    (proj.root / "secrets.d").mkdir()
    done = proj.cli("run", "csv")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            f"tapwell: error: env_file: {proj.root / 'secrets.d'} is a folder, not a file: give "
            "the path of the file"
        ],
    )
    done = proj.cli("--project", str(proj.root / "secrets.d"), "run", "csv")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            f"tapwell: error: no project file at {proj.root / 'secrets.d' / 'tapwell.yml'} (run "
            "from the project folder, or pass --project)"
        ],
    )
    (proj.root / "secrets.d" / "tapwell.yml").mkdir()
    done = proj.cli("--project", str(proj.root / "secrets.d"), "run", "csv")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            f"tapwell: error: project file {proj.root / 'secrets.d' / 'tapwell.yml'} is a folder, "
            "not a file: give the path of the file"
        ],
    )
