"""target-postgres sends a batch's rows while it is still being read (stream.py): every case in
which that head start must be thrown away leaves the same rows, errors and state as a load
from the whole batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target_cli import lines, query, record, run_target, schema, state, stdout_states

pytestmark = pytest.mark.services

PROPS = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
N = 2500  # rows per batch: the stream opens after the first thousand


def _rows(stream: str, ids: range, tag: str) -> list[dict[str, Any]]:
    return [record(stream, {"id": i, "v": f"{tag}\t{i}"}, version=7) for i in ids]


def test_streamed_batches_load_like_whole_ones(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    config = {**pg_db, "batch_size_rows": N}
    # Run 1: a first batch (no version column yet: loaded whole), then streamed batches; one
    # batch gets a SCHEMA of another stream after its stream opened (the stream is dropped
    # before the table is made, then opens again) and repeats a key (the last one wins).
    msgs = [
        schema("s", PROPS, ["id"]),
        *_rows("s", range(0, N), "a"),
        state({"n": 1}),
        *_rows("s", range(N, N + 1200), "b"),
        schema("t", PROPS, ["id"]),
        *_rows("t", range(0, 50), "t"),
        *_rows("s", range(N + 1200, 2 * N - 100), "b"),
        record("s", {"id": N + 1500, "v": "again"}, version=7),
        *_rows("s", range(2 * N, 4 * N), "c"),
        state({"n": 2}),
    ]
    result = run_target(bin_path, tmp_path, config, lines(*msgs))
    assert result.returncode == 0, result.stderr
    assert stdout_states(result.stdout) == [{"n": 1}, {"n": 2}]
    got = dict(query(pg_db, "SELECT id, v FROM s"))
    want = {i: f"{t}\t{i}" for t, r in (("a", range(N)), ("b", range(N, 2 * N - 100))) for i in r}
    want.update({i: f"c\t{i}" for i in range(2 * N, 4 * N)})
    want[N + 1500] = "again"
    assert got == want
    assert query(pg_db, "SELECT count(*), min(_sdc_table_version) FROM t") == [(50, 7)]
    # Run 2: keys already there (the streamed COPY meets them: merged instead).
    again = [schema("s", PROPS, ["id"]), *_rows("s", range(N, 3 * N), "d"), state({"n": 3})]
    result = run_target(bin_path, tmp_path, config, lines(*again))
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT count(*), count(*) FILTER (WHERE v LIKE 'd%') FROM s") == [
        (4 * N - 100 + 100, 2 * N)
    ]
    # No key properties: appended, streamed too (the second batch on).
    append = [schema("u", PROPS), *_rows("u", range(0, 3 * N), "u"), *_rows("u", range(5), "x")]
    result = run_target(bin_path, tmp_path, config, lines(*append))
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT count(*), count(DISTINCT id) FROM u") == [(3 * N + 5, 3 * N)]


def test_a_refused_value_after_the_stream_opened_commits_nothing_of_its_batch(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    config = {**pg_db, "batch_size_rows": N, "nul_characters": "error"}
    msgs = [
        schema("s", PROPS, ["id"]),
        *_rows("s", range(0, N), "a"),
        state({"n": 1}),
        *_rows("s", range(N, N + 1800), "b"),
        record("s", {"id": 99_999, "v": "nul\u0000"}, version=7),
        *_rows("s", range(N + 1800, 2 * N), "b"),
        state({"n": 2}),
    ]
    result = run_target(bin_path, tmp_path, config, lines(*msgs))
    assert result.returncode == 65
    assert f"line {N + 1803}, stream 's', field 'v': text contains a NUL byte" in result.stderr
    assert stdout_states(result.stdout) == [{"n": 1}]
    assert query(pg_db, "SELECT count(*), max(id) FROM s") == [(N, N - 1)]
    assert query(pg_db, "SELECT value FROM tapwell_state") == [({"n": 1},)]
