"""tap-postgres's fast lane (sync_files.py): with `batch_config`, FULL_TABLE rows go into BATCH
files cut from one COPY as the rows arrive, each followed by a STATE whose last_pk_fetched is
the file's last row; the table of every type loads into target-postgres and target-duckdb exactly as through the
RECORD lane, row by row (csv and jsonl), and a run resumed from a mid-lane STATE loads the rest
once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_tap import (
    TYPES_DDL,
    TYPES_ROWS,
    discover,
    messages,
    run_pipe,
    run_tap,
    select,
    sql,
)
from tapwell.singer.wire import loads

pytestmark = pytest.mark.services


@pytest.fixture
def src(pg_db: dict[str, Any]) -> dict[str, Any]:
    sql(pg_db, "CREATE SCHEMA src", TYPES_DDL, TYPES_ROWS)
    sql(
        pg_db,
        "INSERT INTO src.all_types (id, t, vc) SELECT g, '', NULL FROM generate_series(4, 9) g",
    )
    return {**pg_db, "filter_schemas": "src"}


def _lane(tmp: Path, cfg: dict[str, Any], fmt: str, size: int = 2) -> tuple[dict[str, Any], Path]:
    spool = tmp / f"spool-{fmt}"
    spool.mkdir(exist_ok=True)
    bc = {
        "encoding": {"format": fmt, "compression": "none"},
        "storage": {"root": f"file://{spool}"},
        "batch_size": size,
    }
    return {**cfg, "batch_config": bc}, spool


def _pg_rows(pg: dict[str, Any], schema: str) -> list[Any]:
    rows = sql(pg, f'SELECT to_jsonb(row_)::text FROM "{schema}".all_types row_')
    out = [{k: v for k, v in json.loads(r[0]).items() if not k.startswith("_sdc_")} for r in rows]
    return sorted(out, key=lambda r: r["id"])


def _duck_rows(path: Path) -> list[Any]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'all_types' ORDER BY ordinal_position"
        ).fetchall()
        cols = [(c, t) for c, t in cols if not c.startswith("_sdc_")]
        listed = ", ".join(f'"{c}"' for c, _ in cols)
        rows = con.execute(f"SELECT {listed} FROM all_types ORDER BY id").fetchall()
    finally:
        con.close()
    # a JSON document's text: the RECORD lane stores the target's re-encoding, the csv lane the
    # server's text; compared as the exact values they hold
    return [
        tuple(loads(v) if t == "JSON" and v is not None else v for v, (_, t) in zip(r, cols))
        for r in rows
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("target", ["target-postgres", "target-duckdb"])
def test_lane_rows_equal_record_lane(
    src: dict[str, Any], tmp_path: Path, target: str, fmt: str
) -> None:
    cat = select(discover(tmp_path, src), "all_types")
    lane_cfg, spool = _lane(tmp_path, src, fmt)
    if target == "target-postgres":
        rec_t: dict[str, Any] = {**src, "default_target_schema": "rec"}
        lane_t: dict[str, Any] = {**src, "default_target_schema": "lane"}
    else:
        rec_t, lane_t = {"path": str(tmp_path / "r.duckdb")}, {"path": str(tmp_path / "l.duckdb")}
    _, done = run_pipe(tmp_path, src, cat, target, rec_t)
    assert done.returncode == 0, done.stderr.decode()
    tap, done = run_pipe(tmp_path, lane_cfg, cat, target, {**lane_t, "batch_root": str(spool)})
    assert done.returncode == 0, done.stderr.decode()
    msgs = messages(tap.stdout)
    assert not [m for m in msgs if m["type"] == "RECORD"]
    kinds = [m["type"] for m in msgs]
    batches = [i for i, k in enumerate(kinds) if k == "BATCH"]
    assert len(batches) == 5  # 9 rows, 2 a file
    after = [next(iter(msgs[i + 1]["value"]["bookmarks"].values())) for i in batches]
    assert [a["last_pk_fetched"] for a in after] == [
        {"id": 2},
        {"id": 4},
        {"id": 6},
        {"id": 8},
        {"id": 9},
    ]
    if target == "target-postgres":
        want, got = _pg_rows(src, "rec"), _pg_rows(src, "lane")
    else:
        want, got = _duck_rows(tmp_path / "r.duckdb"), _duck_rows(tmp_path / "l.duckdb")
    assert len(want) == 9
    assert got == want
    assert list(spool.iterdir()) == []


def test_resumed_lane_loads_the_rest_once(src: dict[str, Any], tmp_path: Path) -> None:
    cat = select(discover(tmp_path, src), "all_types")
    cfg, spool = _lane(tmp_path, src, "csv", size=3)
    first = messages(run_tap(tmp_path, cfg, catalog=cat).stdout)
    mid = [m for m in first if m["type"] == "STATE"][2]["value"]  # after the second file
    marks = next(iter(mid["bookmarks"].values()))
    assert marks["last_pk_fetched"] == {"id": 6}
    for f in spool.iterdir():
        f.unlink()
    proc = run_tap(tmp_path, cfg, catalog=cat, state=mid)
    assert proc.returncode == 0, proc.stderr.decode()
    urls = [u for m in messages(proc.stdout) if m["type"] == "BATCH" for u in m["manifest"]]
    ids = [
        int(line.split(b",")[0])
        for u in urls
        for line in Path(u.removeprefix("file://")).read_bytes().splitlines()[1:]
    ]
    assert ids == [7, 8, 9]


def test_a_kill_mid_copy_resumes_after_the_last_state(src: dict[str, Any], tmp_path: Path) -> None:
    """The table is read by one COPY cut into files as the rows arrive: a tap killed while that
    COPY runs (held by max_pending_files, no target consuming) has announced some files, each
    followed by its STATE; the run resumed from the last STATE writes the rest, and the two runs'
    files hold every row once (16 MB: more than the socket buffers hold, so the server is still
    sending when the tap is killed). The key is a text with a comma, quotes and a line break, and a
    number: both read back from the file's last csv row."""
    import csv
    import io
    import signal
    import subprocess
    import time

    from helpers.pg_tap import BIN, write_json

    sql(
        src,
        "CREATE TABLE src.big (k text, n int, v text, PRIMARY KEY (k, n))",
        "INSERT INTO src.big SELECT k, g, repeat(md5(g::text), 100) FROM generate_series(1, 2500) g, "
        "unnest(ARRAY[E'x,\"y\"\\nz', 'plain']) k",
    )
    cat = select(discover(tmp_path, src), "big")
    cfg, spool = _lane(tmp_path, src, "csv", size=100)
    cfg["batch_config"]["max_pending_files"] = 2
    proc = subprocess.Popen(
        [str(BIN / "tap-postgres"), "--config", str(write_json(tmp_path / "l.json", cfg)),
         "--catalog", str(write_json(tmp_path / "c.json", cat))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    announced: list[str] = []
    after: list[dict[str, Any]] = []  # the STATE after each file
    try:
        assert proc.stdout is not None
        while len(after) < 2:  # two files and their STATEs; the third file waits
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else b""
            msg = loads(line)
            if msg["type"] == "BATCH":
                announced += msg["manifest"]
            elif msg["type"] == "STATE" and len(after) < len(announced):
                after.append(msg["value"])
        copying = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'COPY (SELECT%'"
        deadline = time.monotonic() + 60  # a guard against a hang, not a speed assertion
        while sql(src, copying) != [(1,)]:
            assert time.monotonic() < deadline, "the tap's COPY is not running"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    last = after[-1]
    marks = last["bookmarks"]["src-big"]
    assert marks["last_pk_fetched"] == {"k": "plain", "n": 200}  # 'plain' sorts first
    resumed = run_tap(tmp_path, {**cfg, "batch_config": {**cfg["batch_config"], "max_pending_files": 0}},
                      catalog=cat, state=last)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    announced += [
        u for m in messages(resumed.stdout) if m["type"] == "BATCH" for u in m["manifest"]
    ]
    keys = [
        (row[0], int(row[1]))
        for u in announced
        for row in list(csv.reader(io.StringIO(Path(u.removeprefix("file://")).read_text())))[1:]
    ]
    assert sorted(keys) == sorted((k, n) for k in ('x,"y"\nz', "plain") for n in range(1, 2501))
    assert len(keys) == len(set(keys)) == 5000


def test_keys_the_record_may_not_give_back_are_read_one_range_per_file(
    src: dict[str, Any], tmp_path: Path
) -> None:
    """A date key (a date outside 0001..9999 is null in the record) and a numeric one: each
    file is its own key range, the STATE after it bookmarks the range's end."""
    sql(
        src,
        "CREATE TABLE src.dk (d date, n numeric, v text, PRIMARY KEY (d, n))",
        "INSERT INTO src.dk SELECT date '2024-01-01' + g, round(g / 10.0, 1), 'v' || g FROM generate_series(1, 5) g",
    )
    cat = select(discover(tmp_path, src), "dk")
    cfg, spool = _lane(tmp_path, src, "csv", size=2)
    proc = run_tap(tmp_path, cfg, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    kinds = [m["type"] for m in msgs]
    after = [
        msgs[i + 1]["value"]["bookmarks"]["src-dk"] for i, k in enumerate(kinds) if k == "BATCH"
    ]
    assert [{k: str(v) for k, v in a["last_pk_fetched"].items()} for a in after] == [
        {"d": "2024-01-03", "n": "0.2"},
        {"d": "2024-01-05", "n": "0.4"},
        {"d": "2024-01-06", "n": "0.5"},
    ]
    urls = [u for m in msgs if m["type"] == "BATCH" for u in m["manifest"]]
    values = [
        line.split(b",")[2]
        for u in urls
        for line in Path(u.removeprefix("file://")).read_bytes().splitlines()[1:]
    ]
    assert values == [b"v1", b"v2", b"v3", b"v4", b"v5"]
