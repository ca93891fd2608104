"""A batch's RECORD lines are read and checked on a second connection while the batch before it
commits (DuckDBLoader.load_ahead, tapwell.sdk.target_behind): its own transaction begins only
after that commit. What a user sees must not change: merges, commits and STATE lines in input
order, each STATE printed after its rows are committed; a bad line in the batch checked ahead
lets the batch before it commit and print its STATE, then the one error line and exit 65, with
nothing of its own batch committed; a column the load before changes (a plain number made
exact) is not read with its old type.

`Ahead` holds the load of one batch until the next batch's lines are checked, so the check
surely runs while the load before it has yet to commit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import column_types, lines, query, record, schema, state
from tapwell.sdk.target import TargetLoop
from tapwell.singer.errors import TapwellError
from tapwell.targets.duckdb.loader import DuckDBLoader

BIN = Path(sys.executable).parent
PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**15},
    "note": {"type": ["null", "string"]},
}
SCHEMA = lines(schema("s", PROPS))


class Ahead(DuckDBLoader):
    """DuckDBLoader noting each check ahead and each load (step, first input line, start, end,
    thread); the load of the batch beginning at input line `hold` waits until the lines of the
    batch after it are checked."""

    def __init__(self, config: dict[str, Any], hold: int | None = None) -> None:
        super().__init__(config)
        self.hold = hold
        self.events: list[tuple[str, int, float, float]] = []
        self.checked_after_hold = threading.Event()
        self.lock = threading.Lock()

    def _note(self, step: str, line: int, start: float) -> None:
        with self.lock:
            self.events.append((step, line, start, time.monotonic()))

    def _check_ahead(self, batches: Any) -> Any:
        start = time.monotonic()
        checked = super()._check_ahead(batches)
        line = batches[0].first_line if batches else 0
        self._note("check", line, start)
        if self.hold is not None and line > self.hold and checked is not None:
            self.checked_after_hold.set()
        return checked

    def load(self, batches: Any, state: Any) -> None:
        start = time.monotonic()
        line = min((b.first_line for b in batches), default=0)
        if self.hold is not None and line == self.hold:
            self.checked_after_hold.wait(10)
        try:
            super().load(batches, state)
        finally:
            self._note("load", line, start)


class _Out:
    """stdout, noting at each STATE line the state committed in the file at that moment."""

    def __init__(self, loader: DuckDBLoader | None = None) -> None:
        self.parts: list[bytes] = []
        self.committed: list[Any] = []
        self.look = loader.con.cursor() if loader is not None else None

    def write(self, b: bytes) -> int:
        self.parts.append(bytes(b))
        if self.look is not None:
            found = self.look.execute("SELECT value FROM main._tapwell_state").fetchall()
            self.committed.append(json.loads(found[0][0]) if found else None)
        return len(b)

    def flush(self) -> None:
        pass

    def text(self) -> list[str]:
        return b"".join(self.parts).decode().splitlines()


class _Chunks:
    """The input as a pipe gives it: a line at a time (read1), so the loop reads on."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read1(self, n: int) -> bytes:
        cut = self.data.find(b"\n") + 1 or len(self.data)
        piece, self.data = self.data[:cut], self.data[cut:]
        return piece


def rec(i: int, **over: Any) -> dict[str, Any]:
    return record("s", {"id": i, "amount": Decimal(f"{i}.25"), "note": f"n{i} \U0001f600", **over})


def run(
    tmp_path: Path, name: str, data: bytes, overlap: bool, hold: int | None = None, **cfg: Any
) -> dict[str, Any]:
    """Load `data` in process; what a user sees (error, exit code, stdout), the rows, and the
    loader (its events)."""
    db = tmp_path / f"{name}-{overlap}.duckdb"
    config = {"path": str(db), "batch_size_rows": 2, "overlap_loads": overlap, **cfg}
    loader = Ahead(config, hold if overlap else None)
    out = _Out(loader)
    error = None
    try:
        TargetLoop("target-duckdb", loader, config, out).run(_Chunks(data))
    except TapwellError as exc:
        error = (str(exc), exc.exit_code)
        out.look.close()  # type: ignore[union-attr]
        loader.close()
    else:
        out.look.close()  # type: ignore[union-attr]
    rows = query(db, "SELECT * FROM s ORDER BY id")
    return {"error": error, "stdout": out.text(), "rows": rows, "loader": loader, "out": out}


def same_as_in_turn(tmp_path: Path, name: str, data: bytes, hold: int, **cfg: Any) -> Any:
    """The run with the loads ahead, after checking a check ran ahead of the held load and the
    run is the one loading in turn, to the byte."""
    alone = run(tmp_path, name, data, overlap=False, **cfg)
    ahead = run(tmp_path, name, data, overlap=True, hold=hold, **cfg)
    assert ahead["loader"].checked_after_hold.is_set(), "no batch was checked ahead"
    for key in ("error", "stdout", "rows"):
        assert ahead[key] == alone[key], key
    return ahead


@pytest.mark.parametrize("alone", [False, True])
def test_the_next_batch_is_checked_while_the_one_before_commits_in_order(tmp_path, alone):
    # a STATE inside each batch, or right after it (`alone`: committed in the batch's load,
    # the loop flushing a full batch at the next line)
    data = SCHEMA
    for i in range(1, 9, 2):
        data += lines(rec(i), rec(i + 1), state({"a": i})) if alone else b""
        data += b"" if alone else lines(rec(i), state({"a": i}), rec(i + 1))
    got = same_as_in_turn(tmp_path, f"order-{alone}", data, hold=2)
    events = got["loader"].events
    loads = [(line, a, b) for step, line, a, b in events if step == "load"]
    checks = {line: (a, b) for step, line, a, b in events if step == "check"}
    # the next batch was checked before the load of the one before it ended
    assert checks[5][1] <= next(b for line, a, b in loads if line == 2)
    # the loads (their transactions; a state alone's holds no line) ran one after the other,
    # in input order
    loads.sort(key=lambda load: load[1])
    assert [line for line, _, _ in loads if line] == [2, 5, 8, 11]
    assert all(b1 <= a2 for (_, _, b1), (_, a2, _) in zip(loads, loads[1:], strict=False))
    # each STATE line was printed after its commit: the file held that state then
    assert got["stdout"] == [json.dumps({"a": n}, separators=(",", ":")) for n in (1, 3, 5, 7)]
    assert got["out"].committed == [{"a": n} for n in (1, 3, 5, 7)]
    assert [r[0] for r in got["rows"]] == list(range(1, 9))


def test_a_bad_line_in_the_batch_checked_ahead_lets_the_batch_before_commit(tmp_path):
    # lines 2-4 (state line 3) load, held until lines 5-6 are checked: line 6 breaks its schema,
    # which the check ahead finds while the batch before it waits to commit
    data = SCHEMA + lines(rec(1), state({"a": 1}), rec(2), rec(3), rec(4, id="x"))
    data += lines(state({"a": 4}), rec(5), rec(6))
    got = same_as_in_turn(tmp_path, "bad-ahead", data, hold=2)
    message, code = got["error"]
    assert code == 65 and "line 6" in message and "'id'" in message
    assert message.count("\n") == 0
    assert got["stdout"] == ['{"a":1}'] and got["out"].committed == [{"a": 1}]
    assert [r[0] for r in got["rows"]] == [1, 2]


def test_a_line_sql_refuses_in_the_batch_ahead_is_named_as_in_turn(tmp_path):
    # line 5 holds a string for a number, which SQL refuses: the batch goes the Python way
    # after the batch before it committed, which names the field
    data = SCHEMA + lines(rec(1), state({"a": 1}), rec(2), rec(3, amount="1.5"), rec(4))
    got = same_as_in_turn(tmp_path, "refused-ahead", data, hold=2)
    message, code = got["error"]
    assert code == 65 and "line 5" in message and "'amount'" in message
    assert got["stdout"] == ['{"a":1}']
    assert [r[0] for r in got["rows"]] == [1, 2]


def test_a_plain_number_made_exact_by_the_load_before_is_not_read_with_its_old_type(tmp_path):
    # lines 2-3 make the plain column `x` DECIMAL(38,4) (a value a DOUBLE would not give back);
    # lines 4-5 were checked ahead as DOUBLE meanwhile: read again with the new type, 0.12345
    # widens the column to 5 places (as a DOUBLE read, it would be rounded to 0.1235)
    props = {"id": {"type": "integer"}, "x": {"type": ["null", "number"]}}
    data = lines(schema("s", props))
    data += b'{"type":"RECORD","stream":"s","record":{"id":1,"x":123456789012345678901234.5678}}\n'
    data += lines(record("s", {"id": 2, "x": 1}), record("s", {"id": 3, "x": Decimal("0.12345")}))
    data += lines(record("s", {"id": 4, "x": 2}), state({"a": 4}))
    got = same_as_in_turn(tmp_path, "widened", data, hold=2)
    assert got["error"] is None
    db = tmp_path / "widened-True.duckdb"
    assert column_types(db, "s")["x"] == "DECIMAL(38,5)"
    assert query(db, "SELECT id, x::VARCHAR FROM s ORDER BY id") == [
        (1, "123456789012345678901234.56780"),
        (2, "1.00000"),
        (3, "0.12345"),
        (4, "2.00000"),
    ]


def test_a_schema_between_batches_waits_for_the_loads_ahead(tmp_path):
    # a new column and an integer widened to a number between batches: the batch after the
    # SCHEMA is read and checked with the new types, the one before with the old
    wider = dict(PROPS, amount={"type": ["null", "number"], "multipleOf": 0.001, "maximum": 10**15})
    wider["extra"] = {"type": ["null", "string"]}
    data = SCHEMA + lines(rec(1), state({"a": 1}), rec(2), rec(3), state({"a": 3}), rec(4))
    data += lines(schema("s", wider), rec(5, amount=Decimal("5.125"), extra="e"), rec(6))
    data += lines(state({"a": 6}))
    got = same_as_in_turn(tmp_path, "schema", data, hold=2)
    assert got["error"] is None and got["stdout"] == ['{"a":1}', '{"a":3}', '{"a":6}']
    db = tmp_path / "schema-True.duckdb"
    assert query(db, "SELECT id, amount::VARCHAR, extra FROM s WHERE id >= 4 ORDER BY id") == [
        (4, "4.250", None),
        (5, "5.125", "e"),
        (6, "6.250", None),
    ]


def test_the_second_connection_reads_date_times_in_utc(tmp_path):
    """A date-time without an offset is UTC on every connection (DuckDB's time zone is each
    connection's own, from the machine's by default): here the process's is Tokyo."""
    props = {"id": {"type": "integer"}, "at": {"type": ["null", "string"], "format": "date-time"}}
    recs = [record("s", {"id": i, "at": f"2020-01-0{i}T00:00:00"}) for i in range(1, 7)]
    data = lines(schema("s", props), *recs, state({"a": 6}))
    cfg = tmp_path / "config.json"
    db = tmp_path / "w.duckdb"
    cfg.write_text(json.dumps({"path": str(db), "batch_size_rows": 2}))
    done = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(cfg)],
        input=data,
        capture_output=True,
        timeout=120,
        env=dict(os.environ, TZ="Asia/Tokyo"),
    )
    assert done.returncode == 0, done.stderr
    got = query(db, 'SELECT id, CAST(epoch("at") AS BIGINT) FROM s ORDER BY id')
    assert got == [(i, 1577836800 + (i - 1) * 86400) for i in range(1, 7)]  # 2020-01-0i UTC


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_between_loads_no_state_past_the_last_commit(tmp_path, sig):
    """Killed while loads run ahead: every STATE line printed is committed with its rows, and
    what is committed is one of the states (nothing of a batch without its state)."""
    cfg = tmp_path / "config.json"
    db = tmp_path / "w.duckdb"
    cfg.write_text(json.dumps({"path": str(db), "batch_size_rows": 500}))
    data = SCHEMA
    for i in range(0, 40_000, 500):
        data += lines(*(rec(j) for j in range(i + 1, i + 501)), state({"a": i + 500}))
    proc = subprocess.Popen(
        [str(BIN / "target-duckdb"), "--config", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:
        try:
            proc.stdin.write(data)  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    printed = [proc.stdout.readline() for _ in range(3)]
    proc.send_signal(sig)
    printed += proc.stdout.read().splitlines(keepends=True)
    proc.wait(60)
    writer.join(60)
    last = json.loads(printed[-1])["a"]
    committed = json.loads(query(db, "SELECT value FROM _tapwell_state")[0][0])["a"]
    assert committed >= last and committed % 500 == 0
    assert query(db, "SELECT count(*), max(id) FROM s") == [(committed, committed)]


class _Noting:
    """A connection noting DuckDB's threads setting when it is closed."""

    def __init__(self, con: Any, noted: list[int]) -> None:
        self.con, self.noted = con, noted

    def close(self) -> None:
        self.noted.append(self.con.execute("SELECT current_setting('threads')").fetchone()[0])
        self.con.close()


class Closing(DuckDBLoader):
    """DuckDBLoader noting DuckDB's threads setting as each connection is closed (the last
    close checkpoints the WAL into the file)."""

    def close(self) -> None:
        self.threads_at_close: list[int] = []
        self._cons = tuple(_Noting(con, self.threads_at_close) for con in self._cons)  # type: ignore[assignment]
        super().close()


def test_the_close_checkpoints_on_threads_after_loads_behind(tmp_path):
    # every load ran behind the reader, on overlap_threads (1: the input ends with full batches
    # and a state); the checkpoint when the file closes runs on `threads` (3 here), as after
    # a load in turn
    config = {"path": str(tmp_path / "w.duckdb"), "batch_size_rows": 2, "threads": 3}
    loader = Closing(config)
    data = SCHEMA + lines(*(rec(i) for i in range(1, 9)), state({"a": 8}))
    TargetLoop("target-duckdb", loader, config, _Out()).run(_Chunks(data))
    assert loader.threads_at_close == [3, 3]
    assert [r[0] for r in query(tmp_path / "w.duckdb", "SELECT id FROM s ORDER BY id")] == list(
        range(1, 9)
    )
