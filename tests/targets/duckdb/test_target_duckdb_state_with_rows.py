"""What is committed is always one of the STATE values with exactly its rows: a STATE right
after a full batch commits in the batch's transaction, not in one of its own after it (where a
crash between the two left the batch's rows committed past the state, which a resumed run sends
again: stored twice when the stream is appended). Noted at every commit, in turn and with the
loads ahead, upserted, appended and keyless, line by line and in blocks; killed mid-run, for
RECORD lines and the csv and jsonl BATCH lanes."""

from __future__ import annotations

import io
import json
import signal
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
from tapwell.singer.wire import dumps
from tapwell.targets.duckdb.loader import DuckDBLoader

BIN = Path(sys.executable).parent
PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**15},
    "note": {"type": ["null", "string"]},
}


def rec(i: int) -> dict[str, Any]:
    return record("s", {"id": i, "amount": Decimal(f"{i}.25"), "note": f"n{i} \U0001f600"})


def singer(rows: int, every: int, keys: list[str]) -> bytes:
    """SCHEMA, then `rows` records with a STATE {"a": n} after every `every`-th."""
    data = lines(schema("s", PROPS, keys))
    for i in range(0, rows, every):
        data += lines(*(rec(j) for j in range(i + 1, i + every + 1)), state({"a": i + every}))
    return data


class Noting(DuckDBLoader):
    """DuckDBLoader noting, after each commit of a load, the rows and the state committed."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.commits: list[tuple[int, Any]] = []
        self.lock = threading.Lock()

    def _load(self, batches: Any, state: Any) -> None:
        super()._load(batches, state)
        with self.lock:
            count = self.con.execute("SELECT count(*) FROM main.s").fetchone()
            made = self.con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_tapwell_state'"
            ).fetchone()
            found = (
                self.con.execute("SELECT value FROM main._tapwell_state").fetchall()
                if made and made[0]
                else []
            )
            self.commits.append(
                (count[0] if count else 0, json.loads(found[0][0])["a"] if found else 0)
            )


class _Chunks:
    """The input as a pipe gives it a line at a time (read1)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read1(self, n: int) -> bytes:
        cut = self.data.find(b"\n") + 1 or len(self.data)
        piece, self.data = self.data[:cut], self.data[cut:]
        return piece


class _Out:
    def write(self, b: bytes) -> int:
        return len(b)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("blocks", [False, True])
@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize(
    "method,keys", [("upsert", ["id"]), ("append-only", ["id"]), ("upsert", [])]
)
def test_every_commit_holds_one_state_with_exactly_its_rows(
    tmp_path, blocks, overlap, method, keys
):
    # a STATE after every 3 records, batches of 3 rows (and of 6: two states, one batch)
    for size in (3, 6):
        db = tmp_path / f"w{size}.duckdb"
        config = {"path": str(db), "batch_size_rows": size, "overlap_loads": overlap}
        config["load_method"] = method
        loader = Noting(config)
        data = singer(12, 3, keys)
        TargetLoop("target-duckdb", loader, config, _Out()).run(
            io.BufferedReader(io.BytesIO(data)) if blocks else _Chunks(data)
        )
        assert loader.commits == [(n, n) for n in range(size, 13, size)], size
        assert query(db, "SELECT id, amount::VARCHAR, note FROM s ORDER BY id") == [
            (i, f"{i}.25", f"n{i} \U0001f600") for i in range(1, 13)
        ]


def _input(tmp_path: Path, lane: str, first: int, keys: list[str]) -> bytes:
    """SCHEMA, then pages of 500 rows from row `first` to 20,000, each followed by its STATE:
    RECORD lines, or a csv or jsonl BATCH file per page."""
    out = lines(schema("s", PROPS, keys))
    for i in range(first - 1, 20_000, 500):
        page = range(i + 1, i + 501)
        if lane == "records":
            out += lines(*(rec(j) for j in page))
        else:
            f = tmp_path / f"p{first}-{i}.{lane}"
            if lane == "csv":
                f.write_text(
                    "id,amount,note\n" + "".join(f'{j},{j}.25,"n{j} \U0001f600"\n' for j in page)
                )
            else:
                f.write_bytes(b"".join(dumps(rec(j)["record"]) + b"\n" for j in page))
            encoding = {"format": lane, "compression": "none"}
            out += lines(
                {"type": "BATCH", "stream": "s", "encoding": encoding, "manifest": [f.as_uri()]}
            )
        out += lines(state({"a": i + 500}))
    return out


def _killed(cfg: Path, data: bytes, sig: int) -> list[bytes]:
    """target-duckdb fed `data`, sent `sig` 0.1 s after its third STATE line; the STATE lines
    printed."""
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
    # a moment later: a later batch's load is then under way, its commit done or not (the kill
    # as a loaded machine gives it: a batch and its STATE committed apart were caught between)
    time.sleep(0.1)
    proc.send_signal(sig)
    printed += proc.stdout.read().splitlines(keepends=True)
    proc.wait(60)
    writer.join(60)
    return printed


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize(
    "lane,method",
    [
        ("records", "append-only"),
        ("records", "upsert"),
        ("csv", "append-only"),
        ("jsonl", "append-only"),
    ],
)
def test_killed_and_resumed_every_row_once(tmp_path, lane, method, sig):
    """Killed mid-run, then resumed from the committed state (--read-state) as the runner does:
    what was committed is one of the states with exactly its rows, and in the end every row is
    stored once, appended or upserted."""
    db = tmp_path / "w.duckdb"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"path": str(db), "batch_size_rows": 500, "load_method": method}))
    printed = _killed(cfg, _input(tmp_path, lane, 1, ["id"]), sig)
    last = json.loads(printed[-1])["a"]
    committed = json.loads(query(db, "SELECT value FROM _tapwell_state")[0][0])["a"]
    assert committed >= last and committed % 500 == 0
    assert query(db, "SELECT count(*), count(DISTINCT id), max(id) FROM s") == [
        (committed, committed, committed)
    ]
    read = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(cfg), "--read-state"], capture_output=True
    )
    assert json.loads(read.stdout) == {"a": committed}
    done = subprocess.run(
        [str(BIN / "target-duckdb"), "--config", str(cfg)],
        input=_input(tmp_path, lane, committed + 1, ["id"]),
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert query(db, "SELECT id, amount::VARCHAR, note FROM s ORDER BY id") == [
        (i, f"{i}.25", f"n{i} \U0001f600") for i in range(1, 20_001)
    ]
