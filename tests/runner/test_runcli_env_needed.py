"""Each command resolves only the `${VAR}`s it uses (11.18): `discover`, `validate` and `state
show` run without the target's password or the webhook URL; `run` still asks for them, by name."""

from __future__ import annotations

import json
import os

import yaml


def project(proj):
    data = proj.root / "data"
    data.mkdir(exist_ok=True)
    (data / "t.csv").write_text("id,name\n1,a\n")
    proj.write(
        {
            "integrations": {
                "csv": {
                    "tap": {
                        "name": "tap-csv",
                        "config": {
                            "base_dir": "${CSV_DIR}",
                            "streams": [{"name": "t", "path": "t.csv", "key_properties": ["id"]}],
                        },
                    },
                    "target": {
                        "name": "target-postgres",
                        "config": {"host": "127.0.0.1", "password": "${PG_PASSWORD}"},
                    },
                    "select": ["t"],
                    "notify": {"on_failure": "${SLACK_WEBHOOK_URL}"},
                }
            }
        }
    )


def test_discover_validate_state_show_need_only_their_variables(proj, monkeypatch):
    for name in ("PG_PASSWORD", "SLACK_WEBHOOK_URL", "CSV_DIR"):
        monkeypatch.delenv(name, raising=False)
    project(proj)
    env = {"CSV_DIR": "data"}

    done = proj.cli("discover", "csv", env=env)
    assert done.returncode == 0, done.stderr
    done = proj.cli("validate", "csv", env=env)
    assert done.returncode == 0, done.stderr

    state = {"bookmarks": {"t": {"replication_key_value": 1}}}
    done = proj.cli("state", "set", "csv", "-", stdin=json.dumps(state).encode())
    assert done.returncode == 0, done.stderr
    for _ in range(2):
        done = proj.cli("state", "show", "csv")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == state
    assert proj.cli("state", "history", "csv").returncode == 0
    assert proj.cli("runs", "csv").returncode == 0

    # The tap's own variable is still needed by discovery, and named.
    done = proj.cli("discover", "csv")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "tapwell: error: integrations.csv.tap.config.base_dir: environment variable CSV_DIR is "
        "not set (export it, or write ${CSV_DIR:-default})",
    )
    # A run uses the target: it asks for the password, by name, before starting anything.
    done = proj.cli("run", "csv", env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "tapwell: error: integrations.csv.target.config.password: environment variable "
        "PG_PASSWORD is not set (export it, or write ${PG_PASSWORD:-default})"
    )
    assert "PG_PASSWORD" not in os.environ


def test_commands_without_an_integration_read_the_state_dsn_variable(proj, pg_db, monkeypatch):
    monkeypatch.delenv("TAPWELL_STATE_DSN", raising=False)
    monkeypatch.delenv("MY_STATE_DSN", raising=False)
    dsn = f"host={pg_db['host']} port={pg_db['port']} user={pg_db['user']} dbname={pg_db['dbname']}"
    (proj.root / "cron.env").write_text(f"MY_STATE_DSN='{dsn}'\n")
    project(proj)
    raw = yaml.safe_load((proj.root / "tapwell.yml").read_text())
    raw["env_file"] = "cron.env"
    raw["state"] = {"backend": "postgres", "dsn": "${MY_STATE_DSN}"}
    proj.write(raw)
    for args in (("runs",), ("runs", "csv")):
        done = proj.cli(*args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("RUN ID")
    done = proj.cli("logs", "no-such-run")
    assert done.stderr.strip() == (
        "tapwell: error: no run 'no-such-run' in the state backend (see `tapwell runs`)"
    )


def test_run_reads_every_variable_before_it_starts(proj, monkeypatch):
    for name in ("PG_PASSWORD", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    project(proj)
    done = proj.cli("run", "csv", env={"CSV_DIR": "data", "PG_PASSWORD": "pw"})
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            "tapwell: error: integrations.csv.notify.on_failure: environment variable "
            "SLACK_WEBHOOK_URL is not set (export it, or write ${SLACK_WEBHOOK_URL:-default})"
        ],
    )
    assert proj.cli("runs", "csv").stdout.splitlines()[1:] == []  # no run left "running"
