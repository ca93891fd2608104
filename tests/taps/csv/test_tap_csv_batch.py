"""tap-csv on the fast lane: with a `batch_config` its rows go into csv BATCH files (tapwell's
dialect, read by target-duckdb's read_csv) or jsonl ones (read as RECORD lines in SQL), each
followed by a STATE; the loaded table is the RECORD path's row by row, over chunks of edge values
of every type. `tapwell run` (fast_lane: auto) takes the csv lane into target-duckdb."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.csv_tap import tap_csv_into_duckdb as run
from helpers.duckdb_target import query
from tapwell.runner import fast_lane

LONG = (
    "a column name of more than sixty-four bytes: \u00e9\u00e9\u00e9 \U0001f600, "
    '"quotes", it\'s, and\na line break'
)
COLUMNS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10},
    "ratio": {"type": ["null", "number"]},
    "ok": {"type": ["null", "boolean"]},
    "day": {"type": ["null", "string"], "format": "date"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "doc": {"type": ["null", "object", "array"]},
    "s": {"type": ["null", "string"]},
    LONG: {"type": ["null", "string"]},
}
EDGES = {
    "n": ["7", "-12", "0", "", "\\N", str(2**62)],
    "amount": ["1047.29", "0.10", "-0.01", "12", "", "\\N", "9999999999.99", "-0", "1E+2", "0.1E1"],
    "ratio": [
        "0.5",
        "1e-7",
        "-2.5E10",
        "3",
        "\\N",
        "1.7976931348623157e308",
        "5e-324",
        "0.30000000000000004",
    ],
    "ok": ["true", "false", "\\N", "", "T", "no", "1"],
    "day": ["2024-02-29", "0001-01-01", "\\N", "9999-12-31"],
    "at": [
        "2024-02-29T23:59:59.123456+05:30",
        "2024-01-01 10:00:00",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.000001-08:00",
        "\\N",
        "2024-06-01T12:00:00.500000+00:00",
        "2024-06-01T12:00:00-00:00",
        " 2024-06-01T12:00:00+01:00 ",
    ],
    # (every lane stores a document's numbers as the file spells them: 1.50, 1E5, -0)
    "doc": [
        '{"a": 1.5, "b": [1, "x"]}',
        '{"a": 1.50, "b": [1E5, -0, 2.0E0], "c": {"d": 0.000001}}',
        "[]",
        '{"n":12345678901234567890,"f":0.1}',
        "\\N",
        '{"s":"q\\"uote, comma\\nnl \\u00e9 \U0001f600"}',
        "{}",
    ],
    "s": [
        "",
        "\\N",
        "  ",
        "tab\there\nline",
        'say "hi" \\ back',
        "emoji \U0001f600 \u00f1",
        "\x01\x1f\x7f",
        "\u2028 sep",
        "null",
        "1234567890123456789",
        "a,b",
        "\r\n",
        '"',
        "trailing space ",
    ],  # fmt: skip
    LONG: ["x", "", "\\N"],
}


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(list(COLUMNS))
        for r in range(1, rows + 1):
            # a key twice in one file (the last row wins) and again in a later file
            key = r - 1 if r % 500 == 0 else 3 if r == 1001 else r
            w.writerow(
                [str(key)]
                + [EDGES[c][(r * 11 + len(c)) % len(EDGES[c])] for c in list(COLUMNS)[1:]]
            )


def config(path: Path) -> dict[str, Any]:
    stream = {
        "name": "t",
        "path": str(path),
        "key_properties": ["id"],
        "null_values": ["\\N"],
        "schema": {"type": "object", "properties": COLUMNS},
    }
    return {"streams": [stream]}


def table(db: Path) -> list[tuple[Any, ...]]:
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in COLUMNS)
    return query(db, f"SELECT {cols} FROM t ORDER BY id")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_batch_files_load_the_record_paths_rows(bin_path, tmp_path, fmt):
    path = tmp_path / "t.csv"
    write_csv(path, 2500)
    spool = tmp_path / "spool"
    spool.mkdir()
    lane = {
        "encoding": {"format": fmt, "compression": "none"},
        "storage": {"root": f"file://{spool}"},
        "batch_size": 1000,
    }
    cfg = config(path)
    out, batched = run(bin_path, tmp_path, "batch", {**cfg, "batch_config": lane})
    messages = [json.loads(line) for line in out.splitlines()]
    kinds = [m["type"] for m in messages]
    assert "RECORD" not in kinds
    assert kinds.count("BATCH") == 3  # 1,000 rows a file (whole chunks of 1,000)
    assert {m["encoding"]["format"] for m in messages if m["type"] == "BATCH"} == {fmt}
    after = [kinds[i + 1] for i, k in enumerate(kinds) if k == "BATCH"]
    assert after == ["STATE"] * 3  # each file is committed (and deleted) before the next piles up
    assert list(spool.iterdir()) == []
    _, recorded = run(bin_path, tmp_path, "records", cfg)
    want = table(recorded)
    assert len(want) == 2500 - 5 - 1  # ids 500, 1000, ... 2500 and the second 3 replace rows
    got = table(batched)
    for a, b in zip(got, want, strict=True):
        assert a == b
    assert len({r[0] for r in want}) == len(want)


def test_incremental_over_files_of_other_columns(bin_path, tmp_path):
    """A replication key's start and bookmark, and a second file with its columns in another
    order and one missing (NULL there), through the csv lane as through RECORD lines."""
    first, second = tmp_path / "t.csv", tmp_path / "u.csv"
    write_csv(first, 1500)
    with first.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    names = [c for c in reversed(rows[0]) if c != "s"]
    with second.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        for row in rows[1:]:
            got = dict(zip(rows[0], row, strict=True))
            w.writerow([str(int(got["id"]) + 5000) if c == "id" else got[c] for c in names])
    cfg = config(first)
    stream = cfg["streams"][0]
    stream["paths"] = [str(first), str(second)]
    del stream["path"]
    stream["replication_key"] = "id"
    state = tmp_path / "state.json"
    bookmark = {"replication_key": "id", "replication_key_value": 1200}
    state.write_text(json.dumps({"bookmarks": {"t": bookmark}}))
    spool = tmp_path / "spool"
    spool.mkdir()
    lane = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)}, "batch_size": 1000}
    out, batched = run(bin_path, tmp_path, "batch", {**cfg, "batch_config": lane}, state)
    plain, recorded = run(bin_path, tmp_path, "records", cfg, state)
    want = table(recorded)
    assert min(r[0] for r in want) == 1200 and max(r[0] for r in want) == 6499
    assert table(batched) == want
    last = [json.loads(line) for line in out.splitlines()][-1]
    assert last == [json.loads(line) for line in plain.splitlines()][-1]
    assert last["value"]["bookmarks"]["t"]["replication_key_value"] == 6499


def test_csv_files_hold_the_dialect(bin_path, tmp_path):
    """'' is a quoted empty field, NULL the unquoted one; a number is its exact text; a
    date-time keeps its offset and microseconds; a document is its text, quoted."""
    path = tmp_path / "t.csv"
    path.write_text(
        "id,n,amount,ratio,ok,day,at,doc,s\n"
        '1,,0.10,1e-7,T,2024-02-29,2024-01-01 10:00:00.000001,"{""a"":1}",""\n'
        "2,\\N,\\N,\\N,\\N,\\N,2024-01-01T00:00:00+05:30,\\N,\\N\n",
        encoding="utf-8",
    )
    spool = tmp_path / "spool"
    spool.mkdir()
    cols = {c: COLUMNS[c] for c in ("id", "n", "amount", "ratio", "ok", "day", "at", "doc", "s")}
    cfg = config(path)
    cfg["streams"][0]["schema"]["properties"] = cols
    lane = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)}, "batch_size": 10}
    (tmp_path / "c.json").write_text(json.dumps({**cfg, "batch_config": lane}))
    catalog = subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(tmp_path / "c.json"), "--discover"],
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "cat.json").write_bytes(catalog)
    done = subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(tmp_path / "c.json"), "--catalog",
         str(tmp_path / "cat.json")],
        capture_output=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    (written,) = list(spool.iterdir())
    assert written.read_text(encoding="utf-8") == (
        '"id","n","amount","ratio","ok","day","at","doc","s"\n'
        '1,,0.10,1E-7,true,2024-02-29,2024-01-01T10:00:00.000001+00:00,"{""a"":1}",""\n'
        "2,,,,,,2024-01-01T00:00:00+05:30,,\n"
    )


def test_the_last_files_are_cut_smaller(bin_path, tmp_path):
    """The files halve toward the end of the stream (tail_budget, from the source's size), so
    the target's load of the last one, after the tap has finished, is short; every row is in
    them once, in order, and the table is the RECORD path's."""
    from tapwell.sdk.tap_batch import TAIL_BYTES, tail_budget

    assert [tail_budget(r) for r in (0, TAIL_BYTES, 3 * TAIL_BYTES)] == [
        TAIL_BYTES,
        TAIL_BYTES,
        3 * TAIL_BYTES // 2,
    ]
    path = tmp_path / "t.csv"
    note = "x" * 200
    rows = [f"{i},{i % 7},{note}" for i in range(1, 60_001)]  # about 12.5 MB
    path.write_text("id,n,s\n" + "\n".join(rows) + "\n", encoding="utf-8")
    spool = tmp_path / "spool"
    spool.mkdir()
    cfg = config(path)
    cfg["streams"][0]["schema"]["properties"] = {c: COLUMNS[c] for c in ("id", "n", "s")}
    lane = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)}}
    out, db = run(bin_path, tmp_path, "lane", {**cfg, "batch_config": lane})
    names = [json.loads(m)["manifest"][0] for m in out.splitlines() if b'"BATCH"' in m]
    assert len(names) >= 3  # one file of batch_size (100,000 rows) before
    rec, rdb = run(bin_path, tmp_path, "records", cfg)
    same = "SELECT id, n, s FROM t ORDER BY id"
    assert query(db, same) == query(rdb, same)
    assert query(db, "SELECT count(*), min(id), max(id) FROM t") == [(60_000, 1, 60_000)]


def test_the_runner_gives_tap_csv_the_csv_lane(bin_path):
    about = {}
    for name in ("tap-csv", "target-duckdb"):
        done = subprocess.run([str(bin_path / name), "--about"], capture_output=True, check=True)
        about[name] = json.loads(done.stdout)
    assert "batch" in about["tap-csv"]["capabilities"]
    assert about["tap-csv"]["batch_formats"] == ["csv", "jsonl"]  # both, honestly
    assert fast_lane.common_format(about["tap-csv"], about["target-duckdb"], {}) == "csv"
    # a target making nested tables takes no csv: RECORD lines (jsonl measured slower) with
    # fast_lane: auto, jsonl files with on
    nested = {"nested": "tables"}
    assert fast_lane.common_format(about["tap-csv"], about["target-duckdb"], nested) is None
    on = fast_lane.common_format(about["tap-csv"], about["target-duckdb"], nested, guess=True)
    assert on == "jsonl"


@pytest.mark.parametrize("seed", range(8))
def test_string_fields_are_each_text_quoted(seed: int) -> None:
    """A string column's csv fields, made for the whole column at once (quotes doubled, a
    `str.replace` per text mapped in C; the assembly quotes each text but a null's, a bare
    row), are the fields a text at a time writes (quoted, quote doubled, '' for a
    null_value), on random texts holding quotes, the joining characters themselves, newlines,
    NULs, emoji and lone surrogates."""
    import random

    from tapwell.taps.csv.batch import _quotes_doubled, _string

    rng = random.Random(seed)
    alphabet = ['"', '""', ",", "\n", "\r", "\x00", "\x01", "\ufffe", "\uffff", "a", " ",
                "\U0001f600", "\u00e9", "\\N", "\udc80", "", "null"]  # fmt: skip
    nulls = frozenset(rng.choice([[], ["\\N"], ["\\N", ""], ["null", "NA"]]))
    for _ in range(300):
        col = [
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
            for _ in range(rng.randrange(1, 40))
        ]
        texts, wrap, _ = _string(nulls, False)(col)
        bare = set(texts.bare)  # type: ignore[attr-defined]
        fields = [t if i in bare or not wrap else '"' + t + '"' for i, t in enumerate(texts)]
        assert fields == ["" if t in nulls else '"' + t.replace('"', '""') + '"' for t in col]
        assert texts.wide == [i for i, t in enumerate(col) if not t.isascii()]  # type: ignore[attr-defined]
    assert _quotes_doubled([]) == []


FUZZ_COLUMNS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},
    "amount": {"type": ["null", "number"]},
    "ok": {"type": ["null", "boolean"]},
    "day": {"type": ["null", "string"], "format": "date"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "doc": {"type": ["null", "object", "array"]},
    "s": {"type": ["null", "string"]},
    "t": {"type": ["null", "string"]},
}
_PIECES = ['"', ",", "\n", "\r\n", "\x00", "\x01", "\x1f", "\x7f", "\\", "\\N", " ", "a", "Z",
           "\u00e9", "\U0001f600", "\u2028", "\ufffe", "null", "0", ""]  # fmt: skip


def _fuzz_value(rng: Any, column: str) -> str:
    """A value of `column` as a CSV file may spell it (odd but valid spellings included), or a
    null: '' or the null_value."""
    if column != "id" and rng.random() < 0.15:
        return rng.choice(["", "\\N"])
    choices: dict[str, Any] = {
        "n": lambda: rng.choice(
            [str(rng.randrange(-(10**6), 10**6)), str(rng.randrange(2**62)), "+5", " 7 ", "007"]
        ),
        "amount": lambda: rng.choice(
            [
                f"{rng.randrange(-(10**8), 10**8)}.{rng.randrange(100):02d}",
                "0.10",
                "-0",
                "1E+2",
                ".5",
                "1e-7",
                "12345678901234567890.123456789",
                "0.0000001",
            ]
        ),  # fmt: skip
        "ok": lambda: rng.choice(["true", "false", "T", "no", "1", "Yes"]),
        "day": lambda: (
            f"{rng.randrange(1, 9999):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        ),
        "at": lambda: (
            f"20{rng.randrange(10, 40)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}"
            + rng.choice(["T", " "])
            + f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
            + rng.choice(["", ".5", ".123456", ".000001", ".100000"])
            + rng.choice(["", "Z", "+05:30", "-08:00", "+00:00", "-00:00"])
        ),
        "doc": lambda: rng.choice(
            [
                '{"a": 1.5, "b": [1, "x"]}',
                f'{{"amount": {rng.randrange(10**6)}.{rng.randrange(100):02d}, "n": [-0, 1E5, 1e-7]}}',
                '{"a": [1.50, 10.10, 2.0E0, 1E400, 12345678901234567.0]}',
                "[]",
                '{"n": 12345678901234567890}',
                "{}",
                '{"s": "q\\"u, \\n \\u00e9 \U0001f600"}',
                '[\n  {"k": null}\n]',
            ]
        ),  # fmt: skip
    }
    if column in choices:
        return str(choices[column]())
    return "".join(rng.choice(_PIECES) for _ in range(rng.randrange(6)))


@pytest.mark.parametrize("seed", range(4))
def test_random_files_load_alike_on_the_csv_lane_and_record_lines(bin_path, tmp_path, seed):
    """Seeded random CSV files (every column type, odd spellings, '' and \\N, quotes, newlines,
    NUL and control characters, emoji, keys written twice) load into target-duckdb row for row
    alike through the csv lane (files of a random size) and through RECORD lines."""
    import random

    rng = random.Random(seed)
    path = tmp_path / "t.csv"
    rows = rng.randrange(300, 1500)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(list(FUZZ_COLUMNS))
        for r in range(rows):
            key = rng.randrange(rows) if rng.random() < 0.1 else r
            w.writerow([str(key)] + [_fuzz_value(rng, c) for c in list(FUZZ_COLUMNS)[1:]])
    cfg = config(path)
    cfg["streams"][0]["schema"]["properties"] = FUZZ_COLUMNS
    spool = tmp_path / "spool"
    spool.mkdir()
    lane = {"encoding": {"format": "csv"}, "storage": {"root": str(spool)},
            "batch_size": rng.choice([1, 250, 500, 10_000])}  # fmt: skip
    _, batched = run(bin_path, tmp_path, "batch", {**cfg, "batch_config": lane})
    _, recorded = run(bin_path, tmp_path, "records", cfg)
    cols = ", ".join(f'"{c}"' for c in FUZZ_COLUMNS)
    want = query(recorded, f"SELECT {cols} FROM t ORDER BY id")
    assert len(want) == len({r[0] for r in want}) > 0
    assert query(batched, f"SELECT {cols} FROM t ORDER BY id") == want
    assert list(spool.iterdir()) == []
