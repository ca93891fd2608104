"""A plain `number` column made text (VARCHAR) by a value a DOUBLE cannot give back (`1e400`, 40
digits) holds every value of that batch as its source wrote it (`1.50`, `-0`; an exponent's
digits positional: `1E5` as `100000`), also the rows before the value that did it, so a re-run
of the same records changes nothing: on the RECORD lines' SQL and Python paths, the csv BATCH
lane (files and tap-csv's), with keys repeated in the batch, and with the wide value first. A `-0` in a DOUBLE is -0.0 on every lane
(targets/duckdb/plainnumber.py)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import column_types, error_line, query, run_target
from tapwell.sdk.target import TargetLoop
from tapwell.singer.wire import dumps
from tapwell.targets.duckdb.loader import DuckDBLoader

PROPS = {"id": {"type": "integer"}, "x": {"type": ["number", "null"]}}
SCHEMA = dumps(
    {"type": "SCHEMA", "stream": "t", "key_properties": ["id"], "schema": {"properties": PROPS}}
)
WIDE = {"1e400": "1e400", "40 digits": "1234567890123456789012345678901234567.890"}
SHORT = ["1.50", "-0", "1E5", "0.1", "2.00", "-0.0", "7", "null"]
LANES = {
    "sql": {},
    "sql-in-turn": {"overlap_loads": False},
    "python": {"raw_lines": False},
}


def record_lines(pairs: list[tuple[int, str]], spaced: bool = False) -> bytes:
    """SCHEMA, RECORD lines with each number as the source spelled it (`spaced`: as singer-sdk's
    json.dumps writes them), a STATE."""
    if spaced:
        rec = b'{"type": "RECORD", "stream": "t", "record": {"id": %d, "x": %s}}\n'
    else:
        rec = b'{"type":"RECORD","stream":"t","record":{"id":%d,"x":%s}}\n'
    body = b"".join(rec % (i, v.encode()) for i, v in pairs)
    return SCHEMA + b"\n" + body + b'{"type":"STATE","value":{"n":1}}\n'


def load(db: Path, data: bytes, **config: Any) -> None:
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))


def table(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT id, x FROM t ORDER BY id")


# The spellings here with an exponent, as a text column holds them: their digits, positional
# (types.decimal_text, as PostgreSQL's NUMERIC prints them); every other value as written.
POSITIONAL = {"1e400": "1" + "0" * 400, "1E5": "100000"}


def as_written(pairs: list[tuple[int, str]]) -> list[tuple[int, str | None]]:
    """The last value of each key, as written (its digits, positional: POSITIONAL)."""
    last = {i: None if v == "null" else POSITIONAL.get(v, v) for i, v in pairs}
    return sorted(last.items())


def twice(db: Path, data: bytes, **config: Any) -> list[tuple[Any, ...]]:
    """Load `data` twice; the table after each run is the same: returns it."""
    load(db, data, **config)
    first = table(db)
    load(db, data, **config)
    assert table(db) == first  # a re-run changes nothing
    return first


@pytest.mark.parametrize("lane", list(LANES))
@pytest.mark.parametrize("wide", list(WIDE))
def test_the_batch_that_makes_the_column_text_keeps_every_value_as_written(tmp_path, lane, wide):
    pairs = [(i, v) for i, v in enumerate(SHORT)] + [(len(SHORT), WIDE[wide])]
    rows = twice(tmp_path / "w.duckdb", record_lines(pairs), **LANES[lane])
    assert column_types(tmp_path / "w.duckdb", "t")["x"] == "VARCHAR"
    assert rows == as_written(pairs)


@pytest.mark.parametrize("lane", list(LANES))
def test_the_wide_value_first(tmp_path, lane):
    pairs = [(0, WIDE["1e400"])] + [(i, v) for i, v in enumerate(SHORT, 1)]
    assert twice(tmp_path / "w.duckdb", record_lines(pairs), **LANES[lane]) == as_written(pairs)


@pytest.mark.parametrize("lane", list(LANES))
def test_keys_repeated_in_the_batch(tmp_path, lane):
    """The last record of each key is stored as written, whichever record held the wide value;
    a wide value replaced later in the batch by a short one still makes the column text only
    when a stored row holds it."""
    pairs = [
        (0, "1.50"),
        (1, "-0"),
        (2, WIDE["40 digits"]),
        (0, "2.50"),
        (3, "1E5"),
        (2, "1e400"),
        (1, "-0"),
        (3, "1E5"),
        (4, "3.10"),
    ]
    assert twice(tmp_path / "w.duckdb", record_lines(pairs), **LANES[lane]) == as_written(pairs)


@pytest.mark.parametrize("lane", list(LANES))
def test_singer_sdk_spacing_and_small_batches(tmp_path, lane):
    """Lines as singer-sdk writes them (`"x": 1.50`), in batches of 3: the batch that makes the
    column text and every later one hold each value as written (a later batch may have been read
    while the one before it loaded and changed the column). Rows committed before it hold the
    double's text (README), here the same as their source's."""
    pairs = [(0, "0.5"), (1, "2.25"), (2, "4.5"), (3, "1.50"), (4, "1e400"), (5, "-0")]
    pairs += [(6, "1.50"), (7, "1E5"), (8, "-0"), (9, "2.00")]
    db = tmp_path / "w.duckdb"
    rows = twice(db, record_lines(pairs, spaced=True), batch_size_rows=3, **LANES[lane])
    assert rows == as_written(pairs)


def csv_batch(tmp_path: Path, *bodies: list[tuple[int, str]]) -> bytes:
    """One BATCH message of csv files (one per body) for stream `t`, then a STATE: the files
    load in one transaction."""
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    urls = []
    for k, body in enumerate(bodies):
        f = spool / f"f{k}.csv"
        f.write_text('"id","x"\n' + "".join(f"{i},{'' if v == 'null' else v}\n" for i, v in body))
        urls.append(f.as_uri())
    batch = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": urls,
    }
    return SCHEMA + b"\n" + dumps(batch) + b'\n{"type":"STATE","value":{"n":1}}\n'


@pytest.mark.parametrize("wide", list(WIDE))
def test_csv_lane_one_file(bin_path, tmp_path, wide):
    pairs = [(i, v) for i, v in enumerate(SHORT)] + [(len(SHORT), WIDE[wide])]
    db = tmp_path / "w.duckdb"
    data = csv_batch(tmp_path, pairs)
    for _ in range(2):
        done = run_target(bin_path, tmp_path, data, db, batch_keep_files=True)
        assert done.returncode == 0, error_line(done)
        assert table(db) == as_written(pairs)


def test_csv_lane_the_files_of_one_commit(bin_path, tmp_path):
    """Files loaded in one transaction: a later file making the column text, an earlier file's
    values are as written too; a file making it DECIMAL(38,17) first keeps an earlier file's 20
    places (1e-20)."""
    first = [(0, "1.50"), (1, "-0"), (2, "1E5")]
    second = [(3, "0.1"), (4, "1e400"), (5, "2.00")]
    db = tmp_path / "w.duckdb"
    data = csv_batch(tmp_path, first, second)
    for _ in range(2):
        done = run_target(bin_path, tmp_path, data, db, batch_keep_files=True)
        assert done.returncode == 0, error_line(done)
        assert table(db) == as_written(first + second)
    db = tmp_path / "d.duckdb"
    data = csv_batch(tmp_path, [(0, "1e-20"), (1, "2.5")], [(2, "0.12345678901234567")])
    done = run_target(bin_path, tmp_path, data, db, batch_keep_files=True)
    assert done.returncode == 0, error_line(done)
    assert column_types(db, "t")["x"] == "DECIMAL(38,20)"
    assert [(i, str(x)) for i, x in table(db)] == [
        (0, "1E-20"),
        (1, "2.50000000000000000000"),
        (2, "0.12345678901234567000"),
    ]


def tap_csv(bin_path: Path, tmp_path: Path, name: str, texts: list[str], lane: bool) -> bytes:
    """tap-csv's output for a file of (id, x) rows, x declared a plain number; `lane`: csv BATCH
    files, else RECORD lines."""
    path = tmp_path / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "x"])
        w.writerows([i, "" if t == "null" else t] for i, t in enumerate(texts))
    stream = {"name": "t", "path": str(path), "key_properties": ["id"],
              "schema": {"type": "object", "properties": PROPS}}  # fmt: skip
    spool = tmp_path / f"{name}-spool"
    spool.mkdir()
    tap: dict[str, Any] = {"streams": [stream]}
    if lane:
        tap["batch_config"] = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)}}
    cfg = tmp_path / f"{name}.json"
    cfg.write_text(json.dumps(tap))
    catalog = tmp_path / f"{name}-catalog.json"
    run = [str(bin_path / "tap-csv"), "--config", str(cfg)]
    catalog.write_bytes(
        subprocess.run([*run, "--discover"], capture_output=True, check=True).stdout
    )
    return subprocess.run([*run, "--catalog", str(catalog)], capture_output=True, check=True).stdout


@pytest.mark.parametrize("wide", list(WIDE))
def test_tap_csv_every_lane_stores_the_same_text_twice(bin_path, tmp_path, wide):
    texts = [*SHORT, WIDE[wide]]
    tables = {}
    for name, lane, target in [
        ("csv-lane", True, {}),
        ("records-sql", False, {}),
        ("records-python", False, {"raw_lines": False}),
    ]:
        out = tap_csv(bin_path, tmp_path, name, texts, lane)
        db = tmp_path / f"{name}.duckdb"
        for _ in range(2):
            done = run_target(bin_path, tmp_path, out, db, batch_keep_files=True, **target)
            assert done.returncode == 0, error_line(done)
            tables.setdefault(name, []).append(table(db))
    lane = tables["csv-lane"][0]  # tap-csv writes each number as its Decimal's text (1E+5)
    assert lane[:2] == [(0, "1.50"), (1, "-0")] and lane[-1][0] == 8
    assert Decimal(lane[-1][1]) == Decimal(WIDE[wide])
    for name, (first, second) in tables.items():
        assert first == second, name
        assert first == tables["csv-lane"][0], name


NEGATIVE_ZERO = ["-0", "-0.0", "0", "-0e0", "1.5", "-0E+2"]


@pytest.mark.parametrize("lane", list(LANES))
def test_minus_zero_keeps_its_sign_in_a_double(tmp_path, lane):
    """`-0` is -0.0 in a DOUBLE as `-0.0` is (the JSON readers read it as an integer 0), as the
    csv lane reads it; nothing else becomes -0.0, and a document holding "x":-0 leaves it."""
    pairs = list(enumerate(NEGATIVE_ZERO))
    data = record_lines(pairs) + record_lines([(9, "0")]).replace(b'"x":0', b'"x":0,"y":{"x":-0}')
    props = {**PROPS, "y": {"type": ["object", "null"]}}
    data = data.replace(SCHEMA, dumps({"type": "SCHEMA", "stream": "t", "key_properties": ["id"],
                                       "schema": {"properties": props}}))  # fmt: skip
    db = tmp_path / "w.duckdb"
    load(db, data, **LANES[lane])
    assert column_types(db, "t")["x"] == "DOUBLE"
    assert query(db, "SELECT id, CAST(x AS VARCHAR) FROM t ORDER BY id") == [
        (0, "-0.0"),
        (1, "-0.0"),
        (2, "0.0"),
        (3, "-0.0"),
        (4, "1.5"),
        (5, "-0.0"),
        (9, "0.0"),
    ]


def test_minus_zero_alike_on_the_csv_lane(bin_path, tmp_path):
    pairs = list(enumerate(NEGATIVE_ZERO))
    db = tmp_path / "w.duckdb"
    done = run_target(bin_path, tmp_path, csv_batch(tmp_path, pairs), db, batch_keep_files=True)
    assert done.returncode == 0, error_line(done)
    assert query(db, "SELECT id, CAST(x AS VARCHAR) FROM t ORDER BY id") == [
        (0, "-0.0"),
        (1, "-0.0"),
        (2, "0.0"),
        (3, "-0.0"),
        (4, "1.5"),
        (5, "-0.0"),
    ]


@pytest.mark.parametrize("lane", list(LANES))
def test_a_bad_line_after_the_state_keeps_the_lines_of_what_commits(bin_path, tmp_path, lane):
    """A record refused after a STATE: the batch is cut at the STATE (its lines with it) and
    committed; the rows it holds are text as written."""
    pairs = [(0, "1.50"), (1, "1e400"), (2, "-0")]
    data = record_lines(pairs) + record_lines([(3, '"x"')]).split(b"\n", 1)[1]
    db = tmp_path / "w.duckdb"
    done = run_target(bin_path, tmp_path, data, db, **LANES[lane])
    assert done.returncode == 65, done.stderr.decode()
    assert "stdin line 6, stream 't'" in error_line(done)
    assert done.stdout == b'{"n":1}\n'
    assert table(db) == as_written(pairs)


def test_a_batch_read_before_the_load_that_made_the_column_text(tmp_path, monkeypatch):
    """The Python path with the loads behind the reader: the next batch is read (its `1.50` a
    float for a DOUBLE) before the batch making the column text loads; it is written as its
    lines spell it. The load behind waits here until the reader has read the next batch."""
    from tapwell.sdk import target_loop

    read = threading.Event()
    behind, wait = DuckDBLoader.load_behind, target_loop.TargetLoop._wait_behind

    def load_behind(self: DuckDBLoader, *args: Any) -> None:
        assert read.wait(60), "the reader did not finish the next batch"
        behind(self, *args)

    def wait_behind(self: Any, ahead: bool = False) -> None:
        if self.behind is not None:  # the next batch is read: the load behind may begin
            read.set()
        wait(self, ahead)

    monkeypatch.setattr(DuckDBLoader, "load_behind", load_behind)
    monkeypatch.setattr(target_loop.TargetLoop, "_wait_behind", wait_behind)
    pairs = [(0, "1e400"), (1, "5"), (2, "7"), (3, "1.50"), (4, "1E5"), (5, "-0")]
    db = tmp_path / "w.duckdb"
    load(db, record_lines(pairs), raw_lines=False, batch_size_rows=3)
    assert table(db) == as_written(pairs)


@pytest.mark.parametrize("lane", list(LANES))
def test_minus_zero_with_keys_repeated(tmp_path, lane):
    pairs = [(0, "0"), (1, "-0"), (2, "5"), (0, "-0"), (1, "0"), (3, "-0"), (3, "7")]
    db = tmp_path / "w.duckdb"
    load(db, record_lines(pairs), **LANES[lane])
    assert query(db, "SELECT id, CAST(x AS VARCHAR) FROM t ORDER BY id") == [
        (0, "-0.0"),
        (1, "0.0"),
        (2, "5.0"),
        (3, "7.0"),
    ]


def test_widen_reads_a_line_again_when_an_escape_spells_the_key() -> None:
    """The record's key written `\\u0061mt` and a document's `"amt":1.5`: the float's text is
    found after a key of that name, but not the record's own, so the line is read again."""
    from types import SimpleNamespace

    from tapwell.targets.duckdb.plainnumber import _Lines

    line = b'{"type":"RECORD","stream":"s","record":{"\\u0061mt":1.50,"doc":{"amt":1.5}}}'
    batch = SimpleNamespace(texts=[line])
    assert _Lines(batch, [(1.5,)], None).written([1.5], "amt") == ["1.50"]  # type: ignore[arg-type]
