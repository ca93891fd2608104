"""Issue 20.1, the target side: an ACTIVATE_VERSION whose version no record came with retires
nothing (a tap that crashed right after starting a new version emptied a 150,000-row table),
unless the tap says `"empty": true`. Every target, through its command line, run as a user runs
it: the bad run twice, as a runner retrying would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.targets import (
    TARGET_PARAMS,
    TargetRun,
    activate,
    lines,
    make_target,
    record,
    schema,
    state,
)

PROPS = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}


@pytest.fixture(params=TARGET_PARAMS)
def target(request: pytest.FixtureRequest, bin_path: Path, tmp_path: Path) -> TargetRun:
    pg = request.getfixturevalue("pg_db") if request.param == "target-postgres" else None
    return make_target(request.param, bin_path, tmp_path, pg)


def full_table(version: int, ids: list[int]) -> bytes:
    """A FULL_TABLE sync as singer-io taps send it: ACTIVATE_VERSION, records, ACTIVATE_VERSION."""
    rows = [record("orders", {"id": i, "v": f"r{i}"}, version=version) for i in ids]
    return lines(
        schema("orders", PROPS, ["id"]),
        activate("orders", version),
        *rows,
        activate("orders", version),
        state({"bookmarks": {"orders": {"version": version}}}),
    )


def incremental(ids: list[int]) -> bytes:
    rows = [record("orders", {"id": i, "v": f"r{i}"}) for i in ids]
    return lines(schema("orders", PROPS, ["id"]), *rows, state({"bookmarks": {"orders": {}}}))


CRASHED = lines(schema("orders", PROPS, ["id"]), activate("orders", 99))  # then the tap died


def warnings(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if "ACTIVATE_VERSION 99" in line]


@pytest.mark.parametrize("hard_delete", [True, False])
@pytest.mark.parametrize("first", ["full_table", "incremental"])
def test_a_new_version_without_records_retires_nothing(
    target: TargetRun, hard_delete: bool, first: str
) -> None:
    settings: dict[str, Any] = {"hard_delete": hard_delete, "add_metadata_columns": True}
    ids = list(range(1, 51))
    load = full_table(1, ids) if first == "full_table" else incremental(ids)
    assert target.run(load, **settings).returncode == 0
    assert target.live_ids("orders") == ids
    for _ in range(2):  # the runner retries the crashed tap: the same messages again
        result = target.run(CRASHED, **settings)
        assert result.returncode == 0, result.stderr
        assert target.live_ids("orders") == ids
        found = warnings(result.stderr)
        assert len(found) == 1, result.stderr  # once per stream
        assert "no rows were retired" in found[0] and "'orders'" in found[0]


@pytest.mark.parametrize("hard_delete", [True, False])
def test_an_empty_table_said_so_is_retired(target: TargetRun, hard_delete: bool) -> None:
    settings = {"hard_delete": hard_delete}
    assert target.run(full_table(1, [1, 2, 3]), **settings).returncode == 0
    result = target.run(
        lines(schema("orders", PROPS, ["id"]), activate("orders", 2, empty=True)), **settings
    )
    assert result.returncode == 0, result.stderr
    assert warnings(result.stderr) == []
    if target.name != "target-jsonl":  # a file keeps what it was sent
        assert target.live_ids("orders") == []


@pytest.mark.parametrize("hard_delete", [True, False])
def test_the_usual_full_table_sync_still_retires_what_it_did_not_send(
    target: TargetRun, hard_delete: bool
) -> None:
    settings = {"hard_delete": hard_delete}
    assert target.run(full_table(1, [1, 2, 3, 4]), **settings).returncode == 0
    result = target.run(full_table(2, [2, 3]), **settings)
    assert result.returncode == 0, result.stderr
    assert "ACTIVATE_VERSION" not in result.stderr.decode()  # the opening one warns about nothing
    if target.name != "target-jsonl":
        assert target.live_ids("orders") == [2, 3]


def test_empty_must_be_a_boolean(target: TargetRun) -> None:
    bad = lines(schema("orders", PROPS, ["id"]), activate("orders", 2, empty="yes"))
    result = target.run(bad)
    assert result.returncode == 65
    assert result.stderr.decode().splitlines() == [
        f"{target.name}: error: stdin line 2, stream 'orders': ACTIVATE_VERSION message's "
        "'empty' must be true or false, got str"
    ]
