"""A full batch loads in a worker thread while the loop reads the next (overlap_loads, the default;
tapwell.sdk.target_behind). What a user sees must not change: the same error line and exit code,
the same STATE lines, the same rows, whether the load was behind the reader or not, also when the
batch behind fails while a later line is bad, when the input ends mid-line, when the reader of
our STATE lines goes away, and for lines written by other Singer writers.

The loads behind are slowed (SlowLoader) so that the reader is always ahead of them: each problem
below is met while the batch before it is still loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import lines, query, record, schema, state
from tapwell.sdk.target import TargetLoop
from tapwell.singer.errors import TapwellError
from tapwell.targets.duckdb.loader import DuckDBLoader

BIN = Path(sys.executable).parent
PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**15},
    "note": {"type": ["null", "string"]},
}


class SlowLoader(DuckDBLoader):
    """DuckDBLoader whose loads in a worker thread take 0.2 s longer, noting where each ran."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.threads: list[str] = []

    def load(self, batches: Any, state: Any) -> None:
        name = threading.current_thread().name
        self.threads.append(name)
        if name != threading.main_thread().name:
            time.sleep(0.2)
        super().load(batches, state)


def rec(i: int, **over: Any) -> dict[str, Any]:
    return record("s", {"id": i, "amount": Decimal(f"{i}.25"), "note": f"n{i} \U0001f600", **over})


def run(tmp_path: Path, name: str, data: bytes, overlap: bool) -> dict[str, Any]:
    """Load `data` in process; what a user would see (error, exit code, stdout) and the rows."""
    db = tmp_path / f"{name}-{overlap}.duckdb"
    cfg = {"path": str(db), "batch_size_rows": 2, "overlap_loads": overlap}
    out = _Out()
    loader = SlowLoader(cfg)
    loop = TargetLoop("target-duckdb", loader, cfg, out)
    error = None
    try:
        loop.run(_Chunks(data))
    except TapwellError as exc:
        error = (str(exc), exc.exit_code)
        loader.close()
    rows = query(db, "SELECT id, amount::VARCHAR, note FROM s ORDER BY id")
    behind = any(t != threading.main_thread().name for t in loader.threads)
    return {"error": error, "stdout": out.text(), "rows": rows, "behind": behind}


class _Out:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, b: bytes) -> int:
        self.parts.append(bytes(b))
        return len(b)

    def flush(self) -> None:
        pass

    def text(self) -> list[str]:
        return b"".join(self.parts).decode().splitlines()


class _Chunks:
    """The input as a pipe gives it: a line or so at a time (read1), so the loop reads on."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read1(self, n: int) -> bytes:
        cut = self.data.find(b"\n") + 1 or len(self.data)
        piece, self.data = self.data[:cut], self.data[cut:]
        return piece


SCHEMA = lines(schema("s", PROPS))
BAD_JSON = b'{"type":"RECORD","stream":"s","record":{"id":9,\n'


def both(tmp_path: Path, name: str, data: bytes) -> dict[str, Any]:
    """The run with the loads behind, after checking it is the run without, to the byte."""
    alone = run(tmp_path, name, data, overlap=False)
    behind = run(tmp_path, name, data, overlap=True)
    assert not alone["behind"] and behind["behind"]
    alone.pop("behind"), behind.pop("behind")
    assert behind == alone
    return behind


def test_a_bad_record_in_the_batch_behind_is_reported_before_a_later_bad_line(tmp_path):
    # lines 2-3 commit with state 1; the batch of lines 5-6 fails (line 5 breaks its schema:
    # found by the load, in SQL then Python) while line 7 is read, itself malformed
    data = SCHEMA + lines(rec(1), rec(2), state({"a": 1}), rec(3, id="x"), rec(4)) + BAD_JSON
    got = both(tmp_path, "bad-behind", data)
    message, code = got["error"]
    assert code == 65 and "line 5" in message and "'id'" in message and "line 7" not in message
    assert got["stdout"] == ['{"a":1}']
    assert got["rows"] == [(1, "1.25", "n1 \U0001f600"), (2, "2.25", "n2 \U0001f600")]


def test_a_bad_record_behind_commits_the_batch_up_to_its_last_state(tmp_path):
    # the batch of lines 4-6 fails on line 6; state 2 (line 5) came after line 4: committed
    data = SCHEMA + lines(rec(1), rec(2), rec(3), state({"a": 2}), rec(4, amount=Decimal("1.234")))
    data += lines(rec(5), rec(6), state({"a": 3}))
    got = both(tmp_path, "bad-after-state", data)
    message, code = got["error"]
    assert code == 65 and "line 6" in message and "'amount'" in message
    assert got["stdout"] == ['{"a":2}']
    assert [r[0] for r in got["rows"]] == [1, 2, 3]


def test_a_bad_line_read_while_the_batch_behind_loads_waits_for_its_commit(tmp_path):
    # lines 2-4 load behind with state 1 (line 3); line 5 and state 2 follow; line 7 is malformed
    data = SCHEMA + lines(rec(1), state({"a": 1}), rec(2), rec(3), state({"a": 2})) + BAD_JSON
    got = both(tmp_path, "bad-line", data)
    message, code = got["error"]
    assert code == 65 and message.startswith("stdin line 7")
    assert got["stdout"] == ['{"a":1}', '{"a":2}']
    assert [r[0] for r in got["rows"]] == [1, 2, 3]


def test_input_ending_mid_line_commits_to_the_last_state_and_exits_75(tmp_path):
    data = SCHEMA + lines(rec(1), rec(2), rec(3), state({"a": 1}))
    data += b'{"type":"RECORD","stream":"s","rec'
    got = both(tmp_path, "cut", data)
    message, code = got["error"]
    assert code == 75 and "line 6" in message and "ended in the middle" in message
    assert got["stdout"] == ['{"a":1}']
    assert [r[0] for r in got["rows"]] == [1, 2, 3]


def test_other_writers_lines_load_the_same_behind(tmp_path):
    """Spaces after the separators, the version before the record, keys in another order, a
    number with 16 digits: lines the raw lane does not take, read the general way."""
    other = [
        b'{"type": "RECORD", "stream": "s", "record": {"id": 1, "amount": 1.5, "note": ""}}\n',
        b'{"stream":"s","type":"RECORD","record":{"note":null,"id":2,"amount":0.10}}\n',
        b'{"type":"RECORD","stream":"s","record":{"id":3,"amount":12345678901234.01,'
        b'"note":"a\\u0000b\\n"}}\n',
        b'{"type":"STATE","value":{"b":1}}\n',
        b'{"type":"RECORD","stream":"s","record":{"id":2,"amount":-0.01,"note":"again"}}\n',
        b'{"type":"RECORD","stream":"s","record":{"id":4,"amount":null}}\n',
    ]
    got = both(tmp_path, "other", SCHEMA + b"".join(other) + lines(state({"b": 2})))
    assert got["error"] is None and got["stdout"] == ['{"b":1}', '{"b":2}']
    assert got["rows"] == [
        (1, "1.50", ""),
        (2, "-0.01", "again"),
        (3, "12345678901234.01", "a\x00b\n"),
        (4, None, None),
    ]


@pytest.mark.parametrize("overlap", [False, True])
def test_the_reader_of_our_state_lines_going_away_exits_141(tmp_path, overlap):
    """stdout closed before the first STATE: the batch behind it is committed, its STATE cannot
    be printed, and the target stops with the pipe's own exit code, as without the overlap."""
    cfg = tmp_path / "config.json"
    db = tmp_path / "w.duckdb"
    cfg.write_text(json.dumps({"path": str(db), "batch_size_rows": 2, "overlap_loads": overlap}))
    data = SCHEMA + lines(rec(1), rec(2), state({"a": 1}), *(rec(i) for i in range(3, 200)))
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        done = subprocess.run(
            [str(BIN / "target-duckdb"), "--config", str(cfg)],
            input=data,
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert done.stderr.decode().strip().splitlines()[-1] == (
        "target-duckdb: error: the reading end of the pipe closed"
    )
    assert query(db, "SELECT max(id) FROM s")[0][0] in (2,)  # the batch whose STATE failed


def test_overlap_is_the_loaders_choice(tmp_path):
    """Loaders that say nothing (target-jsonl, target-postgres) load in the reader's thread."""

    class Plain:
        def __init__(self) -> None:
            self.threads: list[str] = []

        def prepare(self, spec: Any) -> None:
            pass

        def load(self, batches: Any, state: Any) -> None:
            self.threads.append(threading.current_thread().name)

        def activate_version(self, spec: Any, version: int) -> None:
            pass

        def close(self) -> None:
            pass

    plain = Plain()
    data = SCHEMA + lines(*(rec(i) for i in range(10)), state({"a": 1}))
    TargetLoop("t", plain, {"batch_size_rows": 2}, _Out()).run(_Chunks(data))
    assert plain.threads and set(plain.threads) == {threading.main_thread().name}


def test_a_schema_message_waits_for_the_load_behind(tmp_path):
    """A SCHEMA (which may change the table) is applied only after the batch behind committed."""
    wider = dict(PROPS, extra={"type": ["null", "string"]})
    data = SCHEMA + lines(rec(1), rec(2), schema("s", wider), rec(3, extra="x"), state({"a": 1}))
    got = both(tmp_path, "schema", data)
    assert got["error"] is None and got["stdout"] == ['{"a":1}']
    assert [r[0] for r in got["rows"]] == [1, 2, 3]


class ThreadsSeen(DuckDBLoader):
    """DuckDBLoader noting, for each load, where it ran and DuckDB's threads setting then."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.seen: list[tuple[bool, int]] = []

    def load(self, batches: Any, state: Any) -> None:
        super().load(batches, state)
        row = self.con.execute("SELECT current_setting('threads')").fetchone()
        behind = threading.current_thread() is not threading.main_thread()
        self.seen.append((behind, int(row[0]) if row else 0))


@pytest.mark.parametrize(("threads", "overlap_threads"), [(2, 1), (3, 2)])
def test_a_load_behind_the_reader_uses_overlap_threads_the_others_threads(
    tmp_path, threads, overlap_threads
):
    """A load beside the reader runs with overlap_threads (the reader takes a core of its own);
    a load in the reader's thread (the last one, at the end of the input) with threads."""
    db = tmp_path / "t.duckdb"
    cfg = {
        "path": str(db),
        "batch_size_rows": 2,
        "threads": threads,
        "overlap_threads": overlap_threads,
    }
    data = lines(schema("s", PROPS), *(rec(i) for i in range(1, 8)), state({"n": 7}))
    loader = ThreadsSeen(cfg)
    TargetLoop("target-duckdb", loader, cfg, _Out()).run(_Chunks(data))
    assert (True, overlap_threads) in loader.seen
    assert loader.seen[-1] == (False, threads)
    assert {n for behind, n in loader.seen if behind} == {overlap_threads}
    assert query(db, "SELECT count(*) FROM s") == [(7,)]


@pytest.mark.parametrize("batch_threads", [None, 2])
def test_csv_batch_files_load_with_batch_threads(tmp_path, batch_threads):
    """A load of csv BATCH files (the fast lane) runs with batch_threads, 1 by default (the tap
    writes the next file meanwhile, on a core of its own); RECORD lines keep threads; the rows
    are the files' exactly ('' stays '', NULL stays NULL, the emoji and the decimal kept)."""
    db, spool = tmp_path / "t.duckdb", tmp_path / "spool"
    spool.mkdir()
    f = spool / "s-1.csv"
    f.write_text('"id","amount","note"\n"1","1.10","\U0001f600"\n"2",,""\n', encoding="utf-8")
    batch = {
        "type": "BATCH",
        "stream": "s",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": [f"file://{f}"],
    }
    cfg = {"path": str(db), "threads": 3, "batch_root": str(spool), "overlap_loads": False}
    if batch_threads is not None:
        cfg["batch_threads"] = batch_threads
    data = lines(schema("s", PROPS), batch, state({"n": 2}), rec(3), state({"n": 3}))
    loader = ThreadsSeen(cfg)
    TargetLoop("target-duckdb", loader, cfg, _Out()).run(_Chunks(data))
    assert [n for _, n in loader.seen] == [batch_threads or 1, 3]
    assert query(db, "SELECT id, amount::VARCHAR, note FROM s ORDER BY id") == [
        (1, "1.10", "\U0001f600"),
        (2, None, ""),
        (3, "3.25", "n3 \U0001f600"),
    ]


def test_overlap_threads_is_a_setting_with_its_fix(tmp_path):
    """A bad overlap_threads is refused like threads: one line naming the key, exit 2."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"path": str(tmp_path / "t.duckdb"), "overlap_threads": 0}))
    result = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(cfg)],
        input=b"",
        capture_output=True,
        check=False,
    )
    assert result.returncode == 2
    last = result.stderr.decode().strip().splitlines()[-1]
    assert last == "target-duckdb: error: config key overlap_threads: must be at least 1"


class LinesSeen(DuckDBLoader):
    """DuckDBLoader noting the thread each batch's lines table was built in."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.built: list[str] = []

    def _lines_table(self, batch: Any, plan: Any) -> tuple[Any, bool, frozenset[int]]:
        ready = any(built_for is batch.records for built_for, _ in self._lines_ready.values())
        self.built.append("reader" if ready else threading.current_thread().name)
        return super()._lines_table(batch, plan)


def test_the_lines_of_a_batch_behind_are_made_an_arrow_table_in_the_readers_thread(tmp_path):
    """The Arrow table of a batch's RECORD lines is built before the batch is handed over
    (before_behind), so the load behind does no Python work of its own that would fight the
    reader for the GIL; the rows are those of a load in turn."""
    data = lines(schema("s", PROPS), *(rec(i) for i in range(1, 10)), state({"n": 9}))
    rows = {}
    for overlap in (True, False):
        db = tmp_path / f"l-{overlap}.duckdb"
        cfg = {"path": str(db), "batch_size_rows": 3, "overlap_loads": overlap}
        loader = LinesSeen(cfg)
        TargetLoop("target-duckdb", loader, cfg, _Out()).run(_Chunks(data))
        rows[overlap] = query(db, "SELECT id, amount::VARCHAR, note FROM s ORDER BY id")
        if overlap:
            assert loader.built[:2] == ["reader", "reader"], loader.built
            assert loader._lines_ready == {}
        else:
            assert set(loader.built) == {threading.main_thread().name}
    assert rows[True] == rows[False] and len(rows[True]) == 9
