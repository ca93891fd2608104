"""`tapwell state migrate --to postgres|file` (11.22): moving to the PostgreSQL state backend
keeps every integration's state, state history and runs, and back; a destination that already
holds any of them is refused without --force. Real files, real PostgreSQL, the CLI."""

from __future__ import annotations

import json

from helpers.runner_project import fake_integration


def pg_dsn(db):
    return f"host={db['host']} port={db['port']} user={db['user']} dbname={db['dbname']}"


def history(proj, name):
    done = proj.cli("state", "history", name, "--limit", "100")
    assert done.returncode == 0, done.stderr
    return [line.split(None, 2)[2] for line in done.stdout.splitlines()]  # run id and state


def runs(proj, name):
    done = proj.cli("runs", name)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_migrate_to_postgres_and_back_keeps_state_history_and_runs(proj, pg_db):
    dsn = pg_dsn(pg_db)
    raw = {"integrations": {"a": fake_integration(proj, rows=50), "b": fake_integration(proj)}}
    proj.write(raw)
    for _ in range(2):
        assert proj.cli("run", "a").returncode == 0
    done = proj.cli("state", "set", "b", "-", stdin=b'{"bookmarks": {"items": {"id": 7}}}')
    assert done.returncode == 0, done.stderr
    before = {n: (proj.cli("state", "show", n).stdout, history(proj, n)) for n in "ab"}
    runs_before = runs(proj, "a")
    run_id = runs_before.splitlines()[1].split()[0]  # under the header: the newest run

    done = proj.cli("state", "migrate", "--to", "postgres", "--dsn", dsn)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "tapwell: a: state, 2 history entries, 2 run(s) copied",
        "tapwell: b: state, 1 history entry, 0 run(s) copied",
        "tapwell: copied 2 integration(s) from the file backend "
        f"({proj.root / 'state'}) to the postgres backend (schema tapwell); now set "
        "`state: {backend: postgres, dsn: ${TAPWELL_STATE_DSN}}` in tapwell.yml "
        "(the source is left as it was)",
    ]

    proj.write({**raw, "state": {"backend": "postgres", "dsn": dsn, "path": "back"}})
    after = {n: (proj.cli("state", "show", n).stdout, history(proj, n)) for n in "ab"}
    assert after == before
    assert runs(proj, "a") == runs_before
    logs = proj.cli("logs", run_id)
    assert logs.returncode == 0 and "[tapwell] run" in logs.stdout

    # A second migrate finds the destination taken; --force copies over it.
    done = proj.cli("state", "migrate", "--to", "postgres", "--dsn", dsn)
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            "tapwell: error: state migrate: the postgres backend (schema tapwell) already holds "
            "state or runs of a, b; add --force to copy over them (their current state is "
            "replaced, their history kept)"
        ],
    )

    # The next run resumes from the migrated state: nothing is synced again.
    starts = len(proj.starts())
    assert proj.cli("run", "a").returncode == 0
    assert proj.starts()[starts:] == [50]

    # And back to files, into the (empty) folder state.path names.
    done = proj.cli("state", "migrate", "--to", "file")  # the dsn from tapwell.yml
    assert done.returncode == 0, done.stderr
    assert "a: state, 3 history entries, 3 run(s) copied" in done.stderr
    proj.write({**raw, "state": {"backend": "file", "path": "back"}})
    assert json.loads(proj.cli("state", "show", "b").stdout) == {"bookmarks": {"items": {"id": 7}}}
    assert len(history(proj, "a")) == 3 and runs(proj, "a").count("succeeded") == 3
    done = proj.cli("state", "migrate", "--to", "file")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            "tapwell: error: state migrate: no PostgreSQL backend named: pass --dsn, set "
            "TAPWELL_STATE_DSN, or write state.dsn in tapwell.yml"
        ],
    )
    done = proj.cli("state", "migrate", "--to", "file", "--dsn", dsn, "--force")
    assert done.returncode == 0, done.stderr
