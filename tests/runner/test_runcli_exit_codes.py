"""`tapwell discover` and `tapwell validate` exit with the documented codes (11.16): 2 for a
wrong password (fix the config, never retry), 75 for an unreachable host (try again later),
1 only for a breaking change; against the real MariaDB, as a nightly cron job runs them."""

from __future__ import annotations

import socket

import MySQLdb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mysql_project(proj, db, port=None):
    proj.write(
        {
            "integrations": {
                "shop": {
                    "tap": {
                        "name": "tap-mysql",
                        "config": {
                            "host": db["host"],
                            "port": port or db["port"],
                            "user": db["user"],
                            "password": "${MYSQL_PASSWORD:-}",
                            "filter_dbs": db["database"],
                        },
                    },
                    "target": {"name": "target-jsonl", "config": {"destination_path": "out"}},
                    "select": ["*"],
                }
            }
        }
    )


def execute(db, sql):
    con = MySQLdb.connect(
        host=db["host"], port=db["port"], user=db["user"], passwd=db["password"], db=db["database"]
    )
    try:
        con.cursor().execute(sql)
        con.commit()
    finally:
        con.close()


def test_wrong_password_exits_2_unreachable_75_breaking_change_1(proj, mysql_db):
    execute(mysql_db, "CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2))")
    mysql_project(proj, mysql_db)
    assert proj.cli("discover", "shop").returncode == 0

    for command in ("discover", "validate"):
        done = proj.cli(command, "shop", env={"MYSQL_PASSWORD": "not-the-password"})
        assert done.returncode == 2, (command, done.stderr)
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("tapwell: error: tap-mysql --discover failed (exit 2): ")
        assert "check user and password" in line and "not-the-password" not in line

    mysql_project(proj, mysql_db, port=free_port())
    for command in ("discover", "validate"):
        done = proj.cli(command, "shop")
        assert done.returncode == 75, (command, done.stderr)
        [line] = done.stderr.strip().splitlines()
        assert "cannot reach MySQL" in line

    mysql_project(proj, mysql_db)
    assert proj.cli("validate", "shop").returncode == 0
    execute(mysql_db, "ALTER TABLE orders DROP COLUMN amount")
    done = proj.cli("validate", "shop")
    assert done.returncode == 1, done.stderr
    assert "BREAKING" in done.stdout and "column removed: amount" in done.stdout
