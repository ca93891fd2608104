"""target-postgres never prints a password (issue 20.6): a password with an unencoded `%`, `/`
or `@` inside `sqlalchemy_url` was printed, whole or in part, through libpq's error text. Every
failure a user meets (a refusing port, an unreachable host, a wrong password) is one line with
no piece of the password in anything the target prints."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from helpers.pg_server import ThrowawayPostgres, free_port
from helpers.pg_target import error_line, record, run_target, schema, state

pytestmark = pytest.mark.services

PASSWORDS = ["s3cr%t/pa@ss", "p%2Fwq/xordq%zz", "/lead%slash", "tail/with%", "x:y/z%41@w"]
MESSAGES = [schema("s", {"id": {"type": "integer"}}, ["id"]), record("s", {"id": 1}), state({})]


def pieces(password: str) -> set[str]:
    """What of a password must never be printed: itself, decoded, and its pieces of 4+."""
    found = {password, unquote(password)}
    for text in (password, unquote(password)):
        found.update(p for p in re.split(r"[/@:%]", text) if len(p) >= 4)
    return found


def assert_masked(done: Any, password: str) -> str:
    line = error_line(done)
    for piece in pieces(password):
        assert piece not in done.stderr and piece not in done.stdout, (piece, done.stderr)
    return line


@pytest.fixture(scope="module")
def locked_server() -> Iterator[ThrowawayPostgres]:
    """A server that requires a password (scram-sha-256) over TCP."""
    why = ThrowawayPostgres.missing()
    if why:
        pytest.skip(why)
    pg = ThrowawayPostgres(password="right-one")
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


@pytest.mark.parametrize("password", PASSWORDS)
def test_url_passwords_are_masked_against_a_refusing_port_and_an_unreachable_host(
    tmp_path: Path, password: str
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        hosts = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{silent.getsockname()[1]}"]
        for host in hosts:
            url = f"postgresql+psycopg2://loader:{password}@{host}/warehouse"
            done = run_target({"sqlalchemy_url": url, "connect_timeout": 2}, MESSAGES, tmp_path)
            assert done.returncode == 75, done.stderr
            line = assert_masked(done, password)
            assert line.startswith(
                f"target-postgres: error: cannot connect to PostgreSQL at {host}"
            )


@pytest.mark.parametrize("password", PASSWORDS)
def test_url_and_plain_passwords_are_masked_when_the_server_refuses_them(
    locked_server: ThrowawayPostgres, tmp_path: Path, password: str
) -> None:
    port = locked_server.port
    url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    for config in ({"sqlalchemy_url": url}, {**locked_server.config, "password": password}):
        done = run_target(config, MESSAGES, tmp_path)
        assert done.returncode == 2, done.stderr
        assert "refused the credentials" in assert_masked(done, password)


def test_a_url_password_with_unencoded_characters_is_the_one_the_server_gets(
    tmp_path: Path,
) -> None:
    why = ThrowawayPostgres.missing()
    if why:
        pytest.skip(why)
    password = "s3cr%t/pa@ss:w"
    pg = ThrowawayPostgres(password=password)
    try:
        pg.start()
        url = f"postgresql://postgres:{password}@127.0.0.1:{pg.port}/postgres"
        done = run_target({"sqlalchemy_url": url}, MESSAGES, tmp_path)
        assert done.returncode == 0, done.stderr
    finally:
        pg.stop()
