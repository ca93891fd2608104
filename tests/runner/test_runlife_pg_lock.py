"""The PostgreSQL store's lock is per integration: two names whose 32-bit `hashtext` collide
run at the same time (one was refused as "already running" while only the other ran)."""

from __future__ import annotations

import subprocess

from helpers.runner_project import BIN, fake_integration, pg_dsn, wait_for

A, B = "i94929", "i148390"  # hashtext('tapwell:run:' || name) is the same for both


def test_names_colliding_under_hashtext_do_not_share_a_lock(proj, pg_db, expected_rows):
    import psycopg2

    conn = psycopg2.connect(pg_dsn(pg_db))
    with conn.cursor() as cur:
        cur.execute("SELECT hashtext(%s) = hashtext(%s)", (f"tapwell:run:{A}", f"tapwell:run:{B}"))
        assert cur.fetchone()[0]
    conn.close()
    first_counter = proj.root / "a-attempts.txt"
    a = fake_integration(proj, mode="wait", rows=30, release=str(proj.root / "go"))
    a["tap"]["config"]["counter"] = str(first_counter)
    a["target"]["config"]["path"] = str(proj.root / "a.duckdb")
    b = fake_integration(proj, rows=30)
    proj.write(
        {
            "state": {"backend": "postgres", "dsn": pg_dsn(pg_db)},
            "integrations": {A: a, B: b},
        }
    )
    first = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(proj.root), "run", A],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(first_counter.exists, f"{A}'s tap to start")
        for _ in range(2):
            second = proj.cli("run", B)
            assert second.returncode == 0, second.stderr
        assert proj.cli("run", A).returncode == 3  # the same name is still refused
    finally:
        (proj.root / "go").touch()
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert proj.duckdb_rows() == expected_rows(30)
