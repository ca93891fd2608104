"""Secrets as connectors print them (URL-encoded, JSON-escaped), the values of secret-named
`${VAR}`s wherever tapwell.yml places them, and short secrets that masking must not garble."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest
from tapwell.runner.project_env import secret_env_values
from tapwell.singer.config import SECRET_ENV_NAME, redact, secret_values

PW = 'p@ss w/rd"é😀'


@pytest.mark.parametrize(
    "printed",
    [
        PW,
        quote(PW, safe=""),
        quote(PW),
        quote_plus(PW),
        json.dumps(PW)[1:-1],
        json.dumps(PW, ensure_ascii=False)[1:-1],
    ],
)
def test_a_secret_is_masked_in_every_form_a_connector_prints(printed):
    line = f"tap: error: login refused with {printed}, giving up"
    assert (
        redact(line, secret_values({"password": PW}))
        == "tap: error: login refused with ***, giving up"
    )


@pytest.mark.parametrize(
    "name",
    [
        "PG_PASSWORD",
        "DB_PASS",
        "MYSQL_PWD",
        "API_TOKEN",
        "CLIENT_SECRET",
        "S3_KEY",
        "KEY",
        "ENCRYPTION_KEY_V2",
        "AWS_CREDENTIALS",
    ],
)
def test_secret_looking_variable_names(name):
    assert SECRET_ENV_NAME.search(name)


@pytest.mark.parametrize("name", ["PG_HOST", "PG_USER", "PG_PORT", "SCHEMA", "KEYSPACE_NAME"])
def test_variable_names_that_are_not_secrets(name):
    assert not SECRET_ENV_NAME.search(name)


def test_secret_variables_wherever_they_are_placed(monkeypatch):
    monkeypatch.setenv("PG_PASSWORD", "Hunter2-pw")
    monkeypatch.setenv("PG_HOST", "db.example")
    raw = {
        "key": "${PG_PASSWORD}",
        "conn_opts": ["-c", "password=${PG_PASSWORD} sslmode=require"],
        "host": "${PG_HOST}",
        "token": "${API_TOKEN:-from-default}",
    }
    assert sorted(secret_env_values(raw, {})) == ["Hunter2-pw", "Hunter2-pw", "from-default"]
    assert sorted(secret_env_values({"k": "${S3_KEY}"}, {"S3_KEY": "from-env-file"})) == [
        "from-env-file"
    ]


def test_short_secrets_never_garble_a_line():
    secrets = secret_values({"password": "ab", "token": "abc", "auth": "true"})
    line = "abcdef: exit 1 ab, true key=abc"
    assert redact(line, secrets) == "abcdef: exit 1 ab, true key=***"
