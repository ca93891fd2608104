"""Shared fixtures: real MariaDB and PostgreSQL on 127.0.0.1, each test in its own uniquely named
database that is dropped afterwards. With TAPWELL_REQUIRE_SERVICES=1 (CI) a missing service fails
the test instead of skipping it.

Tiers: every test that uses a fixture needing a server (SERVICE_FIXTURES) gets the `services`
marker here, at collection, so `make test-fast` (`-m "not services and not slow"`) is exactly the
tests that need nothing. A test that asks for one at run time (`request.getfixturevalue`) must
carry the marker itself (`helpers.tiers.services_param`); the fixtures fail a test that does not.
TAPWELL_TEST_MYSQL_PORT / TAPWELL_TEST_PG_PORT point the fixtures elsewhere (a closed port proves
the fast tier needs no server)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.tiers import SERVICE_FIXTURES, require_services_marker

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REQUIRE = os.environ.get("TAPWELL_REQUIRE_SERVICES") == "1"

MYSQL_PORT = int(os.environ.get("TAPWELL_TEST_MYSQL_PORT") or 3306)
PG_PORT = int(os.environ.get("TAPWELL_TEST_PG_PORT") or 5432)
MYSQL = {"host": "127.0.0.1", "port": MYSQL_PORT, "user": "root", "password": ""}
POSTGRES = {
    "host": "127.0.0.1",
    "port": PG_PORT,
    "user": "postgres",
    "password": "",
    "dbname": "test",
}


@pytest.fixture(autouse=True, scope="session")
def own_user_cache_for_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's own user cache folder (tapwell.runner.probe.user_cache_dir), for this process
    and the `tapwell` processes tests start: a test run never reads or writes the user's
    ~/.cache/tapwell (tests/runner gives each test its own besides)."""
    before = os.environ.get("TAPWELL_CACHE_DIR")
    os.environ["TAPWELL_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if before is None:
        os.environ.pop("TAPWELL_CACHE_DIR", None)
    else:
        os.environ["TAPWELL_CACHE_DIR"] = before


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `services` every test whose fixtures (direct or through other fixtures) need a server."""
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


def service_missing(name: str, why: object) -> None:
    message = f"{name} is not reachable on 127.0.0.1 ({why})"
    if REQUIRE:
        pytest.fail(message + "; TAPWELL_REQUIRE_SERVICES=1 makes this a failure")
    pytest.skip(message)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def mysql_db(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A fresh MariaDB database; yields a tap-mysql style config with `database` set."""
    require_services_marker(request, "mysql_db")
    try:
        import MySQLdb
    except ImportError as exc:  # pragma: no cover
        pytest.fail(f"mysqlclient is not installed: {exc}")
    try:
        conn = MySQLdb.connect(
            host=MYSQL["host"], port=MYSQL["port"], user=MYSQL["user"], passwd=MYSQL["password"]
        )
    except MySQLdb.OperationalError as exc:
        service_missing("MariaDB", exc)
    name = unique_name("tw")
    conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield {**MYSQL, "database": name, "filter_dbs": name}
    finally:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def pg_db(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A fresh PostgreSQL database; yields a target-postgres style config."""
    require_services_marker(request, "pg_db")
    try:
        import psycopg2
    except ImportError as exc:  # pragma: no cover
        pytest.fail(f"psycopg2 is not installed: {exc}")
    try:
        admin = psycopg2.connect(**POSTGRES)
    except psycopg2.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    admin.autocommit = True
    name = unique_name("tw")
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield {**POSTGRES, "dbname": name, "database": name}
    finally:
        admin.cursor().execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def bin_path() -> Path:
    """The folder holding this virtualenv's executables (tap-csv, target-duckdb, tapwell, ...)."""
    return BIN


SNAPSHOTS = ROOT / "tests" / "snapshots"


@pytest.fixture
def snapshot():
    """Compare text with a golden file under tests/snapshots; `make snapshots`
    (TAPWELL_UPDATE_SNAPSHOTS=1) rewrites the golden files on purpose."""

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("TAPWELL_UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path}; run `make snapshots` to create it"
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            got, want = text.splitlines(), expected.splitlines()
            first = next(
                (i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want))
            )
            pytest.fail(
                f"{name} differs from the golden file at line {first + 1} "
                f"(got {len(got)} lines, golden {len(want)}):\n"
                f"  got:    {got[first] if first < len(got) else '<end>'}\n"
                f"  golden: {want[first] if first < len(want) else '<end>'}\n"
                "If the change is intended, run `make snapshots` and review the diff."
            )

    return check
