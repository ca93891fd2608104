"""State recovered from our targets' own state tables (target-postgres, target-duckdb) with no
settings, the run's rows when attempts replay rows, and taps that take --properties only."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from helpers.runner_project import RUNNER_DIR, duckdb_target, fake_integration
from helpers.tiers import services_param

PG_PASSWORD = "pg-s3cret-pw"


def pg_target(db: dict) -> dict:
    return {
        "name": "target-postgres",
        "config": {
            "host": db["host"],
            "port": db["port"],
            "user": db["user"],
            "password": PG_PASSWORD,  # trust auth ignores it; it must never be printed
            "dbname": db["dbname"],
            "default_target_schema": "loaded",
            "batch_size_rows": 40,
        },
    }


class Dest:
    """Read back what the target committed: its state row and the loaded ids."""

    def __init__(self, kind: str, proj, db: dict | None) -> None:
        self.kind, self.proj, self.db = kind, proj, db

    def target(self) -> dict:
        return pg_target(self.db) if self.kind == "postgres" else duckdb_target(self.proj)

    def _query(self, sql: str, args: list) -> list[tuple]:
        if self.kind == "postgres":
            import psycopg2

            conn = psycopg2.connect(
                host=self.db["host"],
                port=self.db["port"],
                user=self.db["user"],
                dbname=self.db["dbname"],
            )
            try:
                with conn.cursor() as cur:
                    cur.execute(sql.replace("?", "%s"), args)
                    return cur.fetchall()
            finally:
                conn.close()
        import duckdb

        con = duckdb.connect(str(self.proj.root / "out.duckdb"), read_only=True)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def state(self, state_id: str) -> dict:
        if self.kind == "postgres":
            sql = "SELECT value::text FROM loaded.tapwell_state WHERE id = ?"
        else:
            sql = "SELECT value::VARCHAR FROM main._tapwell_state WHERE id = ?"
        rows = self._query(sql, [state_id])
        assert len(rows) == 1, rows
        return json.loads(rows[0][0])

    def ids(self) -> list[int]:
        schema = "loaded" if self.kind == "postgres" else "main"
        return [r[0] for r in self._query(f'SELECT id FROM {schema}."items" ORDER BY id', [])]


@pytest.fixture(params=["duckdb", services_param("postgres")])
def dest(request, proj) -> Dest:
    db = request.getfixturevalue("pg_db") if request.param == "postgres" else None
    return Dest(request.param, proj, db)


def test_state_recover_reads_the_targets_own_table(proj, dest):
    proj.write({"integrations": {"r": fake_integration(proj, rows=80, target=dest.target())}})
    done = proj.cli("run", "r")
    assert done.returncode == 0, done.stderr
    committed = dest.state("r")  # the runner keyed the row by the integration's name
    assert committed == {"bookmarks": {"items": {"last_id": 80}}}
    (proj.root / "state" / "r.json").unlink()
    assert proj.cli("state", "show", "r").returncode == 2
    got = proj.cli("state", "recover", "r")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == committed
    assert json.loads(proj.cli("state", "show", "r").stdout) == committed
    assert "recovered from target-" in got.stderr
    assert PG_PASSWORD not in got.stdout + got.stderr + done.stderr
    same = proj.cli("state", "recover", "r")  # equal to the saved one: no --force needed
    assert same.returncode == 0, same.stderr


def test_lost_state_resumes_from_the_destination(proj, dest):
    raw = fake_integration(
        proj, mode="die", fail_times=1, fail_after=50, rows=120, target=dest.target()
    )
    raw["retry"] = {"attempts": 1, "backoff_seconds": 0}
    proj.write({"integrations": {"lost": raw}})
    first = proj.cli("run", "lost")
    assert first.returncode == 1, first.stderr
    committed = dest.state("lost")
    assert committed == {"bookmarks": {"items": {"last_id": 50}}}
    shutil.rmtree(proj.root / "state")  # the runner's copy is gone (an ephemeral disk)
    second = proj.cli("run", "lost")
    assert second.returncode == 0, second.stderr
    assert "no saved state: resuming from the state the target committed" in second.stderr
    assert proj.starts() == [0, 50]
    assert dest.ids() == list(range(1, 121))
    assert json.loads(proj.cli("state", "show", "lost").stdout) == dest.state("lost")


def test_destination_ahead_after_a_failed_run_wins_unless_changed_by_hand(proj):
    raw = fake_integration(proj, mode="die", fail_times=2, fail_after=50, rows=120)
    raw["retry"] = {"attempts": 1, "backoff_seconds": 0}
    proj.write({"integrations": {"a": raw}})
    assert proj.cli("run", "a").returncode == 1
    state_file = proj.root / "state" / "a.json"
    # the runner died between the target's commit at 50 and saving it: its copy says 25
    state_file.write_text(json.dumps({"bookmarks": {"items": {"last_id": 25}}}))
    assert proj.cli("run", "a").returncode == 1  # attempt 2 fails too, from 50
    assert proj.starts() == [0, 50]
    # a state set by hand is the user's word: kept although the destination differs
    assert (
        proj.cli(
            "state", "set", "a", "-", stdin=b'{"bookmarks": {"items": {"last_id": 10}}}'
        ).returncode
        == 0
    )
    done = proj.cli("run", "a")
    assert done.returncode == 0, done.stderr
    assert proj.starts() == [0, 50, 10]
    assert proj.duckdb_rows() == [(i, f"v{i}") for i in range(1, 121)]
    # cleared by hand: the next run syncs everything, the destination does not undo the clear
    assert proj.cli("state", "clear", "a", "--force").returncode == 0
    again = proj.cli("run", "a")
    assert again.returncode == 0 and "cleared by hand" in again.stderr
    assert proj.starts() == [0, 50, 10, 0]


def test_recovery_can_be_turned_off_and_third_party_targets_need_a_query(proj):
    raw = fake_integration(proj, rows=20)
    raw["state"] = {"recover": False}
    proj.write({"integrations": {"off": raw}})
    assert proj.cli("run", "off").returncode == 0
    out = proj.cli("state", "recover", "off")
    assert out.returncode == 2 and "state.recover: {dsn, query}" in out.stderr
    raw["state"] = {"recover": {"dsn": "host=x"}}
    proj.write({"integrations": {"off": raw}})
    bad = proj.cli("run", "off")
    assert bad.returncode == 2
    assert "integrations.off.state.recover is missing 'query': add it" in bad.stderr


def test_run_rows_are_the_last_attempts_and_attempts_are_kept_apart(proj, expected_rows):
    # attempt 1 sends 110 rows; its last state is at 100, so attempt 2 replays 101..110
    proj.write(
        {"integrations": {"rows": fake_integration(proj, mode="die", fail_times=1, fail_after=110)}}
    )
    done = proj.cli("run", "rows")
    assert done.returncode == 0, done.stderr
    assert proj.starts() == [0, 100]
    assert proj.duckdb_rows() == expected_rows(300)
    assert "200 rows in the last attempt, 110 in earlier failed ones" in done.stderr
    record = json.loads(
        next(
            p for p in (proj.root / "state" / ".runs").glob("*.json") if p.name[0] != "."
        ).read_text()
    )
    assert record["rows"] == {"items": 200}
    assert record["attempt_rows"] == [{"items": 110}, {"items": 200}]
    table = proj.cli("runs", "rows").stdout.splitlines()
    assert "200 (+110 earlier)" in table[1]


def test_metric_increments_are_summed_and_rated_per_line():
    from tapwell.runner.attempt import Metrics

    m = Metrics()
    counter = 'INFO METRIC: {"type": "counter", "metric": "record_count", "value": %d, "tags": {"stream": "s"}}'
    m.feed("target", counter % 5000)
    m.feed("target", counter % 7000)
    m.feed(
        "target",
        'METRIC: {"type": "timer", "metric": "sync_duration", "value": 1.5, "tags": {"stream": "s"}}',
    )
    m.feed("tap", counter % 99999)  # the target's count wins for the stream
    assert m.rows() == {"s": 12000}
    assert m.line("n").startswith("tapwell: n: s 12,000 rows (")
    m.feed("target", counter % 3)
    assert m.rows() == {"s": 12003}
    m.last_tick -= 1.0  # a second since the last line: the rate is the rows since then
    assert m.line("n") == "tapwell: n: s 12,003 rows (3 rows/s)"


OLD_TAP = [sys.executable, str(RUNNER_DIR / "old_tap.py")]


def _old_tap_project(proj, flag: str | None) -> None:
    tap = {"name": "tap-old", "command": OLD_TAP, "config": {"rows": 7}}
    if flag:
        tap["catalog_flag"] = flag
    proj.write({"integrations": {"old": {"tap": tap, "target": duckdb_target(proj)}}})


def test_old_tap_gets_properties_found_from_its_help_once(proj):
    counter = proj.root / "help.txt"
    env = {"OLD_TAP_HELP_COUNTER": str(counter)}
    _old_tap_project(proj, None)
    assert proj.cli("discover", "old", env=env).returncode == 0
    for _ in range(2):
        done = proj.cli("run", "old", env=env)
        assert done.returncode == 0, done.stderr
    assert counter.read_text() == "help\n"  # asked once, then cached
    import duckdb

    con = duckdb.connect(str(proj.root / "out.duckdb"), read_only=True)
    assert con.execute('SELECT count(*), max(id) FROM main."ids"').fetchone() == (7, 7)
    con.close()
    _old_tap_project(proj, "--catalog")  # told wrong: the tap refuses the flag
    wrong = proj.cli("run", "old", env=env)
    assert wrong.returncode == 2 and "unrecognized arguments: --catalog" in wrong.stderr
    counter.unlink()
    _old_tap_project(proj, "--properties")  # told right: no --help needed
    assert proj.cli("run", "old", env=env).returncode == 0
    assert not counter.exists()


def test_recover_from_an_unreachable_destination_is_one_line_without_the_password(proj):
    target = pg_target({"host": "127.0.0.1", "port": 1, "user": "postgres", "dbname": "nowhere"})
    proj.write({"integrations": {"u": fake_integration(proj, rows=5, target=target)}})
    out = proj.cli("state", "recover", "u")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert lines[0].startswith(
        'tapwell: error: state recovery from target-postgres nowhere: "loaded".'
    )
    assert "cannot connect" in lines[0] and PG_PASSWORD not in out.stderr


def test_runner_killed_mid_run_resumes_from_the_later_committed_state(proj):
    """SIGKILL the runner alone: its connectors die with it (tapwell.runner.guard), the destination
    keeps its last commit. When the runner's copy of the state lags the destination by a commit
    (it died between the target's commit and saving the printed state, simulated by putting the
    file one checkpoint back), the next run starts from the destination's commit."""
    import signal
    import subprocess
    import time

    import duckdb
    from helpers.runner_project import BIN

    raw = fake_integration(
        proj,
        mode="wait",
        rows=60,
        state_every=10,
        release=str(proj.root / "go"),
        target=duckdb_target(proj, batch_rows=5),
    )
    proj.write({"integrations": {"k": raw}})
    run = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(proj.root), "run", "k", "--quiet"],
        stderr=subprocess.DEVNULL,
    )
    state_file = proj.root / "state" / "k.json"
    deadline = time.monotonic() + 60
    while not (state_file.exists() and '"last_id": 50' in state_file.read_text()):
        assert time.monotonic() < deadline, "no commit at 50"
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    (proj.root / "go").touch()  # an orphaned tap would finish now; none is left to do it

    def committed() -> dict | None:
        try:
            con = duckdb.connect(str(proj.root / "out.duckdb"), read_only=True)
        except duckdb.Error:
            return None  # the target still holds the file
        try:
            row = con.execute("SELECT value::VARCHAR FROM main._tapwell_state").fetchone()
        finally:
            con.close()
        return json.loads(row[0]) if row else None

    while committed() is None:
        assert time.monotonic() < deadline + 60, "the killed run's target never let go"
        time.sleep(0.1)
    time.sleep(0.5)
    assert committed() == {"bookmarks": {"items": {"last_id": 50}}}  # nothing loaded after death
    state_file.write_text(json.dumps({"bookmarks": {"items": {"last_id": 40}}}))
    again = proj.cli("run", "k")
    assert again.returncode == 0, again.stderr
    assert "the previous run did not finish: resuming from the state the target committed" in (
        again.stderr
    )
    assert proj.starts() == [0, 50]
    assert proj.duckdb_rows() == [(i, f"v{i}") for i in range(1, 61)]
