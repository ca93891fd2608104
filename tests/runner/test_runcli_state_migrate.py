"""`tapwell state migrate --to postgres|file` (11.22): moving to the PostgreSQL state backend
keeps every integration's state, state history and runs, and back; a destination that already
holds any of them is refused without --force. Real files, real PostgreSQL, the CLI."""

from __future__ import annotations

import json

from helpers.runner_project import fake_integration


def pg_dsn(db):
    return f"host={db['host']} port={db['port']} user={db['user']} dbname={db['dbname']}"


def history(proj, name, *target):
    done = proj.cli("state", "history", name, "--limit", "100", *target)
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


def test_migrate_keeps_each_fanout_targets_own_state_and_history(proj, pg_db):
    """An integration with targets: [...] keeps a state per target (NAME@TARGET) beside its own:
    migrate copies them all, so a secondary that is behind stays behind (and catches up from
    its own state) rather than resuming from the integration's, skipping rows."""
    from helpers.runner_project import duckdb_target

    dsn = pg_dsn(pg_db)
    fan = fake_integration(proj)
    fan.pop("target")
    fan["targets"] = [
        duckdb_target(proj),
        {"name": "target-jsonl", "config": {"destination_path": str(proj.root / "out2")}},
    ]
    raw = {"integrations": {"fan": fan}}
    proj.write(raw)
    assert proj.cli("run", "fan", "--quiet").returncode == 0
    behind = b'{"bookmarks": {"items": {"last_id": 100}}}'
    done = proj.cli("state", "set", "fan", "-", "--target", "target-jsonl", stdin=behind)
    assert done.returncode == 0, done.stderr

    def seen() -> tuple:
        shown = proj.cli("state", "show", "fan")
        assert shown.returncode == 0, shown.stderr
        return (
            json.loads(shown.stdout),
            proj.cli("state", "show", "fan", "--target", "target-jsonl").stdout,
            history(proj, "fan"),
            *(history(proj, "fan", "--target", t) for t in ("target-duckdb", "target-jsonl")),
        )

    before = seen()
    assert before[0] == {
        "target-duckdb": {"bookmarks": {"items": {"last_id": 300}}},
        "target-jsonl": {"bookmarks": {"items": {"last_id": 100}}},
    }
    done = proj.cli("state", "migrate", "--to", "postgres", "--dsn", dsn)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        "tapwell: fan: state, 1 history entry, 1 run(s) copied; "
        "the own states of its targets target-duckdb (state, 1 history entry), "
        "target-jsonl (state, 2 history entries)"
    )
    proj.write({**raw, "state": {"backend": "postgres", "dsn": dsn}})
    assert seen() == before

    # the secondary catches up from its own migrated state
    done = proj.cli("run", "fan", "--target", "target-jsonl", "--quiet")
    assert done.returncode == 0, done.stderr
    assert proj.starts()[-1] == 100

    # a destination holding only a target's own state (and its history) is taken too
    other = proj.root / "other"
    proj.write({**raw, "state": {"backend": "file", "path": str(other)}})
    done = proj.cli("state", "migrate", "--to", "file", "--dsn", dsn)
    assert done.returncode == 0, done.stderr
    (other / "fan.json").unlink()
    for p in (other / ".runs").glob("*"):
        p.unlink()
    (other / ".history" / "fan.jsonl").unlink()
    done = proj.cli("state", "migrate", "--to", "file", "--dsn", dsn)
    assert done.returncode == 2 and "already holds state or runs of fan;" in done.stderr
