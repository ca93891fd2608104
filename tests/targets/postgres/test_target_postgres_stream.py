"""target-postgres sends a batch's rows while it is still being read (stream.py): every case in
which that head start must be thrown away leaves the same rows, errors and state as a load
from the whole batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import query, record, run_target, schema, state, stdout_states, text_lines

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
    result = run_target(config, text_lines(*msgs), tmp_path)
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
    result = run_target(config, text_lines(*again), tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT count(*), count(*) FILTER (WHERE v LIKE 'd%') FROM s") == [
        (4 * N - 100 + 100, 2 * N)
    ]
    # No key properties: appended, streamed too (the second batch on).
    append = [schema("u", PROPS), *_rows("u", range(0, 3 * N), "u"), *_rows("u", range(5), "x")]
    result = run_target(config, text_lines(*append), tmp_path)
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
    result = run_target(config, text_lines(*msgs), tmp_path)
    assert result.returncode == 65
    assert f"line {N + 1803}, stream 's', field 'v': text contains a NUL byte" in result.stderr
    assert stdout_states(result.stdout) == [{"n": 1}]
    assert query(pg_db, "SELECT count(*), max(id) FROM s") == [(N, N - 1)]
    assert query(pg_db, "SELECT value FROM tapwell_state") == [({"n": 1},)]


def test_each_fallback_to_the_ordinary_load_is_said_once(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """A head start thrown away says why, once per stream and reason, and a key already in the
    table stops the streaming of that stream's batches (they are staged and merged)."""
    config = {**pg_db, "batch_size_rows": N}
    twice = [
        schema("s", PROPS, ["id"]),
        *[
            msg
            for b in range(3)
            for msg in (
                *_rows("s", range(b * N, (b + 1) * N - 1), "a"),
                record("s", {"id": b * N, "v": "again"}, version=7),
            )
        ],
        state({"n": 1}),
    ]
    result = run_target(config, text_lines(*twice), tmp_path)
    assert result.returncode == 0, result.stderr
    said = "stream 's': a batch was loaded again the ordinary way (a key came twice in the batch)"
    assert result.stderr.count(said) == 1, result.stderr
    again = [schema("s", PROPS, ["id"]), *_rows("s", range(0, 3 * N), "d"), state({"n": 2})]
    result = run_target(config, text_lines(*again), tmp_path)
    assert result.returncode == 0, result.stderr
    said = "stream 's': a key already in the table: its batches are staged and merged from now on"
    assert result.stderr.count(said) == 1 and "ordinary way" not in result.stderr, result.stderr
    assert query(pg_db, "SELECT count(*), count(*) FILTER (WHERE v LIKE 'd%') FROM s") == [
        (3 * N, 3 * N)
    ]


def test_metadata_columns_are_encoded_as_read_and_streamed(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """add_metadata_columns: the _sdc_* values go through the row encoder like any property
    (no batch of dicts, nothing said about a slower path), exactly."""
    config = {**pg_db, "batch_size_rows": N, "add_metadata_columns": True}
    at = "2024-05-06T07:08:09.123456+00:00"
    msgs = [
        schema("m", PROPS, ["id"]),
        *[{**r, "time_extracted": at} for r in _rows("m", range(0, 2 * N), "a")],
        state({"n": 1}),
    ]
    result = run_target(config, text_lines(*msgs), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ordinary way" not in result.stderr and "dicts" not in result.stderr, result.stderr
    rows = query(
        pg_db,
        "SELECT count(*), count(DISTINCT _sdc_batched_at), "
        f"count(*) FILTER (WHERE _sdc_extracted_at = '{at}'), min(_sdc_table_version), "
        "count(_sdc_received_at), count(_sdc_sequence), count(_sdc_deleted_at) FROM m",
    )
    assert rows == [(2 * N, 2, 2 * N, 7, 2 * N, 2 * N, 0)]
    assert query(pg_db, "SELECT v FROM m WHERE id = 1234") == [("a\t1234",)]


def test_a_failure_while_settling_a_stream_releases_the_connection(
    pg_db: dict[str, Any],
) -> None:
    """An open streamed COPY holds the connection's lock; a failure in settle must end it, so
    the rollback that follows returns (it hung for ever in a 1M-row load)."""
    import threading
    from types import SimpleNamespace

    import psycopg
    from psycopg import sql
    from tapwell.targets.postgres.stream import StreamedCopy, Streamer

    conn = psycopg.connect(
        host=pg_db["host"], port=pg_db["port"], user=pg_db["user"], dbname=pg_db["dbname"]
    )
    conn.execute("CREATE TABLE s (id int)")
    conn.commit()

    class Tables(dict):  # the loader's tables, failing the way any bug in settle would
        def get(self, *_: Any) -> Any:
            raise RuntimeError("boom")

    batch = SimpleNamespace(version=None, spec=SimpleNamespace(name="s"), records=["1"])
    streamer = Streamer(SimpleNamespace(tables=Tables(), conn=conn))
    conn.execute("SAVEPOINT tapwell_stream")
    streamer.active = StreamedCopy(conn, sql.SQL("COPY s (id) FROM STDIN"), batch, "")
    with conn.cursor() as cur:
        try:
            streamer.settle(cur, [batch])
        except RuntimeError as exc:  # as errors_mapped does: roll back while handling it
            assert str(exc) == "boom"
            done = threading.Thread(target=conn.rollback, daemon=True)
            done.start()
            done.join(30)
            assert not done.is_alive(), "the rollback waits on the COPY's lock"
        else:
            pytest.fail("settle did not raise")
    assert conn.execute("SELECT count(*) FROM s").fetchone() == (0,)
    conn.close()


def test_a_version_change_and_a_schema_inside_a_streamed_batch_are_said_once(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """The other fallbacks of a head start, each said once per stream and reason however many
    batches meet it: a record of another table version, another stream's SCHEMA in the middle
    of a batch."""
    config = {**pg_db, "batch_size_rows": N}
    versions = [
        schema("s", PROPS, ["id"]),
        *[
            record("s", {"id": i, "v": f"v{i}"}, version=7 if i % N < 1500 else 8 + i // N)
            for i in range(3 * N)
        ],
        state({"n": 1}),
    ]
    result = run_target(config, text_lines(*versions), tmp_path)
    assert result.returncode == 0, result.stderr
    said = "stream 's': a batch was loaded again the ordinary way (a record changed its version)"
    assert result.stderr.count(said) == 1, result.stderr
    assert query(pg_db, "SELECT count(*) FROM s") == [(3 * N,)]
    # a SCHEMA of another stream needs the connection: the open COPY is dropped, the batch
    # loaded whole at its end
    schemas = [
        schema("t", PROPS, ["id"]),
        *[record("t", {"id": i, "v": "x"}) for i in range(1500)],
        schema("u", PROPS, ["id"]),
        record("u", {"id": 1, "v": "u"}),
        *[record("t", {"id": i, "v": "y"}) for i in range(1500, N)],
        state({"n": 2}),
    ]
    result = run_target(config, text_lines(*schemas), tmp_path)
    assert result.returncode == 0, result.stderr
    said = (
        "stream 't': a batch was loaded again the ordinary way "
        "(a SCHEMA of stream 'u' came in its middle)"
    )
    assert result.stderr.count(said) == 1, result.stderr
    assert query(pg_db, "SELECT count(*), count(*) FILTER (WHERE v = 'y') FROM t") == [
        (N, N - 1500)
    ]
    assert query(pg_db, "SELECT count(*) FROM u") == [(1,)]
