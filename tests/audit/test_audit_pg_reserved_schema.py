"""target-postgres: a schema name PostgreSQL keeps for itself (`pg_...`, SQLSTATE 42939) is the
config's mistake: one line naming the setting, exit 2 (config: the runner does not retry it).
It was exit 1, which `tapwell run` retried after 30 s for the same error (audit 2026-12-07:
`default_target_schema: pg_on`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import error_line, query, record, run_target, schema, state

pytestmark = pytest.mark.services


@pytest.mark.parametrize(
    "config",
    [
        {"default_target_schema": "pg_audit"},
        {"schema_mapping": {"t": {"target_schema": "pg_audit"}}},
    ],
)
def test_a_reserved_schema_name_is_a_config_error(
    pg_db: dict[str, Any], tmp_path: Path, config: dict[str, Any]
) -> None:
    messages = [schema("t", {"id": {"type": "integer"}}, ["id"]), record("t", {"id": 1})]
    done = run_target({**pg_db, **config}, [*messages, state({"p": 1})], tmp_path)
    assert done.returncode == 2, done.stderr
    line = error_line(done)
    assert "stream 't': cannot create or change its table: unacceptable schema name" in line
    assert '"pg_audit"' in line
    assert "choose another default_target_schema" in line
    assert query(pg_db, "SELECT 1 FROM pg_namespace WHERE nspname = 'pg_audit'") == []
