"""tap-mysql INCREMENTAL on a DECIMAL replication key (issue 11.8): every run used to end in
`TypeError: cannot pickle 'orjson.Fragment' object` (the state's bookmark copied with deepcopy).
The user's path: a first run, then runs resuming from the state each one ended with; the bookmark
keeps every digit, and only rows at or past it come again."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql, states, write_json
from tapwell.singer.wire import dumps

pytestmark = pytest.mark.services

BIG = "12345678901234567890.1234567891"  # 30 digits: no float holds it
NEXT = "12345678901234567890.1234567892"  # past BIG in its 30th digit only


def resume(
    bin_path: Path, tmp: Path, config: dict[str, Any], catalog: dict[str, Any], state: Any
) -> subprocess.CompletedProcess[bytes]:
    """`tap-mysql --config c.json --catalog cat.json --state state.json`, the state file holding
    what the last run's final STATE said, byte for byte as a runner saves it."""
    (tmp / "state.json").write_bytes(dumps(state))
    cmd = [str(bin_path / "tap-mysql"), "--config", str(write_json(tmp / "c.json", config))]
    cmd += ["--catalog", str(write_json(tmp / "cat.json", catalog))]
    return subprocess.run([*cmd, "--state", str(tmp / "state.json")], capture_output=True)


def test_incremental_on_a_decimal_key_resumes_exactly(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(
        mysql_db,
        "CREATE TABLE ledger (id INT PRIMARY KEY, amount DECIMAL(30,10) NOT NULL)",
        f"INSERT INTO ledger VALUES (1, 1.5), (2, {BIG}), (3, -0.0000000001)",
    )
    catalog = select(discover(bin_path, tmp_path, mysql_db), "ledger", "INCREMENTAL", "amount")
    sid = catalog["streams"][0]["tap_stream_id"]

    first = run_tap(bin_path, tmp_path, mysql_db, catalog=catalog)
    assert first.returncode == 0, first.stderr.decode()
    assert "Traceback" not in first.stderr.decode()
    msgs = messages(first.stdout)
    assert sorted(r["id"] for r in records(msgs)) == [1, 2, 3]
    state = states(msgs)[-1]
    assert state["bookmarks"][sid]["replication_key_value"] == Decimal(BIG)
    assert f'"replication_key_value":{BIG}' in first.stdout.decode()  # written with every digit

    second = resume(bin_path, tmp_path, mysql_db, catalog, state)
    assert second.returncode == 0, second.stderr.decode()
    again = messages(second.stdout)
    assert [r["id"] for r in records(again)] == [2]  # the row at the bookmark, nothing older
    assert states(again)[-1]["bookmarks"][sid]["replication_key_value"] == Decimal(BIG)

    sql(mysql_db, f"INSERT INTO ledger VALUES (4, {NEXT}), (5, 0)")
    third = resume(bin_path, tmp_path, mysql_db, catalog, states(again)[-1])
    assert third.returncode == 0, third.stderr.decode()
    last = messages(third.stdout)
    assert sorted(r["id"] for r in records(last)) == [2, 4]
    assert states(last)[-1]["bookmarks"][sid]["replication_key_value"] == Decimal(NEXT)
