"""tap-mysql given a corrupt `--state` file (issue 20.1/20.9): one line naming the bad key, exit 2,
and not a single message on stdout, so no target starts a new table version and retires rows.
The shapes are the generic ones every tapwell tap refuses in tapwell.sdk.tap_cli; the checks of
tap-mysql's own bookmark values are tap-mysql's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql, write_json
from helpers.state_shapes import GENERIC_SHAPES

pytestmark = pytest.mark.services


@pytest.fixture
def two_tables(mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> dict[str, Any]:
    sql(
        mysql_db,
        "CREATE TABLE inc (id INT PRIMARY KEY, updated_at DATETIME(6))",
        "INSERT INTO inc VALUES (1, '2024-01-01 00:00:00'), (2, '2024-01-02 00:00:00')",
        "CREATE TABLE full_t (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO full_t VALUES (1, 'a'), (2, 'b')",
    )
    found = discover(bin_path, tmp_path, mysql_db)
    inc = select(found, "inc", "INCREMENTAL", "updated_at")["streams"]
    full = select(found, "full_t", "FULL_TABLE")["streams"]
    return {"streams": inc + full}


def test_the_catalog_syncs_with_a_good_state(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, two_tables: dict[str, Any]
) -> None:
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=two_tables, state={"bookmarks": {}})
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(records(messages(proc.stdout))) == 4


@pytest.mark.parametrize(("content", "expected"), GENERIC_SHAPES)
def test_tap_mysql_refuses_a_corrupt_state_file(
    mysql_db: dict[str, Any],
    bin_path: Path,
    tmp_path: Path,
    two_tables: dict[str, Any],
    content: bytes,
    expected: str,
) -> None:
    import subprocess

    sid = f"{mysql_db['database']}-inc".encode()
    state = tmp_path / "state.json"
    state.write_bytes(content.replace(b"customers", sid))
    cmd = [
        str(bin_path / "tap-mysql"),
        "--config",
        str(write_json(tmp_path / "config.json", mysql_db)),
        "--catalog",
        str(write_json(tmp_path / "catalog.json", two_tables)),
        "--state",
        str(state),
    ]
    proc = subprocess.run(cmd, capture_output=True, timeout=300)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2, err
    assert proc.stdout == b"", "nothing may be written before the state is checked"
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    want = expected.replace("{path}", str(state)).replace("customers", sid.decode())
    assert lines[0].startswith(f"tap-mysql: error: {want}"), err
